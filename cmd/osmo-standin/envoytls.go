package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"

	"github.com/osmo-wi/charts/harness/envoyconfig"
)

// TLS as Envoy's tls transport socket configures it, from inline certificates
// or SDS secrets (a static secret of the bootstrap, or a file of
// path_config_source): every file is read at start, so a certificate the pod
// does not mount fails the start.

// downstreamTLS is a listener's server TLS config.
func (gw *envoyGateway) downstreamTLS(ts *corev3.TransportSocket, static *bootstrapv3.Bootstrap_StaticResources) (*tls.Config, error) {
	m, err := envoyconfig.Unpack(ts.GetTypedConfig())
	if err != nil {
		return nil, err
	}
	ctx, ok := m.(*tlsv3.DownstreamTlsContext)
	if !ok {
		return nil, fmt.Errorf("%s: the stand-in serves the tls transport socket only", m.ProtoReflect().Descriptor().FullName())
	}
	common := ctx.GetCommonTlsContext()
	var certs []*tlsv3.TlsCertificate
	certs = append(certs, common.GetTlsCertificates()...)
	for _, sds := range common.GetTlsCertificateSdsSecretConfigs() {
		s, err := gw.secret(sds, static)
		if err != nil {
			return nil, err
		}
		if s.GetTlsCertificate() == nil {
			return nil, fmt.Errorf("secret %s holds no tls_certificate", sds.GetName())
		}
		certs = append(certs, s.GetTlsCertificate())
	}
	if len(certs) == 0 {
		return nil, errors.New("no tls_certificates: a TLS listener needs one")
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	for _, c := range certs {
		chain, err := gw.dataSource("certificate_chain", c.GetCertificateChain())
		if err != nil {
			return nil, err
		}
		key, err := gw.dataSource("private_key", c.GetPrivateKey())
		if err != nil {
			return nil, err
		}
		pair, err := tls.X509KeyPair(chain, key)
		if err != nil {
			return nil, envoySays(fmt.Sprintf("Failed to load certificate chain and private key: %v", err))
		}
		cfg.Certificates = append(cfg.Certificates, pair)
	}
	roots, err := gw.validationRoots(common, static)
	if err != nil {
		return nil, err
	}
	if roots != nil {
		cfg.ClientCAs = roots
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	}
	if ctx.GetRequireClientCertificate().GetValue() {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// upstreamTLS is a cluster's client TLS config: SNI as configured (none when
// unset, as Envoy sends none), the chain verified against the validation
// context's trusted CA when there is one (Envoy checks no host name unless told
// to), no verification otherwise (Envoy's default).
func (gw *envoyGateway) upstreamTLS(ts *corev3.TransportSocket, static *bootstrapv3.Bootstrap_StaticResources) (*tls.Config, error) {
	m, err := envoyconfig.Unpack(ts.GetTypedConfig())
	if err != nil {
		return nil, err
	}
	ctx, ok := m.(*tlsv3.UpstreamTlsContext)
	if !ok {
		return nil, fmt.Errorf("%s: the stand-in serves the tls transport socket only", m.ProtoReflect().Descriptor().FullName())
	}
	roots, err := gw.validationRoots(ctx.GetCommonTlsContext(), static)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{ServerName: ctx.GetSni(), InsecureSkipVerify: true, MinVersion: tls.VersionTLS12} //nolint:gosec // verified below, as Envoy verifies
	if roots != nil {
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("the upstream sent no certificate")
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
			return err
		}
	}
	return cfg, nil
}

// validationRoots are the trusted CAs of a common TLS context's validation
// context (inline or SDS), nil when it has none.
func (gw *envoyGateway) validationRoots(common *tlsv3.CommonTlsContext, static *bootstrapv3.Bootstrap_StaticResources) (*x509.CertPool, error) {
	var vc *tlsv3.CertificateValidationContext
	switch {
	case common.GetValidationContext() != nil:
		vc = common.GetValidationContext()
	case common.GetValidationContextSdsSecretConfig() != nil:
		s, err := gw.secret(common.GetValidationContextSdsSecretConfig(), static)
		if err != nil {
			return nil, err
		}
		if s.GetValidationContext() == nil {
			return nil, fmt.Errorf("secret %s holds no validation_context", s.GetName())
		}
		vc = s.GetValidationContext()
	case common.GetCombinedValidationContext() != nil:
		return nil, errors.New("combined_validation_context: not served by the stand-in")
	default:
		return nil, nil
	}
	if vc.GetTrustedCa() == nil {
		return nil, nil
	}
	pem, err := gw.dataSource("trusted_ca", vc.GetTrustedCa())
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, envoySays("Failed to load trusted CA certificates: no PEM certificate")
	}
	return pool, nil
}

// secret is the secret an SDS config names: a static secret of the bootstrap
// when it has no sds_config, else the one of that name in the file its
// path_config_source names.
func (gw *envoyGateway) secret(sds *tlsv3.SdsSecretConfig, static *bootstrapv3.Bootstrap_StaticResources) (*tlsv3.Secret, error) {
	if sds.GetSdsConfig() == nil {
		for _, s := range static.GetSecrets() {
			if s.GetName() == sds.GetName() {
				return s, nil
			}
		}
		return nil, envoySays(fmt.Sprintf("Unknown static secret: %s", sds.GetName()))
	}
	msgs, err := gw.xdsFile("sds_config "+sds.GetName(), sds.GetSdsConfig())
	if err != nil {
		return nil, err
	}
	for _, m := range msgs {
		if s, ok := m.(*tlsv3.Secret); ok && s.GetName() == sds.GetName() {
			return s, nil
		}
	}
	return nil, fmt.Errorf("%s holds no secret %q", gw.files[len(gw.files)-1], sds.GetName())
}

// dataSource is a DataSource's bytes: a file read now, inline bytes or a
// string, or an environment variable.
func (gw *envoyGateway) dataSource(what string, d *corev3.DataSource) ([]byte, error) {
	switch {
	case d.GetFilename() != "":
		data, err := gw.readFile(d.GetFilename())
		if err != nil {
			return nil, fmt.Errorf("%s: Invalid path: %s", what, d.GetFilename())
		}
		return data, nil
	case d.GetInlineBytes() != nil:
		return d.GetInlineBytes(), nil
	case d.GetInlineString() != "":
		return []byte(d.GetInlineString()), nil
	case d.GetEnvironmentVariable() != "":
		v, ok := os.LookupEnv(d.GetEnvironmentVariable())
		if !ok {
			return nil, fmt.Errorf("%s: Environment variable doesn't exist: %s", what, d.GetEnvironmentVariable())
		}
		return []byte(v), nil
	}
	return nil, fmt.Errorf("%s: empty data source", what)
}
