package cluster

import (
	"fmt"
	"path/filepath"
	"strconv"
)

// The Service network and the pod network kwok hands addresses from. The
// first Service address (10.96.0.1) is in the API server's certificate.
const (
	serviceCIDR   = "10.96.0.0/12"
	kubernetesSvc = "10.96.0.1"
	podCIDR       = "10.244.0.0/16"
)

// componentBinaries are the pinned binaries a local cluster runs, by file name in .bin/.
var componentBinaries = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}

// planeLayout names the files of one local cluster inside its state folder.
type planeLayout struct {
	dir      string
	binDir   string
	etcdPort int
	peerPort int
	apiPort  int
}

func (l planeLayout) pki(name string) string  { return filepath.Join(l.dir, "pki", name) }
func (l planeLayout) kubeconfig() string      { return filepath.Join(l.dir, "kubeconfig") }
func (l planeLayout) kwokConfig() string      { return filepath.Join(l.dir, "kwok.yaml") }
func (l planeLayout) bin(name string) string  { return filepath.Join(l.binDir, name) }
func (l planeLayout) server() string          { return "https://127.0.0.1:" + strconv.Itoa(l.apiPort) }
func (l planeLayout) etcdURL(port int) string { return "http://127.0.0.1:" + strconv.Itoa(port) }

// issuerURL is the API server's own address, so OIDC discovery works straight
// from the issuer as it does on cloud clusters.
func (l planeLayout) issuerURL() string { return l.server() }

func (l planeLayout) etcd() processSpec {
	peer := l.etcdURL(l.peerPort)
	return processSpec{name: "etcd", path: l.bin("etcd"), args: []string{
		"--name=etcd",
		"--data-dir=" + filepath.Join(l.dir, "etcd"),
		"--listen-client-urls=" + l.etcdURL(l.etcdPort),
		"--advertise-client-urls=" + l.etcdURL(l.etcdPort),
		"--listen-peer-urls=" + peer,
		"--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=etcd=" + peer,
		"--initial-cluster-state=new",
		"--unsafe-no-fsync", // test data: durability is not worth the latency
		"--log-level=warn",
	}}
}

func (l planeLayout) apiServer() processSpec {
	return processSpec{name: "kube-apiserver", path: l.bin("kube-apiserver"), args: []string{
		"--etcd-servers=" + l.etcdURL(l.etcdPort),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(l.apiPort),
		"--tls-cert-file=" + l.pki("apiserver.crt"),
		"--tls-private-key-file=" + l.pki("apiserver.key"),
		"--client-ca-file=" + l.pki("ca.crt"),
		"--authorization-mode=Node,RBAC",
		"--allow-privileged=true", // as on real clusters: Pod Security decides, not this switch
		"--service-cluster-ip-range=" + serviceCIDR,
		// No reconciler: it would publish 127.0.0.1 as the kubernetes Service's endpoint.
		"--endpoint-reconciler-type=none",
		"--service-account-issuer=" + l.issuerURL(),
		"--service-account-jwks-uri=" + l.issuerURL() + "/openid/v1/jwks",
		"--service-account-key-file=" + l.pki("sa.pub"),
		"--service-account-signing-key-file=" + l.pki("sa.key"),
	}}
}

// The controller manager and the scheduler run as admin and serve nothing
// (--secure-port=0): nobody scrapes them, and that is two fewer ports to find.
func (l planeLayout) controllerManager() processSpec {
	return processSpec{name: "kube-controller-manager", path: l.bin("kube-controller-manager"), args: []string{
		"--kubeconfig=" + l.kubeconfig(),
		"--secure-port=0",
		"--leader-elect=false",
		"--service-account-private-key-file=" + l.pki("sa.key"),
		"--root-ca-file=" + l.pki("ca.crt"),
		"--cluster-signing-cert-file=" + l.pki("ca.crt"),
		"--cluster-signing-key-file=" + l.pki("ca.key"),
		"--service-cluster-ip-range=" + serviceCIDR,
		// The fake node never dies; a busy 2-core machine can delay kwok's
		// lease renewals, and a node marked NotReady makes every pod unready.
		"--node-monitor-grace-period=3m",
		// Parallel test releases create hundreds of pods at once; the default
		// client rate limit (20 QPS) and 5 workers made rollouts wait on the controllers.
		"--kube-api-qps=500", "--kube-api-burst=1000",
		"--concurrent-deployment-syncs=20", "--concurrent-replicaset-syncs=20",
		// No metrics API runs here (kwok's pods use nothing), so the HPA controller
		// could only fail on every HPA every 15 s, writing events and scaling
		// Deployments to their minimum: hundreds of pods that prove nothing.
		"--controllers=*,-horizontal-pod-autoscaler-controller",
	}}
}

func (l planeLayout) scheduler() processSpec {
	return processSpec{name: "kube-scheduler", path: l.bin("kube-scheduler"), args: []string{
		"--kubeconfig=" + l.kubeconfig(),
		"--secure-port=0",
		"--leader-elect=false",
		"--kube-api-qps=500", "--kube-api-burst=1000", // as the controller manager
	}}
}

func (l planeLayout) kwok() processSpec {
	return processSpec{name: "kwok", path: l.bin("kwok"), args: []string{
		"--kubeconfig=" + l.kubeconfig(),
		"--config=" + l.kwokConfig(),
		"--manage-all-nodes=true",
		"--cidr=" + podCIDR,
		// The heartbeat-with-lease stage updates node status only every 10
		// minutes and expects kwok to renew a Lease, which it does only with this.
		"--node-lease-duration-seconds=40",
	}}
}

func (l planeLayout) storageAndAPI() []processSpec { return []processSpec{l.etcd(), l.apiServer()} }

func (l planeLayout) apiClients() []processSpec {
	return []processSpec{l.controllerManager(), l.scheduler(), l.kwok()}
}

func (l planeLayout) String() string {
	return fmt.Sprintf("local cluster in %s, API %s", l.dir, l.server())
}
