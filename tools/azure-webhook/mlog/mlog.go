// Package mlog is a small stand-in for monis.app/mlog (refused by the Go module
// proxy). It implements just the API the Azure Workload Identity webhook calls,
// on top of go-logr's funcr, writing one JSON line per entry to stderr.
package mlog

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
)

// LogLevel names a verbosity, as the webhook's --log-level flag spells it.
type LogLevel string

// LogFormat names an output format.
type LogFormat string

// LogSpec is the pair the webhook configures at start.
type LogSpec struct {
	Level  LogLevel
	Format LogFormat
}

const (
	LevelWarning LogLevel = "warning"
	LevelInfo    LogLevel = "info"
	LevelDebug   LogLevel = "debug"
	LevelTrace   LogLevel = "trace"
	LevelAll     LogLevel = "all"

	FormatJSON LogFormat = "json"
	FormatCLI  LogFormat = "cli"
)

// verbosity maps levels to logr V-levels; warnings and errors always print.
var verbosity = map[LogLevel]int{LevelWarning: 0, LevelInfo: 0, LevelDebug: 4, LevelTrace: 6, LevelAll: 108}

var current atomic.Int32

func sink() logr.Logger {
	return funcr.NewJSON(func(obj string) { fmt.Fprintln(os.Stderr, obj) },
		funcr.Options{Verbosity: int(current.Load())})
}

// Logger mirrors mlog.Logger: Error takes the message first, then the error.
type Logger struct{ l logr.Logger }

// New returns a logger writing to stderr at the global level.
func New() Logger { return Logger{l: sink()} }

func (g Logger) Error(msg string, err error, kv ...any) { g.l.Error(err, msg, kv...) }
func (g Logger) Warning(msg string, kv ...any)          { g.l.Info(msg, append(kv, "level", "warning")...) }
func (g Logger) Info(msg string, kv ...any)             { g.l.Info(msg, kv...) }
func (g Logger) Debug(msg string, kv ...any)            { g.l.V(verbosity[LevelDebug]).Info(msg, kv...) }
func (g Logger) Trace(msg string, kv ...any)            { g.l.V(verbosity[LevelTrace]).Info(msg, kv...) }
func (g Logger) All(msg string, kv ...any)              { g.l.V(verbosity[LevelAll]).Info(msg, kv...) }
func (g Logger) WithValues(kv ...any) Logger            { return Logger{l: g.l.WithValues(kv...)} }
func (g Logger) WithName(name string) Logger            { return Logger{l: g.l.WithName(name)} }

// Setup returns the flush function the webhook defers; nothing is buffered here.
func Setup() func() { return func() {} }

// Fatal logs err and exits, as mlog.Fatal does.
func Fatal(err error, kv ...any) {
	New().Error("fatal error", err, kv...)
	os.Exit(1)
}

// Logr returns the global logger as a logr.Logger for controller-runtime.
func Logr() logr.Logger { return sink() }

// Enabled reports whether entries at level would be written.
func Enabled(level LogLevel) bool { return int32(verbosity[level]) <= current.Load() }

// ValidateAndSetLogLevelAndFormatGlobally sets the global verbosity; an empty
// level means info, as in mlog.
func ValidateAndSetLogLevelAndFormatGlobally(_ context.Context, spec LogSpec) error {
	if spec.Level == "" {
		spec.Level = LevelInfo
	}
	v, ok := verbosity[spec.Level]
	if !ok {
		return fmt.Errorf("mlog: unknown log level %q (want warning, info, debug, trace or all)", spec.Level)
	}
	current.Store(int32(v))
	return nil
}
