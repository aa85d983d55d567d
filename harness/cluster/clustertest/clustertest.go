// Package clustertest runs a test package against one shared cluster: Main
// owns it, Shared starts it on first use, Namespace gives each test its own
// namespace. It is the only part of the cluster harness that needs testing.
package clustertest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/osmo-wi/charts/harness/cluster"
)

// One cluster per test package: Main owns it, Shared starts it on first use
// (so a run that selects no cluster test, or only benchmarks, starts none).
var shared struct {
	mu      sync.Mutex
	opts    *cluster.Options // set by Main
	once    sync.Once
	cluster cluster.Cluster
	err     error
}

// logsShown is set once a failing test printed the component logs, so Main
// does not print them again.
var logsShown atomic.Bool

// Main is a test package's TestMain: it runs the tests and then stops the
// package's cluster if one was started, even when TestMain itself panics. A
// panicking test kills the process instead; then the processes die with it
// (parent-death signal) and the next Start sweeps the state folder.
func Main(m *testing.M, opts cluster.Options) {
	os.Exit(Run(m, opts))
}

// Run is Main without the exit, for a TestMain with its own cleanup to do
// after the cluster stops; it returns the exit code.
func Run(m *testing.M, opts cluster.Options) (code int) {
	shared.mu.Lock()
	shared.opts = &opts
	shared.mu.Unlock()
	defer func() {
		c := shared.cluster
		if c == nil {
			return
		}
		if code != 0 && !logsShown.Load() {
			fmt.Fprintf(os.Stderr, "cluster: tests failed; component logs:\n%s", c.Logs())
		}
		if err := c.Stop(context.Background()); err != nil {
			fmt.Fprintf(os.Stderr, "cluster: stop: %v\n", err)
			code = max(code, 1)
		}
	}()
	return m.Run()
}

// Shared returns the test package's cluster, starting it on first use with
// the options given to Main. A cluster that cannot start fails every test
// that asks for it, with the reason.
func Shared(t testing.TB) cluster.Cluster {
	t.Helper()
	shared.mu.Lock()
	opts := shared.opts
	shared.mu.Unlock()
	if opts == nil {
		t.Fatal("clustertest.Shared: the package's TestMain must call clustertest.Main(m, cluster.Options{...})")
	}
	shared.once.Do(func() {
		shared.cluster, shared.err = cluster.Start(context.Background(), *opts)
	})
	if shared.err != nil {
		t.Fatalf("cluster: %v", shared.err)
	}
	return shared.cluster
}

var notLabelChars = regexp.MustCompile(`[^a-z0-9]+`)

// Namespace creates a namespace for one test, named after it with a random
// suffix, and deletes it when the test ends. podSecurity ("restricted",
// "baseline", "privileged"; "" for none) sets the enforced Pod Security
// level. When the test failed, the namespace's events and the component log
// tails are printed first.
func Namespace(t testing.TB, c cluster.Cluster, podSecurity string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespaceName(t.Name())}}
	if podSecurity != "" {
		ns.Labels = map[string]string{"pod-security.kubernetes.io/enforce": podSecurity}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.Client().CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", ns.Name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if t.Failed() {
			t.Logf("events in namespace %s:\n%s", ns.Name, namespaceEvents(ctx, c, ns.Name))
			t.Logf("component logs (%s):\n%s", c.Provider(), c.Logs())
			logsShown.Store(true)
		}
		// No wait: the namespace controller finishes the deletion in the background.
		if err := c.Client().CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}); err != nil {
			t.Errorf("delete namespace %s: %v", ns.Name, err)
		}
	})
	return ns.Name
}

// namespaceName makes a DNS label from a test name: "TestFoo/bar_baz" becomes
// "testfoo-bar-baz-x7k2q".
func namespaceName(testName string) string {
	base := strings.Trim(notLabelChars.ReplaceAllString(strings.ToLower(testName), "-"), "-")
	if len(base) > 50 {
		base = strings.TrimRight(base[:50], "-")
	}
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	suffix := make([]byte, 5)
	for i := range suffix {
		suffix[i] = letters[rand.IntN(len(letters))]
	}
	return base + "-" + string(suffix)
}

// namespaceEvents lists a namespace's events, oldest first, one per line.
func namespaceEvents(ctx context.Context, c cluster.Cluster, namespace string) string {
	events, err := c.Client().CoreV1().Events(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Sprintf("(cannot list events: %v)", err)
	}
	if len(events.Items) == 0 {
		return "(no events)"
	}
	items := events.Items
	sort.SliceStable(items, func(i, j int) bool { return eventTime(items[i]).Before(eventTime(items[j])) })
	var b strings.Builder
	for _, e := range items {
		fmt.Fprintf(&b, "%s %s %s %s/%s: %s\n", eventTime(e).Format(time.TimeOnly), e.Type, e.Reason,
			strings.ToLower(e.InvolvedObject.Kind), e.InvolvedObject.Name, e.Message)
	}
	return b.String()
}

func eventTime(e corev1.Event) time.Time {
	switch {
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	default:
		return e.CreationTimestamp.Time
	}
}
