package exchange

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/osmo-wi/charts/tests/harness/cloudsts"

	"github.com/osmo-wi/charts/tests/harness/cloud"
)

// awsEnvMu serializes the AWS default chain's config loading, the one step
// that needs the pod's env in the process environment.
var awsEnvMu sync.Mutex

// aws runs aws-sdk-go-v2's default credential chain (config.LoadDefaultConfig,
// what an unmodified application calls) configured by the pod's AWS_* env.
func (p *proof) aws() {
	env := map[string]string{}
	for name, value := range p.env {
		if strings.HasPrefix(name, "AWS_") {
			env[name] = value
		}
	}
	p.Identity = env[cloud.EnvAWSRoleARN]
	if inPod := env[cloud.EnvAWSTokenFile]; inPod != "" {
		host, err := p.presentToken(inPod)
		if err != nil {
			p.Err = err
			return
		}
		env[cloud.EnvAWSTokenFile] = host
	}
	if original, ok := env["AWS_ENDPOINT_URL_STS"]; ok {
		p.rewrite("AWS_ENDPOINT_URL_STS=%s replaced by the stand-in's %s", original, p.standIn.AWSEndpoint())
	} else {
		p.rewrite("AWS_ENDPOINT_URL_STS=%s added: the stand-in answers for STS", p.standIn.AWSEndpoint())
	}
	env["AWS_ENDPOINT_URL_STS"] = p.standIn.AWSEndpoint()
	caFile, err := p.standIn.WriteCAFile(p.files.root)
	if err != nil {
		p.Err = err
		return
	}
	env["AWS_CA_BUNDLE"] = caFile
	p.rewrite("AWS_CA_BUNDLE=%s: only the stand-in's CA is trusted (never this machine's bundle)", caFile)
	env["AWS_CONFIG_FILE"] = filepath.Join(p.files.root, "absent-aws-config")
	env["AWS_SHARED_CREDENTIALS_FILE"] = filepath.Join(p.files.root, "absent-aws-credentials")
	p.rewrite("AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE name absent files: the pod has no ~/.aws, and this machine's must not leak in")
	p.rewrite("retries kept, without backoff between them")

	var cfg aws.Config
	err = withProcessEnv("AWS_", env, func() error {
		var err error
		cfg, err = config.LoadDefaultConfig(p.ctx,
			config.WithHTTPClient(p.awsLoopbackClient()),
			config.WithRetryer(func() aws.Retryer {
				return retry.NewStandard(func(o *retry.StandardOptions) {
					o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
				})
			}))
		return err
	})
	if err != nil {
		p.Err = err
		return
	}
	creds, err := cfg.Credentials.Retrieve(p.ctx)
	if err != nil {
		p.Err = err
		return
	}
	p.AccessToken = creds.SessionToken
}

// awsLoopbackClient is a client the SDK can still configure (it adds
// AWS_CA_BUNDLE only to a client it builds) that refuses every host off
// loopback. The guard sits in the dialer itself (Control, and a resolver that
// refuses DNS), because parts of the SDK re-derive the transport's DialContext
// from the dialer (the IMDS client does, with WithDialerOptions); the
// transport's DialContext adds a check by host name, before any lookup.
func (p *proof) awsLoopbackClient() *awshttp.BuildableClient {
	refuse := func(what string) error {
		p.refuse(what)
		return fmt.Errorf("exchange: refused %s: tests may reach only loopback hosts; the AWS SDK left for a real endpoint (is AWS_ENDPOINT_URL_STS honoured? a pod without web identity env asks the instance metadata service)", what)
	}
	return awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) {
			d.Timeout = 10 * time.Second
			d.Control = func(network, address string, _ syscall.RawConn) error {
				if host, _, err := net.SplitHostPort(address); err != nil || !cloudsts.IsLoopbackHost(host) {
					return refuse("dial " + address)
				}
				return nil
			}
			d.Resolver = &net.Resolver{PreferGo: true, Dial: func(_ context.Context, network, address string) (net.Conn, error) {
				return nil, refuse("DNS lookup through " + address)
			}}
		}).
		WithTransportOptions(func(tr *http.Transport) {
			tr.Proxy = nil
			dial := tr.DialContext
			tr.DialContext = func(ctx context.Context, network, address string) (net.Conn, error) {
				if host, _, err := net.SplitHostPort(address); err != nil || !cloudsts.IsLoopbackHost(host) {
					return nil, refuse("dial " + address)
				}
				return dial(ctx, network, address)
			}
		})
}

// withProcessEnv runs fn with every process variable starting with prefix
// replaced by env, then restores them; calls are serialized. Only fn's own
// reads are meant to see env: keep fn short.
func withProcessEnv(prefix string, env map[string]string, fn func() error) error {
	awsEnvMu.Lock()
	defer awsEnvMu.Unlock()
	saved := map[string]string{}
	for _, kv := range os.Environ() {
		name, value, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, prefix) {
			saved[name] = value
			os.Unsetenv(name)
		}
	}
	defer func() {
		for name := range env {
			os.Unsetenv(name)
		}
		for name, value := range saved {
			os.Setenv(name, value)
		}
	}()
	for name, value := range env {
		if err := os.Setenv(name, value); err != nil {
			return err
		}
	}
	return fn()
}
