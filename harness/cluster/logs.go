package cluster

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// logTailLines is how much of each component log a failure shows.
const logTailLines = 50

// tailFile returns the last n lines of a file; it reads only the file's end,
// since an API server log can grow to megabytes.
func tailFile(path string, n int) string {
	data, err := readTail(path, 64<<10)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// readTail returns the last window bytes of a file (all of a shorter one).
func readTail(path string, window int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	offset := max(info.Size()-window, 0)
	return io.ReadAll(io.NewSectionReader(f, offset, info.Size()-offset))
}

// formatLogTails renders named log files as tail sections, in the given order.
func formatLogTails(names, paths []string) string {
	var b strings.Builder
	for i, path := range paths {
		fmt.Fprintf(&b, "==> %s: last %d lines of %s <==\n%s\n", names[i], logTailLines, path, tailFile(path, logTailLines))
	}
	return b.String()
}
