package cluster

import (
	"os"
)

// apiServerHosts are the names and addresses the API server is reached at:
// loopback from the host, the kubernetes Service from inside the cluster.
var apiServerHosts = []string{
	"127.0.0.1", kubernetesSvc, "localhost",
	"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local",
}

// writePKI creates the cluster's CA, the API server's serving cert and the
// service account signing key pair under pki/.
func writePKI(layout planeLayout) (*CertificateAuthority, error) {
	ca, err := newCertificateAuthority("osmo-local-ca")
	if err != nil {
		return nil, err
	}
	servingCert, servingKey, err := ca.IssueServingCert(apiServerHosts...)
	if err != nil {
		return nil, err
	}
	saPrivate, saPublic, err := newServiceAccountKey()
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{
		"ca.crt":        ca.CertPEM(),
		"ca.key":        ca.KeyPEM(),
		"apiserver.crt": servingCert,
		"apiserver.key": servingKey,
		"sa.key":        saPrivate,
		"sa.pub":        saPublic,
	}
	for name, data := range files {
		if err := os.WriteFile(layout.pki(name), data, 0o600); err != nil {
			return nil, err
		}
	}
	return ca, nil
}
