package exchange

import (
	"github.com/osmo-wi/charts/harness/cloudsts"
)

// KubernetesIssuer is a cluster's service account issuer as a cloud registers
// it: tokens carry url as iss, and discovery and keys are read from url with a
// loopback-only client trusting caPEM (the cluster CA).
func KubernetesIssuer(url string, caPEM []byte) (cloudsts.Issuer, error) {
	client, err := cloudsts.NewLoopbackClient(caPEM)
	if err != nil {
		return cloudsts.Issuer{}, err
	}
	return cloudsts.Issuer{URL: url, CAPEM: caPEM, HTTPClient: client}, nil
}
