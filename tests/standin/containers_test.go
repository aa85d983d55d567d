// Package standin_test proves that every OSMO program the charts start would
// accept its command line and environment: each container (and init container,
// and exec probe) of an OSMO image, in every chart × scenario and every OSMO
// values file, parsed as the real program parses it (harness/osmoprogram), its
// probes aimed at what that program serves; and that the cmd/osmo-standin binary
// does the same when started. No cluster; the binary runs on loopback.
package standin_test

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/osmo-wi/charts/harness/osmoprogram"
	"github.com/osmo-wi/charts/harness/project"
	"github.com/osmo-wi/charts/harness/render"
	"github.com/osmo-wi/charts/harness/scenario"
)

var release = render.Release{Name: "osmo", Namespace: "osmo"}

// valuesCase is one values file of a chart: a scenario's, or one of OSMO's own
// under tests/render/testdata/osmo/<chart>/.
type valuesCase struct {
	name  string
	chart string
	files []string
}

func valuesCases(t *testing.T) []valuesCase {
	t.Helper()
	scenarios, err := scenario.All(render.Charts)
	require.NoError(t, err)
	var out []valuesCase
	for _, chart := range render.Charts {
		for _, s := range scenarios {
			out = append(out, valuesCase{name: chart + "/" + s.Name, chart: chart, files: []string{s.ValuesFile(chart)}})
		}
		files, err := filepath.Glob(project.Path("tests", "render", "testdata", "osmo", chart, "*.yaml"))
		require.NoError(t, err)
		require.NotEmpty(t, files, chart)
		for _, f := range files {
			out = append(out, valuesCase{name: chart + "/osmo/" + strings.TrimSuffix(filepath.Base(f), ".yaml"), chart: chart, files: []string{f}})
		}
	}
	return out
}

// podSpec is one pod the release would run, with where it comes from.
type podSpec struct {
	owner string
	spec  corev1.PodSpec
}

// podSpecs are the pod templates of a render: workloads, hooks, and the backend
// test runner's CronJob, which the chart ships inside a ConfigMap for the worker.
func podSpecs(t *testing.T, r *render.Result) []podSpec {
	t.Helper()
	var out []podSpec
	for _, d := range render.Objects[*appsv1.Deployment](r) {
		out = append(out, podSpec{"Deployment/" + d.Name, d.Spec.Template.Spec})
	}
	for _, s := range render.Objects[*appsv1.StatefulSet](r) {
		out = append(out, podSpec{"StatefulSet/" + s.Name, s.Spec.Template.Spec})
	}
	for _, d := range render.Objects[*appsv1.DaemonSet](r) {
		out = append(out, podSpec{"DaemonSet/" + d.Name, d.Spec.Template.Spec})
	}
	for _, j := range render.Objects[*batchv1.Job](r) {
		out = append(out, podSpec{"Job/" + j.Name, j.Spec.Template.Spec})
	}
	for _, c := range render.Objects[*batchv1.CronJob](r) {
		out = append(out, podSpec{"CronJob/" + c.Name, c.Spec.JobTemplate.Spec.Template.Spec})
	}
	for _, p := range render.Objects[*corev1.Pod](r) {
		out = append(out, podSpec{"Pod/" + p.Name, p.Spec})
	}
	for _, cm := range render.Objects[*corev1.ConfigMap](r) {
		text, ok := cm.Data["spec.yaml"]
		if !ok {
			continue
		}
		var cron batchv1.CronJob
		require.NoError(t, yaml.Unmarshal([]byte(text), &cron), "ConfigMap/%s spec.yaml", cm.Name)
		if cron.Kind == "CronJob" {
			out = append(out, podSpec{"ConfigMap/" + cm.Name + " spec.yaml CronJob", cron.Spec.JobTemplate.Spec.Template.Spec})
		}
	}
	return out
}

// osmoImage is the OSMO image name of a reference (".../osmo/router:6.4.0" →
// "router"), and false for any other image.
func osmoImage(reference string) (string, bool) {
	name := reference
	if i := strings.Index(name, "@"); i >= 0 {
		name = name[:i]
	}
	name = name[strings.LastIndex(name, "/")+1:]
	if i := strings.Index(name, ":"); i >= 0 {
		name = name[:i]
	}
	for _, n := range osmoprogram.ImageNames() {
		if n == name {
			return name, true
		}
	}
	return "", false
}

// started is one OSMO program a container starts, as the kubelet starts it.
type started struct {
	where   string // "<case>: <owner> container <name>"
	image   string
	program string
	args    []string
	env     map[string]string
	unknown []string // envFrom sources whose keys cannot be known from the render
	inv     *osmoprogram.Invocation
	err     error
	c       corev1.Container
}

// kubeletEnv is a container's environment as the kubelet builds it: envFrom
// first (ConfigMaps of the release expanded), then env in order with $(VAR)
// references expanded; a valueFrom entry is present, with the value the kubelet
// would give when the render can tell it.
func kubeletEnv(r *render.Result, pod corev1.PodSpec, c corev1.Container) (map[string]string, []string) {
	env := map[string]string{}
	var unknown []string
	configMaps := map[string]map[string]string{}
	for _, cm := range render.Objects[*corev1.ConfigMap](r) {
		configMaps[cm.Name] = cm.Data
	}
	for _, from := range c.EnvFrom {
		switch {
		case from.ConfigMapRef != nil && configMaps[from.ConfigMapRef.Name] != nil:
			for k, v := range configMaps[from.ConfigMapRef.Name] {
				env[from.Prefix+k] = v
			}
		case from.ConfigMapRef != nil:
			unknown = append(unknown, "ConfigMap "+from.ConfigMapRef.Name)
		case from.SecretRef != nil:
			unknown = append(unknown, "Secret "+from.SecretRef.Name)
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = expand(e.Value, env)
		case e.ValueFrom.FieldRef != nil:
			env[e.Name] = map[string]string{
				"metadata.namespace": release.Namespace, "metadata.name": "pod-0", "spec.nodeName": "node-0",
				"spec.serviceAccountName": pod.ServiceAccountName, "status.podIP": "10.0.0.10", "status.hostIP": "10.0.0.1",
			}[e.ValueFrom.FieldRef.FieldPath]
		case e.ValueFrom.ConfigMapKeyRef != nil && configMaps[e.ValueFrom.ConfigMapKeyRef.Name] != nil:
			env[e.Name] = configMaps[e.ValueFrom.ConfigMapKeyRef.Name][e.ValueFrom.ConfigMapKeyRef.Key]
		case e.ValueFrom.SecretKeyRef != nil:
			env[e.Name] = "secret-" + e.ValueFrom.SecretKeyRef.Name + "-" + e.ValueFrom.SecretKeyRef.Key
		default:
			env[e.Name] = "from-" + e.Name
		}
	}
	return env, unknown
}

var reference = regexp.MustCompile(`\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)`)

// expand is the kubelet's $(VAR) expansion: a defined variable is replaced, an
// undefined reference is left as written, $$ is a literal $.
func expand(text string, env map[string]string) string {
	return reference.ReplaceAllStringFunc(text, func(m string) string {
		if m == "$$" {
			return "$"
		}
		if v, ok := env[m[2:len(m)-1]]; ok {
			return v
		}
		return m
	})
}

func expandAll(list []string, env map[string]string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = expand(s, env)
	}
	return out
}

// start is the program an OSMO container runs, parsed. ok is false for a
// container of another image. A container is OSMO's when its image has an OSMO
// image name, or its command is an OSMO program (values may rename an image).
func start(r *render.Result, where string, pod corev1.PodSpec, c corev1.Container) (started, bool) {
	image, isOSMO := osmoImage(c.Image)
	if len(c.Command) > 0 {
		if _, ok := osmoprogram.Lookup(filepath.Base(c.Command[0])); ok {
			isOSMO = true
		}
	}
	if !isOSMO {
		return started{}, false
	}
	env, unknown := kubeletEnv(r, pod, c)
	s := started{where: where, image: image, env: env, unknown: unknown, c: c}
	argv, ok := osmoprogram.ImageCommand(image, expandAll(c.Command, env), expandAll(c.Args, env))
	if !ok {
		s.err = fmt.Errorf("image %s has no entrypoint and the container no command: which program runs is unknown", c.Image)
		return s, true
	}
	s.program, s.args = filepath.Base(argv[0]), argv[1:]
	s.inv, s.err = parse(s.image, s.program, s.args, env)
	return s, true
}

// parse is osmoprogram.Parse, also refusing a program an OSMO image does not
// hold (image is "" for an image renamed by the values: then any program).
func parse(image, program string, args []string, env map[string]string) (*osmoprogram.Invocation, error) {
	p, ok := osmoprogram.Lookup(program)
	if ok && image != "" && !p.Holds(image) {
		return nil, fmt.Errorf("%s: not in the %s image (it is in %s): exec would fail", program, image, strings.Join(p.Images, ", "))
	}
	return osmoprogram.Parse(program, args, env)
}

// containers runs start on every container and init container of a render.
func containers(t *testing.T, name string, r *render.Result) []started {
	t.Helper()
	var out []started
	for _, p := range podSpecs(t, r) {
		for _, group := range []struct {
			kind string
			list []corev1.Container
		}{{"init container", p.spec.InitContainers}, {"container", p.spec.Containers}} {
			for _, c := range group.list {
				if s, ok := start(r, fmt.Sprintf("%s: %s %s %s", name, p.owner, group.kind, c.Name), p.spec, c); ok {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// probeProblems are the ways a container's probes miss what its program serves:
// an exec probe the image's program would refuse, a progress_check on files the
// program never writes, an HTTP path or port it does not serve.
func probeProblems(s started) []string {
	if s.inv == nil {
		return nil
	}
	serves := s.inv.Serves()
	var problems []string
	for _, probe := range []struct {
		kind  string
		probe *corev1.Probe
	}{{"liveness", s.c.LivenessProbe}, {"readiness", s.c.ReadinessProbe}, {"startup", s.c.StartupProbe}} {
		if probe.probe == nil {
			continue
		}
		h := probe.probe.ProbeHandler
		say := func(format string, args ...any) {
			problems = append(problems, fmt.Sprintf("%s probe: %s", probe.kind, fmt.Sprintf(format, args...)))
		}
		switch {
		case h.Exec != nil:
			argv := expandAll(h.Exec.Command, s.env)
			if len(argv) == 0 {
				say("exec with no command")
				continue
			}
			program := filepath.Base(argv[0])
			inv, err := parse(s.image, program, argv[1:], s.env)
			if err != nil {
				say("%v", err)
				continue
			}
			if program == "progress_check" {
				intervals := strings.Split(inv.Text("progress_interval"), ":")
				files := strings.Split(inv.Text("progress_file"), ":")
				if len(intervals) != len(files) {
					say("progress_check: Must provide same number of intervals and files! (%d intervals, %d files)", len(intervals), len(files))
				}
				for _, f := range files {
					if !contains(serves.ProgressFiles, f) {
						say("progress_check reads %s, which %s never writes (it writes %v)", f, s.program, serves.ProgressFiles)
					}
				}
			}
		case h.HTTPGet != nil:
			port := portNumber(s.c, h.HTTPGet.Port)
			path, _, _ := strings.Cut(h.HTTPGet.Path, "?")
			l, ok := listenerOn(serves, port)
			switch {
			case !ok:
				say("GET %s on port %s: %s listens on %v", h.HTTPGet.Path, h.HTTPGet.Port.String(), s.program, ports(serves))
			case l.Protocol != "http" || !contains(l.Paths, path):
				say("GET %s on port %d: %s serves %v there", h.HTTPGet.Path, port, s.program, l.Paths)
			}
		case h.GRPC != nil:
			if l, ok := listenerOn(serves, int(h.GRPC.Port)); !ok || l.Protocol != "grpc" {
				say("gRPC on port %d: %s serves gRPC on %v", h.GRPC.Port, s.program, ports(serves))
			}
		case h.TCPSocket != nil:
			if _, ok := listenerOn(serves, portNumber(s.c, h.TCPSocket.Port)); !ok {
				say("TCP port %s: %s listens on %v", h.TCPSocket.Port.String(), s.program, ports(serves))
			}
		}
	}
	return problems
}

func portNumber(c corev1.Container, port intstr.IntOrString) int {
	if port.Type == intstr.Int {
		return port.IntValue()
	}
	for _, p := range c.Ports {
		if p.Name == port.StrVal {
			return int(p.ContainerPort)
		}
	}
	return -1
}

func listenerOn(s osmoprogram.Serving, port int) (osmoprogram.Listener, bool) {
	for _, l := range s.Listeners {
		if l.Port() == port {
			return l, true
		}
	}
	return osmoprogram.Listener{}, false
}

func ports(s osmoprogram.Serving) []int {
	var out []int
	for _, l := range s.Listeners {
		out = append(out, l.Port())
	}
	sort.Ints(out)
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// known is a disagreement between a chart and OSMO's programs that is reported
// and not yet fixed: each must still happen (else remove it), and nothing else
// may. Every entry names the values and the OSMO source line that refuses.
type known struct {
	why     string
	cases   *regexp.Regexp // valuesCase names
	message string         // the problem contains this
}

var knownDisagreements = []known{
	{
		why: "tests/render/testdata/osmo/*/every-key.yaml put invented flags in extraArgs (--debug, --workers, --verbose, --concurrency, " +
			"--retries) to prove the charts pass them through; OSMO's parsers refuse them (parse_args, src/utils/static_config.py:65).",
		cases:   regexp.MustCompile(`/osmo/every-key$`),
		message: "unrecognized arguments: --",
	},
	{
		why: "backend-operator every-key.yaml names the backend worker's image `worker`, OSMO's service worker image, which holds no " +
			"backend_worker (src/service/worker/BUILD): test data, but with OSMO's registry that pod could not start.",
		cases:   regexp.MustCompile(`^backend-operator/osmo/every-key$`),
		message: "backend_worker: not in the worker image",
	},
}

// mounted reports whether a file of the container lies under one of its mounts.
func mounted(c corev1.Container, file string) bool {
	for _, m := range c.VolumeMounts {
		if m.MountPath == file || strings.HasPrefix(file, strings.TrimSuffix(m.MountPath, "/")+"/") {
			return true
		}
	}
	return false
}

// loginProblems: the backend operators read their login secret's file as they
// start (osmoprogram.Credential); it must be on a mount (the chart's Secret).
func loginProblems(s started) []string {
	if s.inv == nil {
		return nil
	}
	_, err := osmoprogram.Credential(s.inv, func(file string) ([]byte, error) {
		if mounted(s.c, file) {
			return []byte("mounted"), nil
		}
		return nil, fs.ErrNotExist
	})
	if err != nil {
		return []string{fmt.Sprintf("%s cannot log in at start: %v", s.program, err)}
	}
	return nil
}

// configFileProblems: StaticConfig.load opens each --config file at start.
func configFileProblems(s started) []string {
	if s.inv == nil {
		return nil
	}
	var out []string
	for _, file := range s.inv.ConfigFiles {
		if !mounted(s.c, file) {
			out = append(out, fmt.Sprintf("%s opens --config %s at start and nothing is mounted there", s.program, file))
		}
	}
	return out
}

// TestStandinEveryChartStartsPrograms renders every chart × scenario and OSMO
// values file and parses every OSMO container's program: all must be accepted,
// every probe must reach what the program serves, every --config file must
// be mounted, and so must every backend operator's login file, except the known disagreements above. Each program must be started
// somewhere, so a chart change that stops starting one is noticed.
func TestStandinEveryChartStartsPrograms(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]bool{}
	matched := make([]bool, len(knownDisagreements))
	cases := valuesCases(t)
	t.Run("cases", func(t *testing.T) {
		for _, vc := range cases {
			t.Run(vc.name, func(t *testing.T) {
				t.Parallel()
				r, err := render.RenderFiles(vc.chart, release, vc.files...)
				require.NoError(t, err, "render %s with %v", vc.chart, vc.files)
				list := containers(t, vc.name, r)
				require.NotEmpty(t, list, "no OSMO container in %s", vc.name)
				for _, s := range list {
					var problems []string
					if s.err != nil {
						problems = append(problems, fmt.Sprintf("refused: %v", s.err))
					} else {
						problems = append(append(append(problems, probeProblems(s)...), configFileProblems(s)...), loginProblems(s)...)
					}
					for _, problem := range problems {
						mine := -1
						for i, k := range knownDisagreements {
							if k.cases.MatchString(vc.name) && strings.Contains(problem, k.message) {
								mine = i
							}
						}
						if mine < 0 {
							t.Errorf("%s: %s\n  command: %s %s\n%s", s.where, problem, s.program, strings.Join(s.args, " "), output(s.err))
							continue
						}
						t.Logf("%s: known disagreement: %s", s.where, problem)
						mu.Lock()
						matched[mine] = true
						mu.Unlock()
					}
					if len(s.unknown) > 0 {
						t.Logf("%s: env from %v not known from the render", s.where, s.unknown)
					}
				}
				mu.Lock()
				for _, s := range list {
					seen[s.program] = true
				}
				mu.Unlock()
			})
		}
	})
	if t.Failed() {
		return
	}
	for i, k := range knownDisagreements {
		require.True(t, matched[i], "known disagreement no longer happens (fixed? remove it): %s", k.why)
	}
	for _, name := range osmoprogram.Names() {
		if name != "progress_check" { // started by probes only
			require.True(t, seen[name], "no chart × values file starts %s", name)
		}
	}
}

func output(err error) string {
	var perr *osmoprogram.Error
	if e, ok := err.(*osmoprogram.Error); ok {
		perr = e
	}
	if perr == nil {
		return ""
	}
	return "  " + strings.ReplaceAll(perr.Output, "\n", "\n  ")
}
