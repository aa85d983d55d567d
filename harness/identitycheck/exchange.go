package identitycheck

import (
	"context"
	"fmt"
	"net/url"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/osmo-wi/charts/harness/cloud"
	"github.com/osmo-wi/charts/harness/cloudsts"
	"github.com/osmo-wi/charts/harness/exchange"
)

// ProveExchanges runs, for every checked pod that would get its identity, the
// federated token exchange against loopback stand-ins for the clouds' token
// endpoints (Entra ID, AWS STS, Google STS; the real ones cannot be reached
// from here): the token the kubelet would project into the pod, the real cloud
// SDK with the pod's env, and a cloud that trusts the subject and issuer this
// report tells you to register. A refused exchange becomes a problem with the
// cloud's error. It needs the cluster's issuer on loopback (the local
// cluster); caPEM is the cluster CA the issuer serves with.
func (r *Report) ProveExchanges(ctx context.Context, client kubernetes.Interface, caPEM []byte) error {
	if r.Issuer == "" {
		return fmt.Errorf("--exchange: the cluster's issuer is unknown (%s)", r.IssuerError)
	}
	if !loopbackURL(r.Issuer) {
		return fmt.Errorf("--exchange proves against local stand-ins of the clouds, which must read the issuer's keys: the issuer %s is not on loopback (use it with the local cluster, `make cluster-up`)", r.Issuer)
	}
	issuer, err := exchange.KubernetesIssuer(r.Issuer, caPEM)
	if err != nil {
		return err
	}
	for i := range r.Pods {
		p := &r.Pods[i]
		if p.Kind != "Pod" || !p.OK || p.Provider == cloud.GCP && !p.Federation {
			continue // GKE's metadata server serves the identity: no token in the pod to exchange
		}
		pod, err := client.CoreV1().Pods(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		result := exchange.ProveTrusted(ctx, client, pod, issuer, exchange.Options{})
		p.Exchange = &ExchangeResult{Cloud: string(result.Provider), Identity: result.Identity, Accepted: result.OK()}
		if !result.OK() {
			p.Exchange.Error = result.Err.Error()
			p.AddProblem("the cloud stand-in refused the token exchange: "+firstLine(result.Err.Error()),
				"compare the federated credential / trust policy with the subject and issuer above, and the token audience with the cloud's")
		}
	}
	return nil
}

// ExchangeResult is what the cloud stand-in answered for a pod (--exchange).
type ExchangeResult struct {
	Cloud    string `json:"cloud"`    // the provider whose stand-in answered
	Identity string `json:"identity"` // the client id, role or provider the token was exchanged for
	Accepted bool   `json:"accepted"`
	Error    string `json:"error,omitempty"`
}

func loopbackURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && cloudsts.IsLoopbackHost(u.Hostname())
}
