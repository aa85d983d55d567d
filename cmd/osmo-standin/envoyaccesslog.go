//lint:file-ignore SA1019 Envoy 1.29 still honours these deprecated fields, so the stand-in reads them as it does.

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	accesslogv3 "github.com/envoyproxy/go-control-plane/envoy/config/accesslog/v3"
	filev3 "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/file/v3"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/osmo-wi/charts/harness/envoyconfig"
)

// envoyRequest is what the stand-in knows of one request when it logs it.
type envoyRequest struct {
	start    time.Time
	r        *http.Request
	status   int
	details  string // RESPONSE_CODE_DETAILS: via_upstream, route_not_found, ...
	flags    string // RESPONSE_FLAGS: NR, UH, UF, UT or -
	route    string
	cluster  string
	upstream string
	sent     int64
	header   http.Header // the response headers
	duration time.Duration
}

// envoyAccessLog is a file access log (envoy.access_loggers.file) with its
// format: text (the default format when none is given) or JSON. The filter of
// an access log is not evaluated: every request is logged.
type envoyAccessLog struct {
	mu   sync.Mutex
	w    io.Writer
	text string           // a text format, "" for JSON
	json *structpb.Struct // a JSON format
}

// envoyDefaultFormat is Envoy's default access log format.
const envoyDefaultFormat = `[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"` + "\n"

func (gw *envoyGateway) accessLog(a *accesslogv3.AccessLog) (*envoyAccessLog, error) {
	if a.GetTypedConfig() == nil {
		return nil, fmt.Errorf("%s: no typed_config", a.GetName())
	}
	m, err := envoyconfig.Unpack(a.GetTypedConfig())
	if err != nil {
		return nil, err
	}
	f, ok := m.(*filev3.FileAccessLog)
	if !ok {
		return nil, fmt.Errorf("%s: the stand-in writes file access logs only", m.ProtoReflect().Descriptor().FullName())
	}
	log := &envoyAccessLog{text: envoyDefaultFormat}
	switch {
	case f.GetFormat() != "":
		log.text = f.GetFormat()
	case f.GetJsonFormat() != nil:
		log.text, log.json = "", f.GetJsonFormat()
	case f.GetTypedJsonFormat() != nil:
		log.text, log.json = "", f.GetTypedJsonFormat()
	case f.GetLogFormat() != nil:
		lf := f.GetLogFormat()
		switch {
		case lf.GetJsonFormat() != nil:
			log.text, log.json = "", lf.GetJsonFormat()
		case lf.GetTextFormat() != "":
			log.text = lf.GetTextFormat()
		case lf.GetTextFormatSource() != nil:
			data, err := gw.dataSource("text_format_source", lf.GetTextFormatSource())
			if err != nil {
				return nil, err
			}
			log.text = string(data)
		}
	}
	switch f.GetPath() {
	case "/dev/stdout":
		log.w = gw.log
	case "/dev/stderr":
		log.w = os.Stderr
	default:
		file, err := os.OpenFile(f.GetPath(), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return nil, envoySays(fmt.Sprintf("Failed to open file: %s", f.GetPath()))
		}
		log.w = file
	}
	if log.w == nil {
		return nil, errors.New("no output")
	}
	return log, nil
}

func (l *envoyAccessLog) write(req *envoyRequest) {
	var line string
	if l.json != nil {
		data, _ := json.Marshal(formatJSON(l.json.AsMap(), req))
		line = string(data) + "\n"
	} else {
		line = formatText(l.text, req)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = io.WriteString(l.w, line)
}

var formatOperator = regexp.MustCompile(`%([A-Z_0-9]+)(\(([^)]*)\))?(:([0-9]+))?%`)

func formatText(format string, req *envoyRequest) string {
	return formatOperator.ReplaceAllStringFunc(format, func(op string) string {
		if v, ok := operatorValue(op, req); ok {
			return v
		}
		return "-"
	})
}

// formatJSON substitutes every string of a JSON format; a string that is one
// operator with no value becomes null.
func formatJSON(v any, req *envoyRequest) any {
	switch t := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range t {
			out[k] = formatJSON(e, req)
		}
		return out
	case string:
		if loc := formatOperator.FindStringIndex(t); loc != nil && loc[0] == 0 && loc[1] == len(t) {
			if value, ok := operatorValue(t, req); ok {
				return value
			}
			return nil
		}
		return formatText(t, req)
	}
	return v
}

// operatorValue is one %OPERATOR% of Envoy's substitution format, for the
// operators the stand-in knows; false when it has no value (or is unknown).
func operatorValue(op string, req *envoyRequest) (string, bool) {
	m := formatOperator.FindStringSubmatch(op)
	name, arg, limit := m[1], m[3], m[5]
	v, ok := operator(name, arg, req)
	if ok && limit != "" {
		if n, err := strconv.Atoi(limit); err == nil && len(v) > n {
			v = v[:n]
		}
	}
	return v, ok && v != ""
}

func operator(name, arg string, req *envoyRequest) (string, bool) {
	r := req.r
	switch name {
	case "START_TIME":
		return req.start.UTC().Format("2006-01-02T15:04:05.000Z"), true
	case "REQ", "RESP":
		h, alt, _ := strings.Cut(arg, "?")
		for _, header := range []string{h, alt} {
			if header == "" {
				continue
			}
			var v string
			var ok bool
			if name == "REQ" {
				v, ok = headerValue(r, header)
			} else if req.header != nil {
				v, ok = req.header.Get(header), req.header.Get(header) != ""
			}
			if ok && v != "" {
				return v, true
			}
		}
		return "", false
	case "PROTOCOL":
		return r.Proto, true
	case "RESPONSE_CODE":
		return strconv.Itoa(req.status), true
	case "RESPONSE_CODE_DETAILS":
		return req.details, true
	case "RESPONSE_FLAGS":
		if req.flags == "" {
			return "-", true
		}
		return req.flags, true
	case "BYTES_RECEIVED":
		return strconv.FormatInt(max(r.ContentLength, 0), 10), true
	case "BYTES_SENT":
		return strconv.FormatInt(req.sent, 10), true
	case "DURATION", "REQUEST_DURATION", "RESPONSE_DURATION":
		return strconv.FormatInt(req.duration.Milliseconds(), 10), true
	case "UPSTREAM_HOST":
		return req.upstream, req.upstream != ""
	case "UPSTREAM_CLUSTER":
		return req.cluster, req.cluster != ""
	case "ROUTE_NAME":
		return req.route, req.route != ""
	case "DOWNSTREAM_REMOTE_ADDRESS":
		return r.RemoteAddr, true
	case "DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT":
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		return host, err == nil
	case "DOWNSTREAM_LOCAL_ADDRESS":
		if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
			return a.String(), true
		}
	case "REQUESTED_SERVER_NAME":
		if r.TLS != nil {
			return r.TLS.ServerName, r.TLS.ServerName != ""
		}
	case "UPSTREAM_REQUEST_ATTEMPT_COUNT":
		if req.upstream != "" {
			return "1", true
		}
	}
	return "", false
}
