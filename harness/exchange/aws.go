package exchange

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/osmo-wi/charts/harness/cloud"
	"github.com/osmo-wi/charts/harness/cloudsts"
)

// The pod env aws-sdk-go-v2's default chain reads besides the web identity.
const (
	envAWSDefaultRegion       = "AWS_DEFAULT_REGION"
	envAWSRoleSessionName     = "AWS_ROLE_SESSION_NAME"
	envAWSAccessKeyID         = "AWS_ACCESS_KEY_ID"
	envAWSSecretAccessKey     = "AWS_SECRET_ACCESS_KEY"
	envAWSSessionToken        = "AWS_SESSION_TOKEN"
	envAWSMetadataDisabled    = "AWS_EC2_METADATA_DISABLED"
	envAWSMetadataEndpoint    = "AWS_EC2_METADATA_SERVICE_ENDPOINT"
	envAWSContainerCredsFull  = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
	envAWSContainerCredsRelat = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
	awsMetadataEndpoint       = "http://169.254.169.254" // the instance metadata service, imds' default
)

// aws runs aws-sdk-go-v2's credential providers as config.LoadDefaultConfig
// resolves them from the pod's AWS_* env, configured per call: the SDK is
// handed the region, the STS endpoint, the credentials provider and the HTTP
// client, and never reads (or is given) this process's environment.
func (p *proof) aws() {
	env := map[string]string{}
	for name, value := range p.env {
		if strings.HasPrefix(name, "AWS_") {
			env[name] = value
		}
	}
	p.Identity = env[cloud.EnvAWSRoleARN]
	client, err := p.awsLoopbackClient()
	if err != nil {
		p.Err = err
		return
	}
	cfg := aws.Config{Region: awsRegion(env), HTTPClient: client, Retryer: awsRetryerWithoutBackoff}
	provider, err := p.awsCredentials(env, cfg)
	if err != nil {
		p.Err = err
		return
	}
	creds, err := aws.NewCredentialsCache(provider).Retrieve(p.ctx)
	if err != nil {
		p.Err = err
		return
	}
	p.AccessToken = creds.SessionToken
}

// awsRegion is the region the SDK's environment config takes: AWS_REGION,
// else AWS_DEFAULT_REGION.
func awsRegion(env map[string]string) string {
	if region := env[cloud.EnvAWSRegion]; region != "" {
		return region
	}
	return env[envAWSDefaultRegion]
}

// awsRetryerWithoutBackoff keeps the SDK's standard retries (it retries
// InvalidIdentityToken) without the seconds of backoff between them.
func awsRetryerWithoutBackoff() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
	})
}

// awsCredentials is the provider the default chain picks from a pod's env
// (a pod has no shared config files), in the chain's order: static keys,
// then the web identity the EKS webhook injects, then container
// credentials, then the instance metadata service.
func (p *proof) awsCredentials(env map[string]string, cfg aws.Config) (aws.CredentialsProvider, error) {
	p.rewrite("the AWS SDK is configured per call from the pod's env (region %q, the providers its default chain picks); this process's AWS_* variables and ~/.aws are never read", cfg.Region)
	p.rewrite("retries kept, without backoff between them")
	switch {
	case env[envAWSAccessKeyID] != "" && env[envAWSSecretAccessKey] != "":
		return credentials.NewStaticCredentialsProvider(env[envAWSAccessKeyID], env[envAWSSecretAccessKey], env[envAWSSessionToken]), nil
	case env[cloud.EnvAWSTokenFile] != "":
		return p.awsWebIdentity(env, cfg)
	case env[envAWSContainerCredsFull] != "" || env[envAWSContainerCredsRelat] != "":
		return nil, fmt.Errorf("exchange: the pod takes container credentials (%s or %s: EKS Pod Identity or ECS), not a web identity: only IRSA is proven",
			envAWSContainerCredsFull, envAWSContainerCredsRelat)
	}
	metadata := imds.Options{HTTPClient: cfg.HTTPClient, Endpoint: awsMetadataEndpoint, ClientEnableState: imds.ClientEnabled}
	if endpoint := env[envAWSMetadataEndpoint]; endpoint != "" {
		metadata.Endpoint = endpoint
	}
	if strings.EqualFold(env[envAWSMetadataDisabled], "true") {
		metadata.ClientEnableState = imds.ClientDisabled
	}
	return ec2rolecreds.New(func(o *ec2rolecreds.Options) { o.Client = imds.New(metadata) }), nil
}

// awsWebIdentity is IRSA: AssumeRoleWithWebIdentity with the pod's token,
// sent to the stand-in wherever the pod's AWS_ENDPOINT_URL_STS points.
func (p *proof) awsWebIdentity(env map[string]string, cfg aws.Config) (aws.CredentialsProvider, error) {
	roleARN := env[cloud.EnvAWSRoleARN]
	if roleARN == "" {
		return nil, errors.New("role ARN is not set") // the SDK's own words for a token file without a role
	}
	tokenFile, err := p.presentToken(env[cloud.EnvAWSTokenFile])
	if err != nil {
		return nil, err
	}
	endpoint := p.standIn.AWSEndpoint()
	if original, ok := env[cloud.EnvAWSEndpointURLSTS]; ok {
		p.rewrite("%s=%s replaced by the stand-in's %s", cloud.EnvAWSEndpointURLSTS, original, endpoint)
	} else {
		p.rewrite("STS is the stand-in at %s (as %s=%s would make it)", endpoint, cloud.EnvAWSEndpointURLSTS, endpoint)
	}
	stsClient := sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = aws.String(endpoint) })
	return stscreds.NewWebIdentityRoleProvider(stsClient, roleARN, stscreds.IdentityTokenFile(tokenFile),
		func(o *stscreds.WebIdentityRoleOptions) { o.RoleSessionName = env[envAWSRoleSessionName] }), nil
}

// awsLoopbackClient is a client that trusts only the stand-in's CA (what
// AWS_CA_BUNDLE would make the SDK do) and refuses every host off loopback.
// The guard sits in the dialer itself (Control, and a resolver that refuses
// DNS), because parts of the SDK re-derive the transport's DialContext from
// the dialer (the IMDS client does, with WithDialerOptions); the transport's
// DialContext adds a check by host name, before any lookup.
func (p *proof) awsLoopbackClient() (*awshttp.BuildableClient, error) {
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(p.standIn.CAPEM()) {
		return nil, errors.New("exchange: the stand-in has no CA: start it before proving")
	}
	p.rewrite("only the stand-in's CA is trusted (never this machine's bundle or AWS_CA_BUNDLE)")
	refuse := func(what string) error {
		p.refuse(what)
		return fmt.Errorf("exchange: refused %s: tests may reach only loopback hosts; the AWS SDK left for a real endpoint (a pod without web identity env asks the instance metadata service)", what)
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
			tr.TLSClientConfig.RootCAs = roots
			dial := tr.DialContext
			tr.DialContext = func(ctx context.Context, network, address string) (net.Conn, error) {
				if host, _, err := net.SplitHostPort(address); err != nil || !cloudsts.IsLoopbackHost(host) {
					return nil, refuse("dial " + address)
				}
				return dial(ctx, network, address)
			}
		}), nil
}
