//go:build e2e

package e2e_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/segmentio/kafka-go"

	"github.com/kafka-kraft/kafka-kraft/components/kraftcluster"
	"github.com/kafka-kraft/kafka-kraft/internal/kraft"
	"github.com/kafka-kraft/kafka-kraft/internal/phases"
	"github.com/kafka-kraft/kafka-kraft/internal/smoke"
)

// The deploy benchmark of issue 14 (make bench-deploy): how long a user waits for `up` from
// nothing, one node restart and one roll of three nodes, split into phases, beside two floors
// measured in the same run: `kubectl apply` of exactly the objects Pulumi created (what Kubernetes
// itself costs), and plain `docker run` of the same image with the same configuration (what Kafka
// and the image cost). It is a benchmark: it reports, it asserts no time.
const (
	benchStack        = "bench"
	benchNamespace    = "kafka-kraft-bench"
	benchNodePortBase = 31490 // clear of the user's (31090), the e2e tier's (31190-31390) ports
	benchRegistryPort = 31593
	benchReplicas     = 3
	benchSettle       = 5 * time.Second // after a restart, before the next one
	// benchRollProperties is a change that rolls every node and nothing else (the properties
	// ConfigMap's hash is a pod annotation).
	benchRollProperties = `{"log.retention.hours": "169"}`
	benchDockerLabel    = "kafka-kraft.test=deploy-bench"
	benchDockerPrefix   = "kafka-kraft-bench"
	benchWaitTimeout    = 6 * time.Minute
	// benchReadyPoll is how often the docker floor runs kafka-ready; each run costs tens of
	// milliseconds of CPU on the 2-core machine, so not much more often.
	benchReadyPoll = 300 * time.Millisecond
)

func BenchmarkDeploy(b *testing.B) {
	e := requireEnv(b)
	e.Namespace = benchNamespace
	// About 10 minutes when healthy; go test's -timeout (make bench-deploy: 45m) must leave room
	// for the cleanup after this deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	b.Cleanup(cancel)
	for range b.N {
		runDeployBench(b, ctx, e)
	}
}

// deployBench holds one run: the Pulumi stack, the objects it created and the figures.
type deployBench struct {
	s       *suite
	objects []byte // the stack's Kubernetes objects as a kubectl List
	docker  dockerConfig
}

func runDeployBench(b *testing.B, ctx context.Context, e testEnv) {
	cleanBenchLeftovers(b, ctx, e)
	s := newSuite(b, e, benchStack, suitePorts{nodePortBase: benchNodePortBase, registryPort: benchRegistryPort},
		map[string]string{kraft.KeyReplicas: strconv.Itoa(benchReplicas)})
	d := &deployBench{s: s}
	b.Cleanup(func() { cleanBenchLeftovers(b, context.Background(), e) })
	s.open(b, ctx)

	// 1. Pulumi: up from nothing, one restart, one roll.
	w := watchPodTimes(ctx, b, e.Namespace)
	up, upInfo := d.pulumiUp(b, ctx, w)
	warmth := d.smokeWarmth(b, ctx)
	restarts := d.restarts(b, ctx, w)
	// Read before the roll replaces every pod and their logs with them.
	fenced := d.sessionTimeouts(b, ctx)
	roll, rollInfo := d.pulumiRoll(b, ctx, w)
	flaps := w.stop()
	fenced += d.sessionTimeouts(b, ctx)
	d.capture(b, ctx)
	d.destroy(b, ctx)

	// 2. The floor of Kubernetes: kubectl apply of the same objects, and kubectl rollout restart.
	w = watchPodTimes(ctx, b, e.Namespace)
	kup := d.kubectlUp(b, ctx, w)
	kroll := d.kubectlRoll(b, ctx, w)
	kflaps := w.stop()
	kfenced := d.sessionTimeouts(b, ctx)
	d.kubectlDelete(b, ctx)

	// 3. The floor of the image: docker run of the same image and configuration.
	dup, drestarts, droll := d.dockerFloor(b, ctx)
	restart, restartTotals := phases.Median(restarts)
	drestart, drestartTotals := phases.Median(drestarts)

	var out strings.Builder
	tables := []struct {
		title string
		cols  []phases.Column
	}{
		{fmt.Sprintf("up from nothing -> %d Kafka pods Ready (%s)", benchReplicas, upInfo), []phases.Column{
			{Name: "pulumi up", B: up}, {Name: "kubectl", B: kup}, {Name: "docker run", B: dup}}},
		{fmt.Sprintf("restart of one node (delete pod; docker stop+start) -> Ready: the median of one restart of each node (totals %s; docker %s)",
			seconds(restartTotals), seconds(drestartTotals)), []phases.Column{
			{Name: "kubernetes", B: restart}, {Name: "kubectl", Missing: true}, {Name: "docker", B: drestart}}},
		{fmt.Sprintf("roll of %d nodes (%s)", benchReplicas, rollInfo), []phases.Column{
			{Name: "pulumi up", B: roll}, {Name: "kubectl", B: kroll}, {Name: "docker", B: droll}}},
	}
	for _, t := range tables {
		if err := phases.WriteTable(&out, t.title, t.cols); err != nil {
			b.Fatal(err)
		}
		out.WriteString("\n")
	}
	if err := phases.WriteSmokeRuns(&out, fmt.Sprintf("smoke runs right after up (%d x %d B, acks=all; vs warm = msg/s over the median of the warm runs)",
		smoke.DefaultMessages, smoke.DefaultMessageSize), warmth); err != nil {
		b.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "\nDEPLOY BENCHMARK (kubectl: the same objects applied with kubectl rollout restart for the roll; "+
		"docker: the same image and configuration in plain Docker; ratio = first column / floor)\n\n%s", out.String())
	fmt.Fprintf(os.Stderr, "readiness flaps (a Ready pod turned unready while nothing stopped it): %d on the Pulumi stack, %d on the kubectl one\n", flaps, kflaps)
	fmt.Fprintf(os.Stderr, "brokers fenced while serving, for a session timeout (the logs of the pods running after the restarts and after the roll; a lower bound): %d on the Pulumi stack, %d on the kubectl one\n", fenced, kfenced)
	b.ReportMetric(float64(flaps+kflaps), "flaps")
	b.ReportMetric(float64(fenced+kfenced), "session-timeouts")
	b.ReportMetric(up.Total().Seconds(), "up-s")
	b.ReportMetric(kup.Total().Seconds(), "up-kubectl-s")
	b.ReportMetric(dup.Total().Seconds(), "up-docker-s")
	b.ReportMetric(restart.Total().Seconds(), "restart-s")
	b.ReportMetric(slices.Max(restartTotals).Seconds(), "restart-max-s")
	b.ReportMetric(drestart.Total().Seconds(), "restart-docker-s")
	b.ReportMetric(roll.Total().Seconds(), "roll-s")
	b.ReportMetric(kroll.Total().Seconds(), "roll-kubectl-s")
	b.ReportMetric(droll.Total().Seconds(), "roll-docker-s")
	b.ReportMetric(warmth[0].MsgsPerSec/phases.WarmMedian(warmth), "first-smoke/warm")
	b.ReportMetric(0, "ns/op") // one run of minutes: the default figure says nothing
}

// seconds lists durations as "8.5 / 9.1 / 12.4 s".
func seconds(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = fmt.Sprintf("%.1f", d.Seconds())
	}
	return strings.Join(parts, " / ") + " s"
}

// cleanBenchLeftovers removes what a killed run left: the namespace, the stack's PVs, its hostPath
// data and docker objects. The benchmark's names are its own, so nothing else is touched.
func cleanBenchLeftovers(tb testing.TB, ctx context.Context, e testEnv) {
	tb.Helper()
	if _, err := kubectl(ctx, "delete", "namespace", e.Namespace, "--ignore-not-found", "--wait=true", "--timeout=4m"); err != nil {
		tb.Logf("cleanup: %v", err)
	}
	d := dumper{pvPrefix: "kafka-kraft-" + benchStack + "-"}
	if pvs := d.persistentVolumes(ctx); len(pvs) > 0 {
		if _, err := kubectl(ctx, append([]string{"delete", "pv", "--wait=true", "--timeout=2m"}, pvs...)...); err != nil {
			tb.Logf("cleanup: %v", err)
		}
	}
	removeHostPathData(tb, e)
	if out, err := run(ctx, time.Minute, "", "docker", "ps", "-aq", "--filter", "label="+benchDockerLabel); err == nil && strings.TrimSpace(out) != "" {
		_, _ = run(ctx, 3*time.Minute, "", "docker", append([]string{"rm", "-f"}, strings.Fields(out)...)...)
	}
	for _, kind := range []string{"volume", "network"} {
		if out, err := run(ctx, time.Minute, "", "docker", kind, "ls", "-q", "--filter", "label="+benchDockerLabel); err == nil && strings.TrimSpace(out) != "" {
			_, _ = run(ctx, time.Minute, "", "docker", append([]string{kind, "rm"}, strings.Fields(out)...)...)
		}
	}
}

// removeHostPathData deletes the stack's hostPath directories (k8s-local: this machine's disk), so
// the next cluster formats its storage again, as a fresh one does.
func removeHostPathData(tb testing.TB, e testEnv) {
	if e.Cluster != "k8s-local" {
		return
	}
	if err := os.RemoveAll(filepath.Join(kraft.DefaultStorageHostPath, benchStack)); err != nil {
		tb.Logf("cleanup: %v", err)
	}
}

// --- Pulumi -------------------------------------------------------------------------------------

func (d *deployBench) pulumiUp(b *testing.B, ctx context.Context, w *podTimes) (phases.Breakdown, string) {
	start := time.Now()
	res, err := d.s.st.Up(ctx)
	if err != nil {
		b.Fatalf("up: %v", err)
	}
	upTook := time.Since(start)
	d.s.setOutputs(b, res.Outputs)
	nodes := w.waitNodes(b, ctx, start, nil)
	if err := waitPodsReady(ctx, d.s.env.Namespace, benchWaitTimeout); err != nil {
		b.Fatal(err)
	}
	// The up returns once the cluster-settings Job has completed: what it waited for.
	if logs, err := kubectl(ctx, "-n", d.s.env.Namespace, "logs", "-l", "app.kubernetes.io/name="+kraft.ClusterJobName,
		"--timestamps", "--tail=30"); err == nil {
		b.Logf("cluster-settings Job (up started %s):\n%s", start.UTC().Format(time.RFC3339Nano), logs)
	}
	return phases.Parallel(nodes), fmt.Sprintf("the up itself returned after %.1fs", upTook.Seconds())
}

// smokeWarmth runs the smoke test right after up and then again, to compare the first run (what a
// user who runs `make smoke` after `make deploy` sees) with runs on warm JVMs. The last run uses a
// new topic on the warm cluster, which separates what a new topic costs (leader election, followers'
// first fetches) from what cold JVMs cost.
func (d *deployBench) smokeWarmth(b *testing.B, ctx context.Context) []phases.SmokeRun {
	plan := []struct {
		label, topic string
		warm         bool
	}{
		{"first after up (new topic)", "", false},
		{"second", "", false},
		{"warm 1", "", true},
		{"warm 2", "", true},
		{"warm 3", "", true},
		{"warm JVMs, new topic", "bench.warm-new-topic", false},
	}
	var runs []phases.SmokeRun
	for _, p := range plan {
		res, err := smoke.Run(ctx, smoke.Config{
			Brokers:         d.s.brokers,
			Auth:            d.s.auth,
			Topic:           p.topic,
			ExpectedBrokers: benchReplicas,
			Timeout:         2 * time.Minute,
		})
		if err != nil {
			b.Fatalf("smoke run %q: %v", p.label, err)
		}
		runs = append(runs, phases.SmokeRun{Label: p.label, Warm: p.warm, MsgsPerSec: res.ProduceMsgsPerSec,
			P50: res.ProduceLatencyP50, P99: res.ProduceLatencyP99, Elapsed: res.Elapsed})
	}
	// The restart and roll that follow are measured on a cluster without these topics, as before
	// this measurement existed, so that their figures stay comparable across versions.
	resp, err := newClient(d.s.brokers).DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{smoke.DefaultTopic, plan[len(plan)-1].topic}})
	if err != nil {
		b.Fatalf("delete the smoke topics: %v", err)
	}
	for topic, err := range resp.Errors {
		if err != nil {
			b.Fatalf("delete topic %s: %v", topic, err)
		}
	}
	return runs
}

// restarts deletes each pod in turn (a graceful delete: controlled shutdown), follows its successor
// to Ready and lets the cluster settle before the next one: one restart per node, the active
// controller's among them (whose restart differs: its successor skips the session check).
func (d *deployBench) restarts(b *testing.B, ctx context.Context, w *podTimes) []phases.Breakdown {
	var runs []phases.Breakdown
	for n := range benchReplicas {
		name := kraft.PodName(n)
		before := w.current()
		start := time.Now()
		if _, err := kubectl(ctx, "-n", d.s.env.Namespace, "delete", "pod", name, "--wait=false"); err != nil {
			b.Fatal(err)
		}
		nodes := w.waitNodes(b, ctx, start, map[string]string{name: before[name]})
		runs = append(runs, phases.Parallel(nodes))
		sleepCtx(ctx, benchSettle)
	}
	return runs
}

func (d *deployBench) pulumiRoll(b *testing.B, ctx context.Context, w *podTimes) (phases.Breakdown, string) {
	if err := d.s.st.SetConfig(ctx, kraft.KeyBrokerProperties, auto.ConfigValue{Value: benchRollProperties}); err != nil {
		b.Fatal(err)
	}
	before := w.current()
	start := time.Now()
	if _, err := d.s.st.Up(ctx); err != nil {
		b.Fatalf("up (roll): %v", err)
	}
	upTook := time.Since(start)
	nodes := w.waitNodes(b, ctx, start, before)
	return phases.Sequential(start, nodes), fmt.Sprintf("brokerProperties changed; the up itself returned after %.1fs", upTook.Seconds())
}

// sessionTimeouts counts and logs the brokers the active controller fenced because their session
// timed out while they were not fenced already, in the logs of the Kafka pods running now (a pod
// restarted since took its earlier lines with it). A broker that shut down cleanly is fenced at
// once and its session's end changes nothing (the controller logs a no-op right after); any other
// is a broker whose heartbeats stopped or came late: on a machine where none was killed,
// broker.session.timeout.ms too short for it (internal/kraft's liveness constants).
func (d *deployBench) sessionTimeouts(b *testing.B, ctx context.Context) int {
	n := 0
	for i := range benchReplicas {
		out, err := kubectl(ctx, "-n", d.s.env.Namespace, "logs", kraft.PodName(i), "-c", "kafka", "--timestamps")
		if err != nil {
			b.Logf("logs of %s: %v", kraft.PodName(i), err)
			continue
		}
		for _, line := range phases.LiveFencings(strings.Split(out, "\n")) {
			n++
			b.Logf("%s: %s", kraft.PodName(i), line)
		}
	}
	return n
}

// capture keeps the stack's Kubernetes objects as Pulumi sent them (the resources' inputs, secrets
// revealed) for the kubectl floor, and the Kafka pods' configuration for the docker floor.
func (d *deployBench) capture(b *testing.B, ctx context.Context) {
	dep, err := d.s.st.Export(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var state struct {
		Resources []struct {
			Type   string
			Custom bool
			Inputs map[string]any
		}
	}
	if err := json.Unmarshal(dep.Deployment, &state); err != nil {
		b.Fatal(err)
	}
	var items []any
	for _, r := range state.Resources {
		if !r.Custom || !strings.HasPrefix(r.Type, "kubernetes:") {
			continue
		}
		obj := map[string]any{}
		for k, v := range r.Inputs {
			if !strings.HasPrefix(k, "__") {
				obj[k] = revealSecrets(v)
			}
		}
		items = append(items, obj)
	}
	d.objects, err = json.Marshal(map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("captured %d Kubernetes objects of the stack for the kubectl floor", len(items))
	d.docker = captureDockerConfig(b, ctx, d.s.env.Namespace)
}

// revealSecrets replaces Pulumi's secret envelopes of an exported state (shown with
// --show-secrets: {"4dabf18193072939515e22adb298388d": "1b47...", "plaintext": "<json>"}) by
// their values.
func revealSecrets(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if x["4dabf18193072939515e22adb298388d"] == "1b47061264138c4ac30d75fd1eb44270" {
			if p, ok := x["plaintext"].(string); ok {
				var inner any
				if json.Unmarshal([]byte(p), &inner) == nil {
					return revealSecrets(inner)
				}
				return p
			}
			return revealSecrets(x["value"])
		}
		out := map[string]any{}
		for k, e := range x {
			out[k] = revealSecrets(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = revealSecrets(e)
		}
		return out
	}
	return v
}

func (d *deployBench) destroy(b *testing.B, ctx context.Context) {
	if _, err := d.s.st.Destroy(ctx); err != nil {
		b.Fatalf("destroy: %v", err)
	}
	d.s.destroyed = true
	if err := d.s.waitNamespaceGone(ctx, 3*time.Minute); err != nil {
		b.Fatal(err)
	}
	removeHostPathData(b, d.s.env)
}

// --- kubectl floor ------------------------------------------------------------------------------

func (d *deployBench) kubectlUp(b *testing.B, ctx context.Context, w *podTimes) phases.Breakdown {
	start := time.Now()
	if _, err := run(ctx, 5*time.Minute, string(d.objects), "kubectl", "apply", "-f", "-"); err != nil {
		b.Fatalf("kubectl apply of the stack's objects: %v", err)
	}
	nodes := w.waitNodes(b, ctx, start, nil)
	return phases.Parallel(nodes)
}

func (d *deployBench) kubectlRoll(b *testing.B, ctx context.Context, w *podTimes) phases.Breakdown {
	before := w.current()
	start := time.Now()
	if _, err := kubectl(ctx, "-n", d.s.env.Namespace, "rollout", "restart", "statefulset/"+kraft.StatefulSetName); err != nil {
		b.Fatal(err)
	}
	nodes := w.waitNodes(b, ctx, start, before)
	return phases.Sequential(start, nodes)
}

func (d *deployBench) kubectlDelete(b *testing.B, ctx context.Context) {
	if _, err := run(ctx, 5*time.Minute, string(d.objects), "kubectl", "delete", "-f", "-", "--ignore-not-found", "--wait=true", "--timeout=4m"); err != nil {
		b.Logf("kubectl delete: %v", err)
	}
	if err := d.s.waitNamespaceGone(ctx, 3*time.Minute); err != nil {
		b.Fatal(err)
	}
	removeHostPathData(b, d.s.env)
}

// --- pod watch ----------------------------------------------------------------------------------

// podTimes follows the namespace's pods with `kubectl get -w` and notes when this machine saw each
// pod (by uid) created, scheduled, deleting and Ready: a watch delivers changes within
// milliseconds, where the API's own timestamps have a resolution of one second.
type podTimes struct {
	mu     sync.Mutex
	pods   map[string]*phases.Marks // uid -> marks
	names  map[string]string        // uid -> pod name
	live   map[string]string        // pod name -> uid of the newest pod of that name
	ready  map[string]bool          // uid -> Ready in the last event
	bound  map[string]time.Time     // claim name -> first seen Bound
	flaps  int                      // Ready -> not Ready transitions of a pod not being deleted
	ns     string
	cancel context.CancelFunc
	done   chan struct{}
}

func watchPodTimes(ctx context.Context, tb testing.TB, ns string) *podTimes {
	ctx, cancel := context.WithCancel(ctx)
	w := &podTimes{pods: map[string]*phases.Marks{}, names: map[string]string{}, live: map[string]string{},
		ready: map[string]bool{}, bound: map[string]time.Time{}, ns: ns, cancel: cancel, done: make(chan struct{})}
	cmd := exec.CommandContext(ctx, "kubectl", "-n", ns, "get", "pods", "-l", "app.kubernetes.io/name="+kraft.StatefulSetName,
		"-w", "-o", "json", "--request-timeout=0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	// Claims: when each was first seen Bound, to tell a pod's wait in the scheduler for its claim
	// from the scheduler's own backoff.
	claims := exec.CommandContext(ctx, "kubectl", "-n", ns, "get", "pvc", "-w", "-o", "json", "--request-timeout=0")
	cout, err := claims.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := claims.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() {
		dec := json.NewDecoder(cout)
		for {
			var c struct {
				Metadata struct{ Name string }
				Status   struct{ Phase string }
			}
			if err := dec.Decode(&c); err != nil {
				_ = claims.Wait()
				return
			}
			w.mu.Lock()
			if _, seen := w.bound[c.Metadata.Name]; !seen && c.Status.Phase == "Bound" {
				w.bound[c.Metadata.Name] = time.Now()
			}
			w.mu.Unlock()
		}
	}()
	go func() {
		defer close(w.done)
		dec := json.NewDecoder(out)
		for {
			var p struct {
				Metadata struct {
					Name, UID         string
					DeletionTimestamp *time.Time
				}
				Status struct {
					Conditions []struct{ Type, Status string }
				}
			}
			if err := dec.Decode(&p); err != nil {
				_ = cmd.Wait()
				return
			}
			now := time.Now()
			w.mu.Lock()
			m, ok := w.pods[p.Metadata.UID]
			if !ok {
				m = &phases.Marks{Name: p.Metadata.Name, Created: now}
				w.pods[p.Metadata.UID] = m
				w.names[p.Metadata.UID] = p.Metadata.Name
				w.live[p.Metadata.Name] = p.Metadata.UID
			}
			if p.Metadata.DeletionTimestamp != nil && m.Deleted.IsZero() {
				m.Deleted = now // the old pod's deletion, copied to its successor in waitNodes
			}
			for _, c := range p.Status.Conditions {
				if c.Type == "Ready" {
					was := w.ready[p.Metadata.UID]
					w.ready[p.Metadata.UID] = c.Status == "True"
					// A probe that flaps turns a Ready pod unready while nothing stops it.
					if was && c.Status != "True" && p.Metadata.DeletionTimestamp == nil {
						w.flaps++
					}
				}
				if c.Status != "True" {
					continue
				}
				if c.Type == "PodScheduled" && m.Scheduled.IsZero() {
					m.Scheduled = now
				}
				if c.Type == "Ready" && m.Ready.IsZero() {
					m.Ready = now
				}
			}
			w.mu.Unlock()
		}
	}()
	return w
}

// stop ends the watch and returns how often a pod turned unready while not being deleted.
func (w *podTimes) stop() int {
	w.cancel()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.flaps
}

// current is the uid of every pod name now.
func (w *podTimes) current() map[string]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]string{}
	for n, uid := range w.live {
		out[n] = uid
	}
	return out
}

// waitNodes waits until every Kafka pod is a new one (uid not in replaced; nil: every pod is new)
// and was seen Ready, then returns their marks: the watch's, the predecessor's deletion, and the
// container log's.
func (w *podTimes) waitNodes(tb testing.TB, ctx context.Context, start time.Time, replaced map[string]string) []phases.Marks {
	tb.Helper()
	var out []phases.Marks
	err := eventually(ctx, benchWaitTimeout, 100*time.Millisecond, "Kafka pods Ready", func(ctx context.Context) error {
		w.mu.Lock()
		defer w.mu.Unlock()
		out = out[:0]
		for i := range benchReplicas {
			name := kraft.PodName(i)
			uid := w.live[name]
			old, wanted := replaced[name]
			if replaced != nil && !wanted {
				continue
			}
			if uid == "" || uid == old {
				return fmt.Errorf("%s: no new pod yet", name)
			}
			m := *w.pods[uid]
			if m.Ready.IsZero() {
				return fmt.Errorf("%s: not Ready yet", name)
			}
			m.Start, m.Deleted = start, time.Time{}
			if old != "" {
				m.Deleted = w.pods[old].Deleted
			}
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	w.mu.Lock()
	for i := range benchReplicas {
		if at, ok := w.bound[kraft.DataClaim(i)]; ok && at.After(start) {
			tb.Logf("claim %s first seen Bound %.1fs after start", kraft.DataClaim(i), at.Sub(start).Seconds())
		}
	}
	w.mu.Unlock()
	for i := range out {
		logs, err := kubectl(ctx, "-n", w.ns, "logs", out[i].Name, "-c", "kafka", "--timestamps")
		if err != nil {
			tb.Fatal(err)
		}
		if err := phases.ParseLog(strings.NewReader(logs), &out[i]); err != nil {
			tb.Fatal(err)
		}
		logMarks(tb, out[i])
	}
	return out
}

// --- docker floor -------------------------------------------------------------------------------

// dockerConfig is what a Kafka pod runs with, for plain docker: the container's environment and
// the files of the ConfigMaps and Secrets it mounts, by mount path.
type dockerConfig struct {
	image string
	env   []string
	files map[string]map[string][]byte // mount path -> file name -> content
	data  string                       // the data volume's mount path
}

func captureDockerConfig(tb testing.TB, ctx context.Context, ns string) dockerConfig {
	tb.Helper()
	out, err := kubectl(ctx, "-n", ns, "get", "statefulset", kraft.StatefulSetName, "-o", "json")
	if err != nil {
		tb.Fatal(err)
	}
	type container struct {
		Name, Image  string
		Command      []string
		Env          []struct{ Name, Value string }
		VolumeMounts []struct{ Name, MountPath string }
	}
	var sts struct {
		Spec struct {
			Template struct {
				Spec struct {
					InitContainers []container
					Containers     []container
					Volumes        []struct {
						Name      string
						ConfigMap *struct{ Name string }
						Secret    *struct{ SecretName string }
					}
				}
			}
			VolumeClaimTemplates []struct{ Metadata struct{ Name string } }
		}
	}
	if err := json.Unmarshal([]byte(out), &sts); err != nil {
		tb.Fatal(err)
	}
	pod := sts.Spec.Template.Spec
	var kafka container
	for _, c := range pod.Containers {
		if c.Name == "kafka" {
			kafka = c
		}
	}
	dc := dockerConfig{image: kafka.Image, files: map[string]map[string][]byte{}}
	for _, e := range kafka.Env {
		if e.Value != "" {
			dc.env = append(dc.env, e.Name+"="+e.Value)
		}
	}
	// On Kubernetes an init container issues the node certificate from the CA key; in docker the
	// entrypoint does, when the CA directory has the key (the whole Secret is mounted below).
	// The init container runs `kafka-ready cert` either as its command or, with hostPath storage,
	// single-quoted inside its shell script (kraftcluster.nodeInitContainers).
	for _, c := range pod.InitContainers {
		args := c.Command
		if len(args) == 3 && args[1] == "-c" {
			args = nil
			for _, m := range singleQuoted.FindAllStringSubmatch(c.Command[2], -1) {
				args = append(args, m[1])
			}
		}
		for i, a := range args {
			if a == "-names" && i+1 < len(args) {
				dc.env = append(dc.env, "KAFKA_TLS_NAMES="+args[i+1], fmt.Sprintf("KAFKA_TLS_DAYS=%d", kraft.NodeCertDays))
			}
		}
	}
	for _, m := range kafka.VolumeMounts {
		for _, v := range pod.Volumes {
			if v.Name != m.Name {
				continue
			}
			var obj struct {
				Data map[string]string
			}
			switch {
			case v.ConfigMap != nil:
				out, err = kubectl(ctx, "-n", ns, "get", "configmap", v.ConfigMap.Name, "-o", "json")
			case v.Secret != nil:
				out, err = kubectl(ctx, "-n", ns, "get", "secret", v.Secret.SecretName, "-o", "json")
			default:
				continue
			}
			if err != nil {
				tb.Fatal(err)
			}
			if err := json.Unmarshal([]byte(out), &obj); err != nil {
				tb.Fatal(err)
			}
			files := map[string][]byte{}
			for k, val := range obj.Data {
				if v.Secret != nil {
					dec, err := base64.StdEncoding.DecodeString(val)
					if err != nil {
						tb.Fatalf("secret %s key %s: %v", v.Secret.SecretName, k, err)
					}
					files[k] = dec
				} else {
					files[k] = []byte(val)
				}
			}
			dc.files[m.MountPath] = files
		}
		for _, t := range sts.Spec.VolumeClaimTemplates {
			if t.Metadata.Name == m.Name {
				dc.data = m.MountPath
			}
		}
	}
	if dc.image == "" || dc.data == "" || len(dc.files) == 0 {
		tb.Fatalf("the StatefulSet's Kafka container has no image, data mount or configuration: %+v", dc)
	}
	return dc
}

// singleQuoted matches one single-quoted shell word.
var singleQuoted = regexp.MustCompile(`'([^']*)'`)

// dockerFloor runs the same cluster in plain Docker: a network whose aliases are the pods' DNS
// names, one volume per node, the same environment and files; Ready is kafka-ready passing.
func (d *deployBench) dockerFloor(b *testing.B, ctx context.Context) (up phases.Breakdown, restarts []phases.Breakdown, roll phases.Breakdown) {
	dc := d.docker
	dir := b.TempDir()
	network := benchDockerPrefix
	mustRun := func(args ...string) string {
		out, err := run(ctx, 3*time.Minute, "", "docker", args...)
		if err != nil {
			b.Fatal(err)
		}
		return strings.TrimSpace(out)
	}
	mustRun("network", "create", "--label", benchDockerLabel, network)
	var mounts []string
	i := 0
	for path, files := range dc.files {
		host := filepath.Join(dir, strconv.Itoa(i))
		i++
		if err := os.MkdirAll(host, 0o755); err != nil {
			b.Fatal(err)
		}
		for name, content := range files {
			if err := os.WriteFile(filepath.Join(host, name), content, 0o644); err != nil {
				b.Fatal(err)
			}
		}
		mounts = append(mounts, "-v", host+":"+path+":ro")
	}
	name := func(n int) string { return fmt.Sprintf("%s-%s", benchDockerPrefix, kraft.PodName(n)) }
	start := time.Now()
	var nodes []phases.Marks
	for n := range benchReplicas {
		vol := fmt.Sprintf("%s-data-%d", benchDockerPrefix, n)
		mustRun("volume", "create", "--label", benchDockerLabel, vol)
		args := []string{"run", "-d", "--name", name(n), "--label", benchDockerLabel, "--hostname", kraft.PodName(n),
			"--network", network, "--network-alias", kraft.PodHost(n, d.s.env.Namespace, kraft.DefaultClusterDomain),
			"-e", "POD_NAME=" + kraft.PodName(n), "-v", vol + ":" + dc.data}
		for _, e := range dc.env {
			args = append(args, "-e", e)
		}
		args = append(append(args, mounts...), dc.image)
		mustRun(args...)
		nodes = append(nodes, phases.Marks{Name: name(n), Start: start, Created: time.Now(), Scheduled: time.Now()})
	}
	for n := range nodes {
		d.dockerReady(b, ctx, &nodes[n], time.Time{})
	}
	up = phases.Parallel(nodes)

	restartOne := func(n int, start time.Time) phases.Marks {
		m := phases.Marks{Name: name(n), Start: start, Deleted: time.Now()}
		mustRun("stop", "-t", "120", name(n))
		m.Created = time.Now()
		m.Scheduled = m.Created
		mustRun("start", name(n))
		d.dockerReady(b, ctx, &m, m.Created)
		return m
	}
	for n := range benchReplicas {
		restarts = append(restarts, phases.Parallel([]phases.Marks{restartOne(n, time.Now())}))
		sleepCtx(ctx, benchSettle)
	}
	rs := time.Now()
	var rolled []phases.Marks
	for n := benchReplicas - 1; n >= 0; n-- {
		rolled = append(rolled, restartOne(n, rs))
	}
	roll = phases.Sequential(rs, rolled)
	return up, restarts, roll
}

// dockerReady polls kafka-ready in the container until it passes, then reads the log lines since
// `since` (zero: all) for the marks.
func (d *deployBench) dockerReady(b *testing.B, ctx context.Context, m *phases.Marks, since time.Time) {
	err := eventually(ctx, benchWaitTimeout, benchReadyPoll, m.Name+" ready", func(ctx context.Context) error {
		_, err := run(ctx, 10*time.Second, "", "docker", append([]string{"exec", m.Name}, kraftcluster.ReadinessCommand...)...)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	m.Ready = time.Now()
	args := []string{"logs", "--timestamps"}
	if !since.IsZero() {
		args = append(args, "--since", since.Format(time.RFC3339Nano))
	}
	cmd := exec.CommandContext(ctx, "docker", append(args, m.Name)...)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Run(); err != nil {
		b.Fatal(err)
	}
	if err := phases.ParseLog(&logs, m); err != nil {
		b.Fatal(err)
	}
	logMarks(b, *m)
}

// logMarks logs one node's marks as seconds after its start, for a reader who wants to know which
// node a phase waited for.
func logMarks(tb testing.TB, m phases.Marks) {
	tb.Helper()
	rel := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return fmt.Sprintf("%.1f", t.Sub(m.Start).Seconds())
	}
	tb.Logf("%s: deleted %s, created %s, scheduled %s, started %s, jvm %s, listening %s, registered %s, ready %s (s after start)",
		m.Name, rel(m.Deleted), rel(m.Created), rel(m.Scheduled), rel(m.Started), rel(m.JVM), rel(m.Listening), rel(m.Registered), rel(m.Ready))
}

// sleepCtx waits d, or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
