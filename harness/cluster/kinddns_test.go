package cluster

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// kind's CoreDNS Corefile (kubeadm's default), as the ConfigMap holds it.
const kindCorefile = `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30
    loop
    reload
    loadbalance
}
`

func TestWithHostsGoesFirstInTheRootZone(t *testing.T) {
	got, err := withHosts(kindCorefile, "172.18.0.1", []string{"sts.googleapis.com", "iamcredentials.googleapis.com"})
	require.NoError(t, err)
	const root = ".:53 {\n"
	assert.Equal(t, root+"    hosts {\n        172.18.0.1 sts.googleapis.com iamcredentials.googleapis.com\n        fallthrough\n    }\n"+kindCorefile[len(root):], got,
		"the hosts block first (ahead of the forwarder), the rest as it was")
}

func TestWithHostsNeedsTheRootZone(t *testing.T) {
	_, err := withHosts("example.org:53 {\n    whoami\n}\n", "172.18.0.1", []string{"sts.googleapis.com"})
	assert.EqualError(t, err, "no \".:53 {\" server block in:\nexample.org:53 {\n    whoami\n}")
}
