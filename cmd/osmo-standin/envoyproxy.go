//lint:file-ignore SA1019 Envoy 1.29 still honours these deprecated fields, so the stand-in reads them as it does.

package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
)

// envoyRouteTimeout is Envoy's default route timeout.
const envoyRouteTimeout = 15 * time.Second

// ServeHTTP routes one request as the listener's route table says: the virtual
// host by its host, the first route that matches, then the route's action
// (proxy to the cluster's first endpoint, redirect, or a direct response),
// with the route table's request and response header changes.
func (el *envoyListener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req := &envoyRequest{start: time.Now(), r: r}
	rw := &countingWriter{ResponseWriter: w, req: req}
	defer func() {
		req.duration = time.Since(req.start)
		for _, l := range el.logs {
			l.write(req)
		}
		if el.gw.debug {
			fmt.Fprintf(el.gw.log, "[debug][router] %s %s %s -> %d %s cluster=%q upstream=%q\n", el.name, r.Method, r.URL.RequestURI(), req.status, req.details, req.cluster, req.upstream)
		}
	}()
	if upgrade := r.Header.Get("Upgrade"); upgrade != "" && !el.upgrades[strings.ToLower(upgrade)] {
		el.local(rw, req, http.StatusForbidden, "upgrade_failed", "", "")
		return
	}
	vh := el.virtualHost(r.Host)
	if vh == nil {
		el.local(rw, req, http.StatusNotFound, "route_not_found", "NR", "")
		return
	}
	if vh.GetRequireTls() != routev3.VirtualHost_NONE && r.TLS == nil {
		target := url.URL{Scheme: "https", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
		rw.Header().Set("Location", target.String())
		el.local(rw, req, http.StatusMovedPermanently, "direct_response", "", "")
		return
	}
	rt := el.matchRoute(vh, r)
	if rt == nil {
		el.local(rw, req, http.StatusNotFound, "route_not_found", "NR", "")
		return
	}
	req.route = rt.GetName()
	switch {
	case rt.GetDirectResponse() != nil:
		d := rt.GetDirectResponse()
		body, _ := el.gw.dataSource("body", d.GetBody())
		el.responseHeaders(rw.Header(), vh, rt)
		el.local(rw, req, int(d.GetStatus()), "direct_response", "", string(body))
	case rt.GetRedirect() != nil:
		el.redirect(rw, req, vh, rt)
	default:
		el.proxy(rw, req, vh, rt)
	}
}

// local is a response Envoy makes itself (no upstream).
func (el *envoyListener) local(w http.ResponseWriter, req *envoyRequest, status int, details, flags, body string) {
	req.details, req.flags = details, flags
	el.serverHeader(w.Header(), true)
	if body != "" {
		w.Header().Set("Content-Type", "text/plain")
	}
	w.WriteHeader(status)
	if body != "" {
		_, _ = w.Write([]byte(body))
	}
}

func (el *envoyListener) redirect(w http.ResponseWriter, req *envoyRequest, vh *routev3.VirtualHost, rt *routev3.Route) {
	rd := rt.GetRedirect()
	r := req.r
	target := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawQuery: r.URL.RawQuery}
	if r.TLS != nil {
		target.Scheme = "https"
	}
	switch {
	case rd.GetHttpsRedirect():
		target.Scheme = "https"
	case rd.GetSchemeRedirect() != "":
		target.Scheme = rd.GetSchemeRedirect()
	}
	if rd.GetHostRedirect() != "" {
		target.Host = rd.GetHostRedirect()
	}
	if rd.GetPortRedirect() != 0 {
		host := target.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		target.Host = net.JoinHostPort(host, fmt.Sprint(rd.GetPortRedirect()))
	}
	switch {
	case rd.GetPathRedirect() != "":
		path, query, _ := strings.Cut(rd.GetPathRedirect(), "?")
		target.Path, target.RawQuery = path, query
	default:
		target.Path = el.rewritePath(rt.GetMatch(), rd.GetPrefixRewrite(), rd.GetRegexRewrite(), target.Path)
	}
	if rd.GetStripQuery() {
		target.RawQuery = ""
	}
	status := map[routev3.RedirectAction_RedirectResponseCode]int{
		routev3.RedirectAction_MOVED_PERMANENTLY:  http.StatusMovedPermanently,
		routev3.RedirectAction_FOUND:              http.StatusFound,
		routev3.RedirectAction_SEE_OTHER:          http.StatusSeeOther,
		routev3.RedirectAction_TEMPORARY_REDIRECT: http.StatusTemporaryRedirect,
		routev3.RedirectAction_PERMANENT_REDIRECT: http.StatusPermanentRedirect,
	}[rd.GetResponseCode()]
	w.Header().Set("Location", target.String())
	el.responseHeaders(w.Header(), vh, rt)
	el.local(w, req, status, "direct_response", "", "")
}

// proxy sends the request to the route's cluster's first endpoint.
func (el *envoyListener) proxy(w http.ResponseWriter, req *envoyRequest, vh *routev3.VirtualHost, rt *routev3.Route) {
	a := rt.GetRoute()
	r := req.r
	name := a.GetCluster()
	if a.GetWeightedClusters() != nil {
		var b [8]byte
		_, _ = rand.Read(b[:])
		name = weightedCluster(a.GetWeightedClusters(), binary.BigEndian.Uint64(b[:]))
	}
	req.cluster = name
	c, ok := el.gw.clusters[name]
	if !ok {
		code := http.StatusServiceUnavailable
		if a.GetClusterNotFoundResponseCode() == routev3.RouteAction_NOT_FOUND {
			code = http.StatusNotFound
		}
		el.local(w, req, code, "cluster_not_found", "NC", "")
		return
	}
	if c.endpoint == "" {
		el.local(w, req, http.StatusServiceUnavailable, "no_healthy_upstream", "UH", "no healthy upstream")
		return
	}
	req.upstream = c.endpoint
	upgrade := r.Header.Get("Upgrade") != ""
	timeout := envoyRouteTimeout
	if a.GetTimeout() != nil {
		timeout = a.GetTimeout().AsDuration()
	}
	ctx := r.Context()
	if timeout > 0 && !upgrade {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	path := el.rewritePath(rt.GetMatch(), a.GetPrefixRewrite(), a.GetRegexRewrite(), r.URL.EscapedPath())
	proxy := &httputil.ReverseProxy{
		Transport: c.transport,
		Rewrite: func(pr *httputil.ProxyRequest) {
			out := pr.Out
			// ReverseProxy drops these before Rewrite; Envoy passes them on.
			for _, k := range []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
				if v, ok := pr.In.Header[k]; ok {
					out.Header[k] = v
				}
			}
			out.URL.Scheme, out.URL.Host = c.scheme, c.endpoint
			if path != r.URL.EscapedPath() {
				out.Header.Set("X-Envoy-Original-Path", r.URL.RequestURI())
				u, err := url.Parse(path)
				if err == nil {
					out.URL.Path, out.URL.RawPath = u.Path, u.RawPath
				}
			}
			out.Host = r.Host
			switch {
			case a.GetHostRewriteLiteral() != "":
				out.Host = a.GetHostRewriteLiteral()
			case a.GetAutoHostRewrite().GetValue():
				out.Host = c.endpoint
			}
			el.requestHeaders(out, vh, rt)
		},
		ModifyResponse: func(resp *http.Response) error {
			el.serverHeader(resp.Header, false)
			el.responseHeaders(resp.Header, vh, rt)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			if errors.Is(err, context.DeadlineExceeded) {
				el.local(w, req, http.StatusGatewayTimeout, "upstream_response_timeout", "UT", "upstream request timeout")
				return
			}
			el.local(w, req, http.StatusServiceUnavailable, "upstream_reset_before_response_started{connection_failure}", "UF",
				"upstream connect error or disconnect/reset before headers. reset reason: connection failure")
		},
	}
	req.details = "via_upstream"
	proxy.ServeHTTP(w, r.WithContext(ctx))
}

// requestHeaders applies what Envoy's connection manager and route table do to
// the upstream request's headers: x-request-id and x-forwarded-proto when
// absent, the client address appended to x-forwarded-for with
// use_remote_address, then the route's, the virtual host's and the route
// table's request_headers_to_add/remove (in that order; reversed with
// most_specific_header_mutations_wins).
func (el *envoyListener) requestHeaders(out *http.Request, vh *routev3.VirtualHost, rt *routev3.Route) {
	h := out.Header
	if h.Get("X-Request-Id") == "" && (el.hcm.GetGenerateRequestId() == nil || el.hcm.GetGenerateRequestId().GetValue()) {
		h.Set("X-Request-Id", requestID())
	}
	if h.Get("X-Forwarded-Proto") == "" {
		proto := "http"
		if out.TLS != nil {
			proto = "https"
		}
		h.Set("X-Forwarded-Proto", proto)
	}
	if el.hcm.GetUseRemoteAddress().GetValue() && !el.hcm.GetSkipXffAppend() {
		if host, _, err := net.SplitHostPort(out.RemoteAddr); err == nil {
			if prior := h.Get("X-Forwarded-For"); prior != "" {
				host = prior + "," + host
			}
			h.Set("X-Forwarded-For", host)
		}
	}
	type level struct {
		add    []*corev3.HeaderValueOption
		remove []string
	}
	levels := []level{
		{rt.GetRequestHeadersToAdd(), rt.GetRequestHeadersToRemove()},
		{vh.GetRequestHeadersToAdd(), vh.GetRequestHeadersToRemove()},
		{el.routes.GetRequestHeadersToAdd(), el.routes.GetRequestHeadersToRemove()},
	}
	if el.routes.GetMostSpecificHeaderMutationsWins() {
		levels[0], levels[2] = levels[2], levels[0]
	}
	req := &envoyRequest{r: out}
	for _, l := range levels {
		for _, name := range l.remove {
			h.Del(name)
		}
		applyHeaders(h, l.add, req)
	}
}

// responseHeaders applies the route's, the virtual host's and the route
// table's response_headers_to_add/remove.
func (el *envoyListener) responseHeaders(h http.Header, vh *routev3.VirtualHost, rt *routev3.Route) {
	req := &envoyRequest{r: &http.Request{Header: http.Header{}}}
	for _, l := range []struct {
		add    []*corev3.HeaderValueOption
		remove []string
	}{
		{rt.GetResponseHeadersToAdd(), rt.GetResponseHeadersToRemove()},
		{vh.GetResponseHeadersToAdd(), vh.GetResponseHeadersToRemove()},
		{el.routes.GetResponseHeadersToAdd(), el.routes.GetResponseHeadersToRemove()},
	} {
		for _, name := range l.remove {
			h.Del(name)
		}
		applyHeaders(h, l.add, req)
	}
}

// applyHeaders adds header value options as their append_action (or the
// deprecated append) says, with the value's %OPERATORS% substituted.
func applyHeaders(h http.Header, options []*corev3.HeaderValueOption, req *envoyRequest) {
	for _, o := range options {
		name := o.GetHeader().GetKey()
		value := formatText(o.GetHeader().GetValue(), req)
		if value == "" && !o.GetKeepEmptyValue() {
			continue
		}
		action := o.GetAppendAction()
		if o.GetAppend() != nil {
			if o.GetAppend().GetValue() {
				action = corev3.HeaderValueOption_APPEND_IF_EXISTS_OR_ADD
			} else {
				action = corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD
			}
		}
		_, exists := h[http.CanonicalHeaderKey(name)]
		switch action {
		case corev3.HeaderValueOption_APPEND_IF_EXISTS_OR_ADD:
			h.Add(name, value)
		case corev3.HeaderValueOption_ADD_IF_ABSENT:
			if !exists {
				h.Set(name, value)
			}
		case corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD:
			h.Set(name, value)
		case corev3.HeaderValueOption_OVERWRITE_IF_EXISTS:
			if exists {
				h.Set(name, value)
			}
		}
	}
}

// serverHeader sets the server header as server_header_transformation says
// (overwrite with server_name, "envoy" by default).
func (el *envoyListener) serverHeader(h http.Header, local bool) {
	name := el.hcm.GetServerName()
	if name == "" {
		name = "envoy"
	}
	switch el.hcm.GetServerHeaderTransformation() {
	case hcmv3.HttpConnectionManager_OVERWRITE:
		h.Set("Server", name)
	case hcmv3.HttpConnectionManager_APPEND_IF_ABSENT:
		if h.Get("Server") == "" {
			h.Set("Server", name)
		}
	case hcmv3.HttpConnectionManager_PASS_THROUGH:
		if local {
			h.Del("Server")
		}
	}
}

// requestID is a random UUID (version 4), as Envoy generates x-request-id.
func requestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// countingWriter records the status and the bytes sent for the access log.
type countingWriter struct {
	http.ResponseWriter
	req *envoyRequest
}

func (c *countingWriter) WriteHeader(status int) {
	if c.req.status == 0 {
		c.req.status = status
		c.req.header = c.ResponseWriter.Header().Clone()
	}
	c.ResponseWriter.WriteHeader(status)
}

func (c *countingWriter) Write(b []byte) (int, error) {
	if c.req.status == 0 {
		c.WriteHeader(http.StatusOK)
	}
	n, err := c.ResponseWriter.Write(b)
	c.req.sent += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (upgrades, flushes).
func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }
