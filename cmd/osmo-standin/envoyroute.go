//lint:file-ignore SA1019 Envoy 1.29 still honours these deprecated fields, so the stand-in reads them as it does.

package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
)

// checkRoutes checks the route table as Envoy does when it loads it (every
// cluster a route names exists, unless validate_clusters is false; every regex
// compiles) and refuses what the stand-in does not serve, naming it.
func (el *envoyListener) checkRoutes() error {
	rc := el.routes
	if rc.GetVhds() != nil {
		return errors.New("route_config.vhds: not served by the stand-in")
	}
	validate := rc.GetValidateClusters() == nil || rc.GetValidateClusters().GetValue()
	for _, vh := range rc.GetVirtualHosts() {
		if vh.GetMatcher() != nil {
			return fmt.Errorf("virtual host %s: matcher: not served by the stand-in (use routes)", vh.GetName())
		}
		for i, r := range vh.GetRoutes() {
			where := fmt.Sprintf("virtual host %s: routes[%d]", vh.GetName(), i)
			if r.GetName() != "" {
				where += " (" + r.GetName() + ")"
			}
			if err := el.checkMatch(r.GetMatch()); err != nil {
				return fmt.Errorf("%s: match: %w", where, err)
			}
			switch {
			case r.GetRoute() != nil:
				if err := el.checkAction(r.GetRoute(), validate); err != nil {
					return fmt.Errorf("%s: route: %w", where, err)
				}
			case r.GetRedirect() != nil:
				if rr := r.GetRedirect().GetRegexRewrite(); rr != nil {
					if err := el.compile(rr.GetPattern()); err != nil {
						return fmt.Errorf("%s: redirect: %w", where, err)
					}
				}
			case r.GetDirectResponse() != nil:
			default:
				return fmt.Errorf("%s: only route, redirect and direct_response actions are served by the stand-in", where)
			}
		}
	}
	return nil
}

func (el *envoyListener) checkMatch(m *routev3.RouteMatch) error {
	switch {
	case m.GetConnectMatcher() != nil:
		return errors.New("connect_matcher: not served by the stand-in")
	case m.GetPathMatchPolicy() != nil:
		return errors.New("path_match_policy: not served by the stand-in")
	case m.GetRuntimeFraction() != nil, len(m.GetCookies()) > 0, m.GetTlsContext() != nil, len(m.GetDynamicMetadata()) > 0, len(m.GetFilterState()) > 0:
		return errors.New("runtime_fraction, cookies, tls_context, dynamic_metadata and filter_state are not served by the stand-in")
	}
	if m.GetSafeRegex() != nil {
		if err := el.compile(m.GetSafeRegex()); err != nil {
			return err
		}
	}
	for _, h := range m.GetHeaders() {
		if h.GetRangeMatch() != nil {
			return fmt.Errorf("headers %s: range_match: not served by the stand-in", h.GetName())
		}
		if h.GetSafeRegexMatch() != nil {
			if err := el.compile(h.GetSafeRegexMatch()); err != nil {
				return err
			}
		}
		if err := el.checkStringMatch(h.GetStringMatch()); err != nil {
			return fmt.Errorf("headers %s: %w", h.GetName(), err)
		}
	}
	for _, q := range m.GetQueryParameters() {
		if err := el.checkStringMatch(q.GetStringMatch()); err != nil {
			return fmt.Errorf("query_parameters %s: %w", q.GetName(), err)
		}
	}
	return nil
}

func (el *envoyListener) checkStringMatch(s *matcherv3.StringMatcher) error {
	if s.GetCustom() != nil {
		return errors.New("string_match custom: not served by the stand-in")
	}
	if s.GetSafeRegex() != nil {
		return el.compile(s.GetSafeRegex())
	}
	return nil
}

func (el *envoyListener) checkAction(a *routev3.RouteAction, validate bool) error {
	switch {
	case a.GetClusterHeader() != "", a.GetClusterSpecifierPlugin() != "", a.GetInlineClusterSpecifierPlugin() != nil:
		return errors.New("cluster_header and cluster specifier plugins are not served by the stand-in")
	case a.GetPathRewritePolicy() != nil, a.GetHostRewriteHeader() != "", a.GetHostRewritePathRegex() != nil:
		return errors.New("path_rewrite_policy, host_rewrite_header and host_rewrite_path_regex are not served by the stand-in")
	}
	if rr := a.GetRegexRewrite(); rr != nil {
		if err := el.compile(rr.GetPattern()); err != nil {
			return err
		}
	}
	var names []string
	if a.GetCluster() != "" {
		names = append(names, a.GetCluster())
	}
	for _, w := range a.GetWeightedClusters().GetClusters() {
		if w.GetClusterHeader() != "" {
			return errors.New("weighted_clusters cluster_header: not served by the stand-in")
		}
		names = append(names, w.GetName())
	}
	for _, name := range names {
		if _, ok := el.gw.clusters[name]; !ok && validate {
			return fmt.Errorf("route: unknown cluster '%s'", name)
		}
	}
	return nil
}

func (el *envoyListener) compile(r *matcherv3.RegexMatcher) error {
	pattern := r.GetRegex()
	if _, ok := el.regexes[pattern]; ok {
		return nil
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return envoySays(fmt.Sprintf("Invalid regex '%s': %v", pattern, err))
	}
	el.regexes[pattern] = re
	el.anchored[pattern] = regexp.MustCompile(`^(?:` + pattern + `)$`)
	return nil
}

// virtualHost picks the virtual host for a request's host as Envoy does: an
// exact domain, then the longest suffix wildcard ("*.example.com"), then the
// longest prefix wildcard ("example.*"), then "*".
func (el *envoyListener) virtualHost(host string) *routev3.VirtualHost {
	host = strings.ToLower(host)
	if el.hcm.GetStripAnyHostPort() || el.routes.GetIgnorePortInHostMatching() {
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
	}
	var suffix, prefix, any *routev3.VirtualHost
	suffixLen, prefixLen := -1, -1
	for _, vh := range el.routes.GetVirtualHosts() {
		for _, d := range vh.GetDomains() {
			d = strings.ToLower(d)
			switch {
			case d == "*":
				if any == nil {
					any = vh
				}
			case d == host:
				return vh
			case strings.HasPrefix(d, "*") && strings.HasSuffix(host, d[1:]) && len(host) > len(d)-1:
				if len(d) > suffixLen {
					suffix, suffixLen = vh, len(d)
				}
			case strings.HasSuffix(d, "*") && strings.HasPrefix(host, d[:len(d)-1]) && len(host) > len(d)-1:
				if len(d) > prefixLen {
					prefix, prefixLen = vh, len(d)
				}
			}
		}
	}
	switch {
	case suffix != nil:
		return suffix
	case prefix != nil:
		return prefix
	}
	return any
}

// matchRoute is the first route of vh that matches the request.
func (el *envoyListener) matchRoute(vh *routev3.VirtualHost, r *http.Request) *routev3.Route {
	for _, rt := range vh.GetRoutes() {
		if el.matches(rt.GetMatch(), r) {
			return rt
		}
	}
	return nil
}

func (el *envoyListener) matches(m *routev3.RouteMatch, r *http.Request) bool {
	path := r.URL.EscapedPath() // without the query string, as Envoy matches it
	if path == "" {
		path = "/"
	}
	sensitive := m.GetCaseSensitive() == nil || m.GetCaseSensitive().GetValue()
	fold := func(s string) string {
		if sensitive {
			return s
		}
		return strings.ToLower(s)
	}
	switch {
	case m.GetPathSeparatedPrefix() != "":
		p := m.GetPathSeparatedPrefix()
		if !(fold(path) == fold(p) || strings.HasPrefix(fold(path), fold(p)+"/")) {
			return false
		}
	case m.GetSafeRegex() != nil:
		if !el.anchored[m.GetSafeRegex().GetRegex()].MatchString(path) {
			return false
		}
	case m.GetPath() != "":
		if fold(path) != fold(m.GetPath()) {
			return false
		}
	default:
		if !strings.HasPrefix(fold(path), fold(m.GetPrefix())) {
			return false
		}
	}
	if m.GetGrpc() != nil && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
		return false
	}
	for _, h := range m.GetHeaders() {
		if !el.headerMatches(h, r) {
			return false
		}
	}
	query := r.URL.Query()
	for _, q := range m.GetQueryParameters() {
		values, present := query[q.GetName()]
		switch {
		case q.GetPresentMatch():
			if !present {
				return false
			}
		case q.GetStringMatch() != nil:
			if !present || !el.stringMatches(q.GetStringMatch(), values[0]) {
				return false
			}
		}
	}
	return true
}

// headerValue is a request header as Envoy's matchers see it (pseudo-headers
// included; several values joined with ",").
func headerValue(r *http.Request, name string) (string, bool) {
	switch strings.ToLower(name) {
	case ":method":
		return r.Method, true
	case ":path":
		return r.RequestURI, true
	case ":authority", "host":
		return r.Host, true
	case ":scheme":
		if r.TLS != nil {
			return "https", true
		}
		return "http", true
	}
	values, ok := r.Header[http.CanonicalHeaderKey(name)]
	return strings.Join(values, ","), ok
}

func (el *envoyListener) headerMatches(h *routev3.HeaderMatcher, r *http.Request) bool {
	value, present := headerValue(r, h.GetName())
	if !present && h.GetTreatMissingHeaderAsEmpty() {
		value, present = "", true
	}
	var ok bool
	switch {
	case h.GetHeaderMatchSpecifier() == nil:
		ok = present
	case h.GetPresentMatch():
		ok = present
	case !present:
		ok = false
	case h.GetExactMatch() != "":
		ok = value == h.GetExactMatch()
	case h.GetPrefixMatch() != "":
		ok = strings.HasPrefix(value, h.GetPrefixMatch())
	case h.GetSuffixMatch() != "":
		ok = strings.HasSuffix(value, h.GetSuffixMatch())
	case h.GetContainsMatch() != "":
		ok = strings.Contains(value, h.GetContainsMatch())
	case h.GetSafeRegexMatch() != nil:
		ok = el.anchored[h.GetSafeRegexMatch().GetRegex()].MatchString(value)
	case h.GetStringMatch() != nil:
		ok = el.stringMatches(h.GetStringMatch(), value)
	}
	if h.GetInvertMatch() {
		return !ok
	}
	return ok
}

func (el *envoyListener) stringMatches(s *matcherv3.StringMatcher, value string) bool {
	fold := func(v string) string {
		if s.GetIgnoreCase() {
			return strings.ToLower(v)
		}
		return v
	}
	switch {
	case s.GetSafeRegex() != nil:
		return el.anchored[s.GetSafeRegex().GetRegex()].MatchString(value)
	case s.GetPrefix() != "":
		return strings.HasPrefix(fold(value), fold(s.GetPrefix()))
	case s.GetSuffix() != "":
		return strings.HasSuffix(fold(value), fold(s.GetSuffix()))
	case s.GetContains() != "":
		return strings.Contains(fold(value), fold(s.GetContains()))
	default:
		return fold(value) == fold(s.GetExact())
	}
}

// rewritePath is the path the upstream gets: prefix_rewrite replaces the part
// the route matched (the whole path for path and regex matches), regex_rewrite
// substitutes every match (\1 is a capture group, as Envoy writes it).
func (el *envoyListener) rewritePath(m *routev3.RouteMatch, prefixRewrite string, regexRewrite *matcherv3.RegexMatchAndSubstitute, path string) string {
	switch {
	case prefixRewrite != "":
		matched := len(path)
		switch {
		case m.GetPrefix() != "":
			matched = len(m.GetPrefix())
		case m.GetPathSeparatedPrefix() != "":
			matched = len(m.GetPathSeparatedPrefix())
		}
		return prefixRewrite + path[matched:]
	case regexRewrite != nil:
		re := el.regexes[regexRewrite.GetPattern().GetRegex()]
		return re.ReplaceAllString(path, backrefs.ReplaceAllString(regexRewrite.GetSubstitution(), "$${$1}"))
	}
	return path
}

var backrefs = regexp.MustCompile(`\\(\d)`)

// weightedCluster picks a cluster of weighted_clusters by weight, pick being
// a random number.
func weightedCluster(w *routev3.WeightedCluster, pick uint64) string {
	clusters := w.GetClusters()
	var total uint64
	for _, c := range clusters {
		total += uint64(c.GetWeight().GetValue())
	}
	if len(clusters) == 0 {
		return ""
	}
	if total == 0 {
		return clusters[0].GetName()
	}
	pick %= total
	for _, c := range clusters {
		weight := uint64(c.GetWeight().GetValue())
		if pick < weight {
			return c.GetName()
		}
		pick -= weight
	}
	return clusters[len(clusters)-1].GetName()
}
