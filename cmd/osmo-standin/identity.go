package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"golang.org/x/oauth2/google"

	"github.com/osmo-wi/charts/harness/cloud"
)

// identityPath serves the pod's cloud identity report on every HTTP listener
// of a stand-in program.
const identityPath = "/osmo-standin/identity"

// identityReport is the outcome of exchanging the kubelet-projected token, as
// the program's cloud SDK would when it first reaches its cloud: with the real
// SDK (azidentity's workload identity credential, aws-sdk-go-v2's default
// chain, golang.org/x/oauth2/google's default credentials), from this
// process's own environment, which the webhook (Google: the chart) injected.
type identityReport struct {
	Provider cloud.Provider `json:"provider"`           // "" when the pod carries no identity
	Identity string         `json:"identity"`           // tenant/client ID, role ARN, or pool provider [as service account]
	OK       bool           `json:"ok"`                 // the cloud issued an access token
	Error    string         `json:"error,omitempty"`    // the SDK's last error
	Attempts int            `json:"attempts"`           // exchanges tried
	Settings []string       `json:"settings,omitempty"` // what the exchange sets beyond the environment
}

var identity struct {
	mu     sync.Mutex
	report identityReport
}

// startIdentity exchanges the pod's token in the background until the cloud
// accepts it (the federation may be registered after the pod starts) or ctx
// ends, every 2 s; the latest outcome is on identityPath.
func startIdentity(ctx context.Context, env map[string]string, log io.Writer) {
	exchange, report := identityExchange(env)
	identity.mu.Lock()
	identity.report = report
	identity.mu.Unlock()
	if exchange == nil {
		return
	}
	go func() {
		for attempt := 1; ; attempt++ {
			err := exchange(ctx)
			identity.mu.Lock()
			identity.report.Attempts, identity.report.OK, identity.report.Error = attempt, err == nil, ""
			if err != nil {
				identity.report.Error = err.Error()
			}
			line, _ := json.Marshal(map[string]any{"standin": "osmo-standin", "identity": identity.report})
			identity.mu.Unlock()
			if err == nil || attempt == 1 {
				fmt.Fprintln(log, string(line))
			}
			if err == nil {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(2 * time.Second):
			}
		}
	}()
}

// identityExchange picks the cloud from the environment, as the SDKs do.
func identityExchange(env map[string]string) (func(context.Context) error, identityReport) {
	switch {
	case env[cloud.EnvAzureTokenFile] != "":
		report := identityReport{Provider: cloud.Azure, Identity: env[cloud.EnvAzureTenantID] + "/" + env[cloud.EnvAzureClientID],
			Settings: []string{"DisableInstanceDiscovery: the authority is AZURE_AUTHORITY_HOST's, which Microsoft's instance discovery does not know"}}
		return func(ctx context.Context) error {
			cred, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{DisableInstanceDiscovery: true})
			if err != nil {
				return err
			}
			_, err = cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{cloud.AzureScope}})
			return err
		}, report
	case env[cloud.EnvAWSTokenFile] != "":
		report := identityReport{Provider: cloud.AWS, Identity: env[cloud.EnvAWSRoleARN]}
		return func(ctx context.Context) error {
			cfg, err := awsconfig.LoadDefaultConfig(ctx)
			if err != nil {
				return err
			}
			creds, err := cfg.Credentials.Retrieve(ctx)
			if err == nil && creds.SessionToken == "" {
				err = errors.New("STS returned no session token")
			}
			return err
		}, report
	case env[cloud.EnvGoogleCredentials] != "":
		report := identityReport{Provider: cloud.GCP, Identity: googleIdentity(env[cloud.EnvGoogleCredentials])}
		return func(ctx context.Context) error {
			creds, err := google.FindDefaultCredentials(ctx, cloud.GoogleScope)
			if err != nil {
				return err
			}
			_, err = creds.TokenSource.Token()
			return err
		}, report
	}
	return nil, identityReport{Error: "no cloud identity in the environment"}
}

// googleIdentity is what an external_account credential file asks for: the
// pool provider, and the service account it impersonates.
func googleIdentity(path string) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	var file struct {
		Audience      string `json:"audience"`
		Impersonation string `json:"service_account_impersonation_url"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		return path + " is not JSON: " + err.Error()
	}
	if _, rest, ok := strings.Cut(file.Impersonation, "/serviceAccounts/"); ok {
		return file.Audience + " as " + strings.TrimSuffix(rest, ":generateAccessToken")
	}
	return file.Audience
}

func identityHandler(w http.ResponseWriter, _ *http.Request) {
	identity.mu.Lock()
	defer identity.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(identity.report)
}

// identityMain is `osmo-standin identity [--listen ADDR]`: the exchange
// alone, its report served at identityPath on ADDR (default :8080).
func identityMain(ctx context.Context, args []string, env map[string]string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("identity", flag.ContinueOnError)
	flags.SetOutput(stderr)
	listen := flags.String("listen", ":8080", "address to serve "+identityPath+" on")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(stderr, "identity:", err)
		return 1
	}
	startIdentity(ctx, env, stdout)
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+identityPath, identityHandler)
	server := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = server.Close()
	}()
	if err := server.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(stderr, "identity:", err)
		return 1
	}
	return 0
}
