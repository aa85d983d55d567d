package envoyconfig

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// normalize walks a YAML tree beside the message descriptor it decodes into and
// rewrites a google.protobuf.Duration written as a message ({seconds: 600, nanos: 0},
// as Envoy's docs and NVIDIA's chart write cache_duration) into its canonical string
// ("600s"): Envoy's protobuf JSON parser reads both, protojson only the string.
// Nothing else is touched. Keys the descriptor does not have and unresolvable @types
// are recorded in problems with their path (protojson refuses them too, but names
// only a JSON offset).
func normalize(v any, md protoreflect.MessageDescriptor, path string, problems *[]string) any {
	obj, ok := v.(map[string]any)
	if !ok {
		return v
	}
	switch md.FullName() {
	case "google.protobuf.Duration":
		if s, ok := durationString(obj); ok {
			return s
		}
		return v
	case "google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue":
		return v
	case "google.protobuf.Any":
		url, _ := obj["@type"].(string)
		mt, err := protoregistry.GlobalTypes.FindMessageByURL(url)
		if err != nil {
			*problems = append(*problems, fmt.Sprintf("%s: unresolvable @type %q", orRoot(path), url))
			return v
		}
		md = mt.Descriptor()
		path += "<" + string(md.FullName()) + ">"
		if isWellKnown(md) {
			if inner, ok := obj["value"]; ok {
				obj["value"] = normalize(inner, md, path+".value", problems)
			}
			return obj
		}
	}
	fields := md.Fields()
	for key, val := range obj {
		if key == "@type" {
			continue
		}
		fd := fields.ByJSONName(key)
		if fd == nil {
			fd = fields.ByTextName(key)
		}
		if fd == nil {
			*problems = append(*problems, fmt.Sprintf("%s: unknown field %q of %s", orRoot(path), key, md.FullName()))
			continue
		}
		if fd.Message() == nil {
			continue
		}
		at := join(path, key)
		switch {
		case fd.IsMap():
			if m, ok := val.(map[string]any); ok && fd.MapValue().Message() != nil {
				for k, e := range m {
					m[k] = normalize(e, fd.MapValue().Message(), fmt.Sprintf("%s[%s]", at, k), problems)
				}
			}
		case fd.IsList():
			if l, ok := val.([]any); ok {
				for i, e := range l {
					l[i] = normalize(e, fd.Message(), fmt.Sprintf("%s[%d]", at, i), problems)
				}
			}
		default:
			obj[key] = normalize(val, fd.Message(), at, problems)
		}
	}
	return obj
}

func isWellKnown(md protoreflect.MessageDescriptor) bool {
	return strings.HasPrefix(string(md.FullName()), "google.protobuf.")
}

// durationString renders {seconds, nanos} (numbers) as protojson's Duration string.
func durationString(obj map[string]any) (string, bool) {
	var seconds, nanos int64
	for k, val := range obj {
		n, ok := integer(val)
		if !ok {
			return "", false
		}
		switch k {
		case "seconds":
			seconds = n
		case "nanos":
			nanos = n
		default:
			return "", false
		}
	}
	if nanos == 0 {
		return fmt.Sprintf("%ds", seconds), true
	}
	sign := ""
	if seconds < 0 || nanos < 0 {
		sign, seconds, nanos = "-", abs(seconds), abs(nanos)
	}
	frac := strings.TrimRight(fmt.Sprintf("%09d", nanos), "0")
	return fmt.Sprintf("%s%d.%ss", sign, seconds, frac), true
}

func integer(v any) (int64, bool) {
	switch n := v.(type) {
	case float64:
		if n != float64(int64(n)) {
			return 0, false
		}
		return int64(n), true
	case int64:
		return n, true
	case json.Number:
		i, err := strconv.ParseInt(string(n), 10, 64)
		return i, err == nil
	}
	return 0, false
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

func jsonMarshal(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("to JSON: %w", err)
	}
	return raw, nil
}
