// Package kind_test proves, on a kind cluster with a real kubelet, what the
// local provider's kwok only fakes: probes are evaluated (a failing liveness
// probe restarts its container), run-once pods run their script and fail when
// it fails, the kubelet mounts projected service account tokens with the
// audience and lifetime asked for, restricted pods run as non-root on a
// read-only root filesystem, Services resolve and answer through CoreDNS and
// kube-proxy, and volumes bind through the default StorageClass. Then the
// charts themselves, with the OSMO stand-in images: what keeps a chart's pod
// from running (`ct install` of every ci values file, and the whole lifecycle
// suite, run on kind in the kind layer of `make test`); and identity:
// the Azure and EKS webhooks in the cluster, Google federation through the
// cluster's DNS, and the pods' programs (a chart's
// and a workflow pod's) exchanging their projected tokens with the real SDKs
// against the cloud stand-ins.
//
// The cluster is kind on the node image `make kind-image` builds
// (osmo-charts.local/kind-node), on the project's own Docker engine when
// none answers (harness/engine).
package kind_test

import (
	"context"
	"os"
	"testing"

	"github.com/osmo-wi/charts/harness/chartdir"
	"github.com/osmo-wi/charts/harness/cloud"
	"github.com/osmo-wi/charts/harness/cloudsts"
	"github.com/osmo-wi/charts/harness/cluster"
	"github.com/osmo-wi/charts/harness/cluster/clustertest"
	"github.com/osmo-wi/charts/harness/identitywebhook"
)

// standIn answers for Entra ID, AWS STS and Google STS and IAM Credentials
// (which cannot be reached here) to the pods of the kind cluster: it listens
// on this machine's address on the kind network, the Azure webhook injects it
// as AZURE_AUTHORITY_HOST, the AWS SDK finds it in AWS_ENDPOINT_URL_STS, and
// the cluster's DNS resolves Google's hosts to it.
var standIn = &cloudsts.Server{}

// noGoogle says why Google's hosts do not reach the stand-in ("" when they do).
var noGoogle string

func TestMain(m *testing.M) {
	code := clustertest.Run(m, cluster.Options{Provider: cluster.ProviderKind, Kind: cluster.KindOptions{
		AfterStart: []func(context.Context, *cluster.Kind) error{func(ctx context.Context, k *cluster.Kind) error {
			addr, err := k.HostAddress(ctx)
			if err != nil {
				return err
			}
			// Google's SDK calls the URLs the chart's credential file names
			// (sts.googleapis.com, iamcredentials.googleapis.com): the
			// cluster's DNS sends them here, to port 443, as a private zone would.
			// A user who is not root may not listen there: then the stand-in
			// takes a free port, and only the Google test skips.
			standIn.Addr, standIn.Port, standIn.Hosts = addr, 443, cloud.GoogleHosts
			if err := standIn.Start(ctx); err != nil {
				noGoogle = err.Error()
				standIn.Port = 0
				if err := standIn.Start(ctx); err != nil {
					return err
				}
			} else if err := k.ResolveHosts(ctx, addr, cloud.GoogleHosts...); err != nil {
				return err
			}
			return identitywebhook.InCluster(identitywebhook.Options{AzureAuthorityHost: standIn.EntraAuthorityHost()})(ctx, k)
		}},
	}})
	_ = standIn.Stop()
	chartdir.RemoveShared()
	os.Exit(code)
}
