package identity_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"github.com/osmo-wi/charts/harness/cloud"
	"github.com/osmo-wi/charts/harness/cloudsts"
	"github.com/osmo-wi/charts/harness/cluster/clustertest"
	"github.com/osmo-wi/charts/harness/exchange"
	"github.com/osmo-wi/charts/harness/project"
	"github.com/osmo-wi/charts/harness/scenario"
)

// BenchmarkExchangeProof times the full exchange proof for the four charts
// under the three clouds (aks-workload-identity, eks-irsa,
// gcp-workload-identity-federation): for every admitted pod and container, a
// TokenRequest bound to the pod, the real SDK run, the stand-in's
// verification (discovery and JWKS read from the API server every time), all
// proofs at once. Installs are excluded from the timed loop and reported
// separately as install-s.
//
// Metrics: proof-s (wall time of one full proof round), proofs (containers
// proven per round), slowest-proof-ms, install-s (the 12 helm installs, run
// concurrently, once).
func BenchmarkExchangeProof(b *testing.B) {
	c := local(b)

	type target struct {
		pod   corev1.Pod
		fed   exchange.Federation
		stand *cloudsts.Server
	}
	var clouds []exchangeScenario
	for _, sc := range exchangeScenarios {
		if sc.name != "aks-workload-identity-shortcut" { // one scenario per cloud
			clouds = append(clouds, sc)
		}
	}
	namespaces := map[string]string{}
	jobs := map[string]func() error{}
	installStart := time.Now()
	for _, sc := range clouds {
		s, err := scenario.Get(sc.name, project.Charts)
		require.NoError(b, err)
		namespaces[sc.name] = clustertest.Namespace(b, c, "restricted")
		for _, chart := range project.Charts {
			preProvision(b, namespaces[sc.name], s.ValuesFile(chart))
			jobs[sc.name+"/"+chart] = exchangeInstallJob(b, namespaces[sc.name], "osmo-"+chart, chartDir(b, chart), s.ValuesFile(chart))
		}
	}
	for name, err := range exchangeConcurrently(jobs) {
		require.NoError(b, err, name)
	}
	installSeconds := time.Since(installStart).Seconds()

	var targets []target
	for _, sc := range clouds {
		s, err := scenario.Get(sc.name, project.Charts)
		require.NoError(b, err)
		for _, chart := range project.Charts {
			release := "osmo-" + chart
			fed := exchangeFederation(b, sc.identity, namespaces[sc.name], exchangeAccount(b, release, chart, s.ValuesFile(chart)))
			stand := standIn
			if fed.Provider != cloud.Azure { // one trusted subject per role/provider: a stand-in per account
				stand = &cloudsts.Server{}
				require.NoError(b, stand.Start(b.Context()))
				b.Cleanup(func() { stand.Stop() })
			}
			require.NoError(b, fed.Register(stand))
			for _, pod := range workloadPods(b, namespaces[sc.name], "app.kubernetes.io/instance="+release) {
				targets = append(targets, target{pod: pod, fed: fed, stand: stand})
			}
		}
	}

	var round, slowest time.Duration
	proofs := 0
	for b.Loop() {
		began := time.Now()
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			failures []string
		)
		slowest, proofs = 0, 0
		for _, tg := range targets {
			for _, container := range tg.pod.Spec.Containers {
				proofs++
				wg.Go(func() {
					r := exchange.ProveWith(b.Context(), c.Client(), &tg.pod, tg.stand, exchange.Options{Container: container.Name})
					mu.Lock()
					defer mu.Unlock()
					slowest = max(slowest, r.Duration)
					if !r.OK() || r.Subject != tg.fed.Subject() {
						failures = append(failures, fmt.Sprint(r))
					}
				})
			}
		}
		wg.Wait()
		round = time.Since(began)
		require.Empty(b, failures, "every proof must succeed")
	}
	b.ReportMetric(round.Seconds(), "proof-s")
	b.ReportMetric(float64(proofs), "proofs")
	b.ReportMetric(float64(slowest.Milliseconds()), "slowest-proof-ms")
	b.ReportMetric(installSeconds, "install-s")
}
