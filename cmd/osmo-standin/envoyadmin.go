package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"
	"time"
)

// serve listens on the admin address and every listener until ctx ends (or
// POST /quitquitquit), then shuts them down. A listener that cannot bind fails
// the start, as it fails Envoy's.
func (gw *envoyGateway) serve(ctx context.Context) error {
	ctx, quit := context.WithCancel(ctx)
	defer quit()
	var draining atomic.Bool
	type server struct {
		srv *http.Server
		ln  net.Listener
	}
	var servers []server
	closeAll := func() {
		for _, s := range servers {
			_ = s.srv.Close()
		}
	}
	bind := func(address string) (net.Listener, error) {
		ln, err := net.Listen("tcp", address)
		if err != nil {
			return nil, fmt.Errorf("cannot bind '%s': %w", address, err)
		}
		return ln, nil
	}
	if gw.admin != "" {
		ln, err := bind(gw.admin)
		if err != nil {
			return err
		}
		servers = append(servers, server{&http.Server{Handler: gw.adminHandler(quit, &draining), ReadHeaderTimeout: 10 * time.Second}, ln})
	}
	for _, l := range gw.listeners {
		ln, err := bind(l.address)
		if err != nil {
			closeAll()
			return fmt.Errorf("listener '%s': %w", l.name, err)
		}
		srv := &http.Server{Handler: l, ReadHeaderTimeout: 60 * time.Second, Protocols: new(http.Protocols)}
		if kb := l.hcm.GetMaxRequestHeadersKb(); kb != nil {
			srv.MaxHeaderBytes = int(kb.GetValue()) * 1024
		}
		codec := l.hcm.GetCodecType().String()
		srv.Protocols.SetHTTP1(codec != "HTTP2")
		if l.tls != nil {
			srv.Protocols.SetHTTP2(codec != "HTTP1")
			srv.TLSConfig = l.tls // ServeTLS offers h2 in ALPN as Protocols says
		} else {
			srv.Protocols.SetUnencryptedHTTP2(codec != "HTTP1")
		}
		servers = append(servers, server{srv, ln})
	}
	errs := make(chan error, len(servers))
	for _, s := range servers {
		go func() {
			serve := s.srv.Serve
			if s.srv.TLSConfig != nil {
				serve = func(ln net.Listener) error { return s.srv.ServeTLS(ln, "", "") }
			}
			if err := serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
				errs <- err
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
	for _, s := range servers {
		_ = s.srv.Shutdown(shutdown)
	}
	return err
}

// adminHandler serves the admin endpoints the charts and tests use: /ready
// ("LIVE", or 503 "DRAINING" after POST /healthcheck/fail), /server_info,
// /listeners, /clusters, and POST /quitquitquit, /healthcheck/fail and
// /healthcheck/ok.
func (gw *envoyGateway) adminHandler(quit func(), draining *atomic.Bool) http.Handler {
	mux := http.NewServeMux()
	state := func() string {
		if draining.Load() {
			return "DRAINING"
		}
		return "LIVE"
	}
	mux.HandleFunc("/ready", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
		if draining.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		fmt.Fprintln(w, state())
	})
	mux.HandleFunc("/server_info", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		data, _ := json.MarshalIndent(map[string]any{
			"version": "osmo-standin/" + envoyVersion,
			"state":   state(),
			"node":    map[string]string{"id": gw.nodeID(), "cluster": gw.nodeCluster()},
			"command_line_options": map[string]any{
				"config_path": gw.options.configPath, "log_level": gw.options.logLevel, "mode": gw.options.mode,
			},
		}, "", "  ")
		_, _ = w.Write(append(data, '\n'))
	})
	mux.HandleFunc("/listeners", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
		for _, l := range gw.listeners {
			fmt.Fprintf(w, "%s::%s\n", l.name, l.address)
		}
	})
	mux.HandleFunc("/clusters", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
		for _, name := range gw.clusterNames {
			if ep := gw.clusters[name].endpoint; ep != "" {
				fmt.Fprintf(w, "%s::%s::health_flags::healthy\n", name, ep)
			}
		}
	})
	post := func(path string, do func()) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost {
				http.Error(w, "This endpoint requires POST", http.StatusMethodNotAllowed)
				return
			}
			fmt.Fprintln(w, "OK")
			do()
		})
	}
	post("/quitquitquit", quit)
	post("/healthcheck/fail", func() { draining.Store(true) })
	post("/healthcheck/ok", func() { draining.Store(false) })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		paths := []string{"/clusters", "/healthcheck/fail", "/healthcheck/ok", "/listeners", "/quitquitquit", "/ready", "/server_info"}
		sort.Strings(paths)
		w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, "invalid path. admin commands are:\n  %s\n", strings.Join(paths, "\n  "))
	})
	return mux
}

func (gw *envoyGateway) nodeID() string {
	if gw.options.serviceNode != "" {
		return gw.options.serviceNode
	}
	return gw.node.GetId()
}

func (gw *envoyGateway) nodeCluster() string {
	if gw.options.serviceCluster != "" {
		return gw.options.serviceCluster
	}
	return gw.node.GetCluster()
}

// logLine prints what the gateway loaded as one JSON line, as the other
// stand-in programs print what they parsed.
func (gw *envoyGateway) logLine(args []string) {
	type listener struct {
		Name    string `json:"name"`
		Address string `json:"address"`
		TLS     bool   `json:"tls"`
		Routes  int    `json:"routes"`
	}
	type cluster struct {
		Name     string `json:"name"`
		Endpoint string `json:"endpoint"`
		Scheme   string `json:"scheme"`
	}
	var ls []listener
	for _, l := range gw.listeners {
		n := 0
		for _, vh := range l.routes.GetVirtualHosts() {
			n += len(vh.GetRoutes())
		}
		ls = append(ls, listener{l.name, l.address, l.tls != nil, n})
	}
	var cs []cluster
	for _, name := range gw.clusterNames {
		c := gw.clusters[name]
		cs = append(cs, cluster{name, c.endpoint, c.scheme})
	}
	line, _ := json.Marshal(map[string]any{
		"standin":   "osmo-standin",
		"program":   "envoy",
		"args":      args,
		"node":      map[string]string{"id": gw.nodeID(), "cluster": gw.nodeCluster()},
		"admin":     gw.admin,
		"files":     gw.files,
		"listeners": ls,
		"clusters":  cs,
		"not_run":   gw.notRun,
	})
	fmt.Fprintln(gw.log, string(line))
}
