package identitycheck

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/osmo-wi/charts/harness/cloud"
)

// Report is what Check found. json.Marshal gives its stable machine form.
type Report struct {
	Namespace   string      `json:"namespace"`
	Selector    string      `json:"selector"`              // "" means every pod in the namespace
	Issuer      string      `json:"issuer"`                // the cluster's token issuer; "" when unreadable
	IssuerError string      `json:"issuerError,omitempty"` // why the issuer could not be read
	Pods        []PodReport `json:"pods"`                  // pods by name, then Deployments that have no pod
}

// PodReport is one pod (or one Deployment whose pods could not be created).
type PodReport struct {
	Namespace            string              `json:"namespace"`
	Name                 string              `json:"name"`
	Kind                 string              `json:"kind"`                 // "Pod", or "Deployment" when it has no pod to check
	Owner                string              `json:"owner,omitempty"`      // controller to restart, e.g. deployment/osmo-router
	Provider             cloud.Provider      `json:"provider"`             // "" when none is configured
	Federation           bool                `json:"federation,omitempty"` // GCP outside GKE: the pod exchanges a pool token itself
	Evidence             string              `json:"evidence"`             // what the provider was detected from
	ServiceAccount       string              `json:"serviceAccount"`
	ServiceAccountExists bool                `json:"serviceAccountExists"`
	AccountAnnotation    string              `json:"accountAnnotation,omitempty"` // the identity annotation on the account, key=value
	PodLabel             string              `json:"podLabel,omitempty"`          // the label the provider needs on the pod, key=value (Azure)
	Containers           []ContainerIdentity `json:"containers"`
	Token                *Token              `json:"token,omitempty"` // the projected token the cloud SDK reads
	Subject              string              `json:"subject"`         // the federated-credential subject to register
	Issuer               string              `json:"issuer"`          // the issuer to register with it
	CloudPrincipal       string              `json:"cloudPrincipal,omitempty"`
	OK                   bool                `json:"ok"`
	Problems             []Problem           `json:"problems,omitempty"`
	Notes                []string            `json:"notes,omitempty"`
	Exchange             *ExchangeResult     `json:"exchange,omitempty"` // with --exchange: what the cloud stand-in answered
}

// ContainerIdentity is the identity env of one container (other env is left out).
type ContainerIdentity struct {
	Name    string            `json:"name"`
	Init    bool              `json:"init,omitempty"`
	Program []string          `json:"program,omitempty"` // command and arguments; empty: the image's entrypoint
	Env     map[string]string `json:"env"`
}

// Token is a projected ServiceAccount token volume as a container sees it.
type Token struct {
	Volume            string `json:"volume"`
	Audience          string `json:"audience"`
	MountPath         string `json:"mountPath"`
	File              string `json:"file"`
	ExpirationSeconds int64  `json:"expirationSeconds,omitempty"`
}

// Problem is why a pod would not get its identity, and what to do about it.
type Problem struct {
	Reason string `json:"reason"`
	Fix    string `json:"fix"`
}

// OK reports whether every pod would get its identity (false when there is none).
func (r *Report) OK() bool {
	if len(r.Pods) == 0 {
		return false
	}
	for _, p := range r.Pods {
		if !p.OK {
			return false
		}
	}
	return true
}

// Failing are the pods that would not get their identity.
func (r *Report) Failing() []*PodReport {
	var failing []*PodReport
	for i := range r.Pods {
		if !r.Pods[i].OK {
			failing = append(failing, &r.Pods[i])
		}
	}
	return failing
}

// AddProblem records a problem found after Check (e.g. a failed token
// exchange) and marks the pod as failing.
func (p *PodReport) AddProblem(reason, fix string) {
	p.addProblem(reason, fix)
	p.OK = false
}

func (p *PodReport) addProblem(reason, fix string) {
	for _, known := range p.Problems {
		if known.Reason == reason {
			return
		}
	}
	p.Problems = append(p.Problems, Problem{Reason: reason, Fix: fix})
}

// Status is the STATUS column: OK, or NOT OK with the number of problems.
func (p *PodReport) Status() string {
	if p.OK {
		return "OK"
	}
	if len(p.Problems) == 1 {
		return "NOT OK (1 problem)"
	}
	return fmt.Sprintf("NOT OK (%d problems)", len(p.Problems))
}

// providerName is the PROVIDER column: the provider, or "none".
func (p *PodReport) providerName() string {
	if p.Provider == "" {
		return "none"
	}
	return string(p.Provider)
}

// displayName is the POD column: the pod's name, or kind/name for a Deployment.
func (p *PodReport) displayName() string {
	if p.Kind == "Pod" || p.Kind == "" {
		return p.Name
	}
	return strings.ToLower(p.Kind) + "/" + p.Name
}

// WriteTable writes one aligned row per pod (POD, PROVIDER, ACCOUNT, STATUS),
// then each pod's details: account, label, env, token, subject, issuer, and
// every problem with its fix.
func (r *Report) WriteTable(out io.Writer) error {
	w := &errWriter{w: out}
	scope := "every pod"
	if r.Selector != "" {
		scope = "selector " + r.Selector
	}
	w.printf("Namespace %s, %s\n\n", r.Namespace, scope)

	table := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(table, "POD\tPROVIDER\tACCOUNT\tSTATUS")
	for i := range r.Pods {
		p := &r.Pods[i]
		account := p.ServiceAccount
		if !p.ServiceAccountExists {
			account += " (not found)"
		}
		fmt.Fprintf(table, "%s\t%s\t%s\t%s\n", p.displayName(), p.providerName(), account, p.Status())
	}
	if err := table.Flush(); err != nil {
		return err
	}
	for i := range r.Pods {
		w.printf("\n")
		r.writeDetails(w, &r.Pods[i])
	}
	failing := len(r.Failing())
	w.printf("\n%d of %d would get their identity", len(r.Pods)-failing, len(r.Pods))
	if failing > 0 {
		w.printf("; fix the problems above and run the check again")
	}
	w.printf(".\n")
	return w.err
}

func (r *Report) writeDetails(w *errWriter, p *PodReport) {
	line := func(label, format string, args ...any) {
		w.printf("  %-11s %s\n", label, fmt.Sprintf(format, args...))
	}
	w.printf("%s %s: %s\n", p.Kind, p.Name, p.Status())
	setup := p.providerName()
	if p.Federation {
		setup += ", workload identity federation outside GKE"
	}
	line("provider", "%s (%s)", setup, p.Evidence)
	account := p.ServiceAccount
	if !p.ServiceAccountExists {
		account += " (does not exist)"
	}
	if p.AccountAnnotation != "" {
		account += ", " + p.AccountAnnotation
	}
	line("account", "%s", account)
	if p.Provider == cloud.Azure {
		label := p.PodLabel
		if label == "" {
			label = fmt.Sprintf("missing (%s: \"true\" needed)", cloud.AzureUseLabel)
		}
		line("pod label", "%s", label)
	}
	for _, c := range p.Containers {
		name := c.Name
		if c.Init {
			name += " (init)"
		}
		line("program", "%s: %s", name, programLine(c.Program))
	}
	for _, c := range p.Containers {
		name := c.Name
		if c.Init {
			name += " (init)"
		}
		if len(c.Env) == 0 {
			line("env", "%s: none", name)
			continue
		}
		keys := make([]string, 0, len(c.Env))
		for k := range c.Env {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			if i == 0 {
				line("env", "%s: %s=%s", name, k, c.Env[k])
			} else {
				line("", "%s  %s=%s", strings.Repeat(" ", len(name)), k, c.Env[k])
			}
		}
	}
	if p.Token != nil {
		line("token", "%s (volume %s at %s, audience %s)", p.Token.File, p.Token.Volume, p.Token.MountPath, p.Token.Audience)
	}
	line("subject", "%s", p.Subject)
	if p.Issuer != "" {
		line("issuer", "%s", p.Issuer)
	} else {
		line("issuer", "unknown: %s (try kubectl get --raw /.well-known/openid-configuration)", r.IssuerError)
	}
	if p.CloudPrincipal != "" {
		line("principal", "%s", p.CloudPrincipal)
	}
	if x := p.Exchange; x != nil {
		verdict := "accepted: an access token was issued"
		if !x.Accepted {
			verdict = "REFUSED"
		}
		line("exchange", "%s stand-in, %s: %s", x.Cloud, x.Identity, verdict)
	}
	for _, note := range p.Notes {
		line("note", "%s", note)
	}
	for _, problem := range p.Problems {
		line("problem", "%s", problem.Reason)
		line("  fix", "%s", problem.Fix)
	}
}

// errWriter keeps the first write error so WriteTable checks it once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(b []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(b)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }

// programLine is a command line as a shell would show it; arguments that are
// empty or hold spaces are quoted.
func programLine(program []string) string {
	if len(program) == 0 {
		return "the image's entrypoint"
	}
	words := make([]string, len(program))
	for i, word := range program {
		if word == "" || strings.ContainsAny(word, " \t\"'") {
			word = strconv.Quote(word)
		}
		words[i] = word
	}
	return strings.Join(words, " ")
}
