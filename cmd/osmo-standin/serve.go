package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/osmo-wi/charts/harness/osmoprogram"
)

// serve listens where the real program listens and keeps its progress files
// fresh, until ctx ends (SIGTERM); then it shuts the servers down.
func serve(ctx context.Context, s osmoprogram.Serving) error {
	var servers []*http.Server
	errs := make(chan error, len(s.Listeners)+1)
	for _, l := range s.Listeners {
		ln, err := net.Listen("tcp", l.Address)
		if err != nil {
			closeAll(servers)
			return fmt.Errorf("listen %s: %w", l.Address, err)
		}
		server := &http.Server{Handler: handler(l), ReadHeaderTimeout: 10 * time.Second}
		if l.Protocol == "grpc" {
			// gRPC is HTTP/2 without TLS ("prior knowledge"), as the kubelet's grpc probe speaks it.
			server.Protocols = new(http.Protocols)
			server.Protocols.SetUnencryptedHTTP2(true)
		}
		servers = append(servers, server)
		go func() {
			if err := server.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				errs <- err
			}
		}()
	}
	var wg sync.WaitGroup
	if len(s.ProgressFiles) > 0 {
		if err := writeProgress(s.ProgressFiles); err != nil {
			closeAll(servers)
			return err
		}
		every := min(s.ProgressEvery, 5*time.Second)
		if every <= 0 {
			every = 5 * time.Second
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(every)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
					if err := writeProgress(s.ProgressFiles); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errs:
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, server := range servers {
		_ = server.Shutdown(shutdown)
	}
	wg.Wait()
	return err
}

func closeAll(servers []*http.Server) {
	for _, s := range servers {
		_ = s.Close()
	}
}

// handler answers the listener's paths with 200 (a version path with OSMO's
// version JSON) and everything else with 404;
// a gRPC listener answers grpc.health.v1.Health/Check with SERVING.
func handler(l osmoprogram.Listener) http.Handler {
	mux := http.NewServeMux()
	if l.Protocol == "grpc" {
		mux.HandleFunc("/grpc.health.v1.Health/Check", grpcHealth)
		return mux
	}
	mux.HandleFunc("GET "+identityPath, identityHandler)
	for _, path := range l.Paths {
		if versionPaths[path] {
			mux.HandleFunc("GET "+path, versionHandler)
			continue
		}
		// "GET /health" matches that path only; "GET /" (the web UI) every page.
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, "{\"status\":\"OK\",\"standin\":\"osmo-standin\",\"path\":%q}\n", r.URL.Path)
		})
	}
	return mux
}

// grpcHealth is a unary gRPC response: HealthCheckResponse{status: SERVING}
// (protobuf field 1, varint 1) in one length-prefixed message, grpc-status 0.
func grpcHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/grpc")
	w.Header().Set("Trailer", "Grpc-Status, Grpc-Message")
	message := []byte{0x08, 0x01}
	frame := make([]byte, 5, 5+len(message))
	binary.BigEndian.PutUint32(frame[1:], uint32(len(message)))
	_, _ = w.Write(append(frame, message...))
	w.Header().Set("Grpc-Status", "0")
	w.Header().Set("Grpc-Message", "")
}

// writeProgress writes time.time() into each file as OSMO's ProgressWriter does
// (src/utils/progress_check/progress.py): the folder made, a temporary file
// renamed over the old one.
func writeProgress(files []string) error {
	now := strconv.FormatFloat(float64(time.Now().UnixNano())/1e9, 'f', 6, 64)
	for _, file := range files {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			return err
		}
		tmp := fmt.Sprintf("%s-%d.tmp", file, time.Now().UnixNano())
		if err := os.WriteFile(tmp, []byte(now), 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, file); err != nil {
			return err
		}
	}
	return nil
}
