// Package envoyconfig decodes the Envoy documents the charts render (bootstrap, LDS, CDS, SDS files) strictly into Envoy's own v3 protos and validates them.
package envoyconfig

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/anypb"
	"sigs.k8s.io/yaml"

	// The typed_config types the charts use; importing them registers them in
	// protoregistry.GlobalTypes, which resolves every Any.
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/file/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/common/matching/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/common/matcher/action/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/jwt_authn/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/lua/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ratelimit/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
)

// Config is every document of a rendered Envoy ConfigMap, decoded.
type Config struct {
	Bootstrap *bootstrapv3.Bootstrap
	// Listeners from lds.yaml, Clusters from cds.yaml, in document order.
	Listeners []*listenerv3.Listener
	Clusters  []*clusterv3.Cluster
	// Secrets per sds_*.yaml document name.
	Secrets map[string][]*tlsv3.Secret
}

// Listener returns the listener named name, or nil.
func (c *Config) Listener(name string) *listenerv3.Listener {
	for _, l := range c.Listeners {
		if l.GetName() == name {
			return l
		}
	}
	return nil
}

// Cluster returns the cluster named name, or nil.
func (c *Config) Cluster(name string) *clusterv3.Cluster {
	for _, cl := range c.Clusters {
		if cl.GetName() == name {
			return cl
		}
	}
	return nil
}

// ConfigMap decodes every document of an Envoy ConfigMap's data: bootstrap.yaml
// (required), lds.yaml (Listeners only), cds.yaml (Clusters only) and sds_*.yaml
// (Secrets only). Any other document name is an error.
func ConfigMap(data map[string]string) (*Config, error) {
	cfg := &Config{Secrets: map[string][]*tlsv3.Secret{}}
	names := make([]string, 0, len(data))
	for name := range data {
		names = append(names, name)
	}
	sort.Strings(names)
	if _, ok := data["bootstrap.yaml"]; !ok {
		return nil, fmt.Errorf("envoy config: no bootstrap.yaml (documents: %s)", strings.Join(names, ", "))
	}
	var errs []error
	for _, name := range names {
		doc := []byte(data[name])
		switch {
		case name == "bootstrap.yaml":
			b, err := Bootstrap(doc)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				continue
			}
			cfg.Bootstrap = b
		case name == "lds.yaml", name == "cds.yaml", strings.HasPrefix(name, "sds_") && strings.HasSuffix(name, ".yaml"):
			resources, err := Resources(doc)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				continue
			}
			for i, r := range resources {
				switch m := r.(type) {
				case *listenerv3.Listener:
					if name == "lds.yaml" {
						cfg.Listeners = append(cfg.Listeners, m)
						continue
					}
				case *clusterv3.Cluster:
					if name == "cds.yaml" {
						cfg.Clusters = append(cfg.Clusters, m)
						continue
					}
				case *tlsv3.Secret:
					if strings.HasPrefix(name, "sds_") {
						cfg.Secrets[name] = append(cfg.Secrets[name], m)
						continue
					}
				}
				errs = append(errs, fmt.Errorf("%s: resources[%d]: a %s does not belong in this document", name, i, r.ProtoReflect().Descriptor().FullName()))
			}
		default:
			errs = append(errs, fmt.Errorf("%s: not an Envoy document this decoder knows (bootstrap.yaml, lds.yaml, cds.yaml, sds_*.yaml)", name))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Bootstrap decodes a bootstrap document strictly and validates it.
func Bootstrap(doc []byte) (*bootstrapv3.Bootstrap, error) {
	b := &bootstrapv3.Bootstrap{}
	if err := decode(doc, b); err != nil {
		return nil, err
	}
	if err := validate(b, ""); err != nil {
		return nil, err
	}
	return b, nil
}

// Resources decodes a file-based xDS document (a DiscoveryResponse's `resources:`
// list of Anys, as Envoy's path_config_source reads it) strictly, unpacks every
// resource and validates it.
func Resources(doc []byte) ([]proto.Message, error) {
	resp := &discoveryv3.DiscoveryResponse{}
	if err := decode(doc, resp); err != nil {
		return nil, err
	}
	out := make([]proto.Message, 0, len(resp.GetResources()))
	for i, a := range resp.GetResources() {
		m, err := unpack(a)
		if err != nil {
			return nil, fmt.Errorf("resources[%d]: %w", i, err)
		}
		path := fmt.Sprintf("resources[%d]", i)
		if n, ok := m.(interface{ GetName() string }); ok && n.GetName() != "" {
			path = fmt.Sprintf("resources[%d](%s)", i, n.GetName())
		}
		if err := validate(m, path); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// Unpack resolves and decodes a typed_config Any with the same registry as the
// decoder (for tests that look inside filters and transport sockets).
func Unpack(a *anypb.Any) (proto.Message, error) { return unpack(a) }

func unpack(a *anypb.Any) (proto.Message, error) {
	m, err := anypb.UnmarshalNew(a, proto.UnmarshalOptions{Resolver: protoregistry.GlobalTypes})
	if err != nil {
		return nil, fmt.Errorf("unresolvable @type %q: %w", a.GetTypeUrl(), err)
	}
	return m, nil
}

// decode converts YAML to JSON, rewrites the Duration spellings Envoy's own parser
// accepts and protojson does not, and unmarshals strictly (unknown fields and
// unresolvable @types refused).
func decode(doc []byte, m proto.Message) error {
	var tree any
	if err := yaml.Unmarshal(doc, &tree); err != nil {
		return fmt.Errorf("not YAML: %w", err)
	}
	if tree == nil {
		return errors.New("empty document")
	}
	var problems []string
	tree = normalize(tree, m.ProtoReflect().Descriptor(), "", &problems)
	if len(problems) > 0 {
		sort.Strings(problems)
		return errors.New(strings.Join(problems, "; "))
	}
	raw, err := jsonMarshal(tree)
	if err != nil {
		return err
	}
	opts := protojson.UnmarshalOptions{DiscardUnknown: false, Resolver: protoregistry.GlobalTypes}
	if err := opts.Unmarshal(raw, m); err != nil {
		return fmt.Errorf("decoding %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	return nil
}

// validate runs the protos' PGV rules (ValidateAll) on m and, since PGV does not
// look inside an Any, on every message packed in an Any below it, recursively.
// path names where m sits in its document.
func validate(m proto.Message, path string) error {
	var errs []error
	if v, ok := m.(interface{ ValidateAll() error }); ok {
		if err := v.ValidateAll(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %s: %w", orRoot(path), m.ProtoReflect().Descriptor().FullName(), err))
		}
	}
	walkAnys(m.ProtoReflect(), path, func(at string, a *anypb.Any) {
		inner, err := unpack(a)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", at, err))
			return
		}
		if err := validate(inner, at); err != nil {
			errs = append(errs, err)
		}
	})
	return errors.Join(errs...)
}

func orRoot(path string) string {
	if path == "" {
		return "(document)"
	}
	return path
}

// walkAnys calls fn for every Any field value below m (not inside those Anys: the
// caller recurses), with its path.
func walkAnys(m protoreflect.Message, path string, fn func(string, *anypb.Any)) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() != protoreflect.MessageKind && fd.Kind() != protoreflect.GroupKind {
			return true
		}
		at := join(path, string(fd.Name()))
		visit := func(at string, mv protoreflect.Message) {
			if a, ok := mv.Interface().(*anypb.Any); ok {
				fn(at+"<"+strings.TrimPrefix(a.GetTypeUrl(), "type.googleapis.com/")+">", a)
				return
			}
			walkAnys(mv, at, fn)
		}
		switch {
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				visit(fmt.Sprintf("%s[%d]", at, i), l.Get(i).Message())
			}
		case fd.IsMap():
			if fd.MapValue().Kind() != protoreflect.MessageKind {
				return true
			}
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				visit(fmt.Sprintf("%s[%s]", at, k.String()), mv.Message())
				return true
			})
		default:
			visit(at, v.Message())
		}
		return true
	})
}

func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}
