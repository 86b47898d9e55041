//go:build e2e

package e2e_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optremove"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/segmentio/kafka-go"

	"github.com/kafka-kraft/kafka-kraft/components/kcatclient"
	"github.com/kafka-kraft/kafka-kraft/components/registry"
	"github.com/kafka-kraft/kafka-kraft/internal/clientauth"
	"github.com/kafka-kraft/kafka-kraft/internal/delivery"
	"github.com/kafka-kraft/kafka-kraft/internal/deployer"
	"github.com/kafka-kraft/kafka-kraft/internal/kraft"
	"github.com/kafka-kraft/kafka-kraft/internal/pki"
	"github.com/kafka-kraft/kafka-kraft/internal/smoke"
	"github.com/kafka-kraft/kafka-kraft/internal/stack"
)

// Budgets. Every wait has a deadline; together they stay well inside `go test -timeout 60m`.
const (
	minTestTime      = 40 * time.Minute // refuse to start with less (the default go test -timeout is 10m)
	cleanupReserve   = 8 * time.Minute  // kept back from the test deadline for destroy in t.Cleanup
	firstUpTimeout   = 20 * time.Minute
	upTimeout        = 12 * time.Minute
	podsReadyTimeout = 10 * time.Minute
	smokeTimeout     = 3 * time.Minute
	recoveryTimeout  = 6 * time.Minute
	destroyTimeout   = 10 * time.Minute
)

// Topics of the host-side checks (the smoke test uses smoke.DefaultTopic).
const (
	kcatTopic       = "e2e-kcat"
	durabilityTopic = "e2e-durability"
	pullPod         = "e2e-registry-pull"
)

// TestEndToEnd deploys a throwaway stack and walks it through its life. The steps share the stack,
// so they run in order, and a failed step ends the run (its diagnostics are dumped first); the
// stack is destroyed in any case.
func TestEndToEnd(t *testing.T) {
	e := requireEnv(t)
	ctx := testContext(t)
	name := "e2e-" + randomHex(3)

	// Growth 1 -> 3 needs a stack that starts with one node (and keeps its one voter: the voter set
	// is fixed at format time). It runs first, in its own namespace and NodePorts, and is destroyed
	// before the main stack starts.
	ge := e
	ge.Namespace = e.Namespace + "-grow"
	g := newSuite(t, ge, name+"-grow", suitePorts{nodePortBase: e2eGrowNodePortBase, registryPort: e2eGrowRegistryPort}, map[string]string{
		kraft.KeyReplicas: "1", kraft.KeyControllers: "1", delivery.KeyKcatEnabled: "false",
	})
	g.step(t, "G1 growth stack: one node, all pods Ready", func(t *testing.T) {
		g.open(t, ctx)
		g.firstUp(t, ctx, 1)
	})
	g.step(t, "G2 smoke sees 1 broker; a consumer group commits offsets", func(t *testing.T) {
		g.smoke(t, ctx, 1, "1 broker, after the first up")
		g.oneNodeGroup(t, ctx)
	})
	g.step(t, "G3 replicas 1 -> 3: rolled, min.insync.replicas 2 in force, internal topics RF 3, old topic and offsets work", func(t *testing.T) { g.growTo3(t, ctx) })
	g.step(t, "G4 growth stack destroyed", func(t *testing.T) { g.destroy(t, ctx) })

	// A fresh five-broker stack (three voters, two broker-only) on three nodes: the scheduler places
	// all five at once (Parallel), and the voters must still land on three nodes. It reuses the
	// growth stack's namespace and NodePorts, and is gone before the main stack starts.
	f := newSuite(t, ge, name+"-five", suitePorts{nodePortBase: e2eGrowNodePortBase, registryPort: e2eGrowRegistryPort}, map[string]string{
		kraft.KeyReplicas: "5", kraft.KeyControllers: "3", delivery.KeyKcatEnabled: "false",
	})
	f.step(t, "F1 five-broker stack: up from nothing until all pods Ready", func(t *testing.T) {
		f.open(t, ctx)
		f.firstUp(t, ctx, 5)
	})
	f.step(t, "F2 the three voters of five brokers run on three nodes in three zones", func(t *testing.T) { f.spread(t, ctx) })
	f.step(t, "F3 five-broker stack destroyed", func(t *testing.T) { f.destroy(t, ctx) })

	// A Kafka upgrade (issue 9): a three-node cluster on the previous release, with data and
	// committed offsets, upgraded to the pinned release under a live producer. Same namespace and
	// NodePorts as the stacks before it.
	u := newSuite(t, ge, name+"-upgrade", suitePorts{nodePortBase: e2eGrowNodePortBase, registryPort: e2eGrowRegistryPort}, map[string]string{
		kraft.KeyReplicas: "3", delivery.KeyKcatEnabled: "false", delivery.KeyImage: e.UpgradeImage, kraft.KeyKafkaVersion: e.UpgradeFrom,
	})
	u.step(t, "U1 upgrade stack on Kafka "+e.UpgradeFrom+": three nodes Ready, data written, offsets committed", func(t *testing.T) {
		u.open(t, ctx)
		u.firstUp(t, ctx, 3)
		u.oneNodeGroup(t, ctx)
	})
	u.step(t, "U2 kafkaVersion "+e.UpgradeFrom+" -> "+kraft.DefaultKafkaVersion+" under a live producer: rolled one node at a time, every node on the new release, features raised, data and offsets kept", func(t *testing.T) {
		u.upgrade(t, ctx)
	})
	u.step(t, "U3 going back to "+e.UpgradeFrom+" is refused, naming metadata.version", func(t *testing.T) { u.downgradeRefused(t, ctx) })
	u.step(t, "U4 upgrade stack destroyed", func(t *testing.T) { u.destroy(t, ctx) })

	s := newSuite(t, e, name, suitePorts{nodePortBase: e2eNodePortBase, registryPort: e2eRegistryNodePort,
		movedNodePortBase: e2eMovedNodePortBase, movedRegistryPort: e2eMovedRegistryPort}, map[string]string{kraft.KeyReplicas: "3"})
	s.step(t, "1 throwaway stack with a local backend, its own namespace and NodePorts", func(t *testing.T) { s.open(t, ctx) })
	s.step(t, "2a up from nothing until all pods Ready", func(t *testing.T) { s.firstUp(t, ctx, 3) })
	s.step(t, "2a' the three voters run on three nodes in three zones", func(t *testing.T) { s.spread(t, ctx) })
	s.step(t, "2b smoke from the host sees 3 brokers", func(t *testing.T) { s.smoke(t, ctx, 3, "3 brokers, after the first up") })
	s.step(t, "2c kcat in the cluster lists 3 brokers and the smoke topic", func(t *testing.T) { s.kcatList(t, ctx) })
	s.step(t, "2d a record produced by kcat in the cluster is consumed on the host", func(t *testing.T) { s.kcatToHost(t, ctx) })
	s.step(t, "2e an image pushed to the registry from the host runs in a pod", func(t *testing.T) { s.registryPushPull(t, ctx) })
	s.step(t, "2f EXTERNAL refuses clients without TLS, the CA or the password; no secret in the state, a ConfigMap or a log", func(t *testing.T) { s.security(t, ctx) })
	s.step(t, "2g monitoring prometheus-operator (no roll): a real Prometheus scrapes every pod; a stopped broker fires the alerts and fails make status, all clear once it runs again", func(t *testing.T) { s.monitoringStep(t, ctx) })
	s.step(t, "3 preview, a second up and another preview change nothing", func(t *testing.T) { s.noChange(t, ctx) })
	s.step(t, "4 change matrix: each accepted change, rolled one node at a time under a live acks=all producer", func(t *testing.T) { s.matrix(t, ctx) })
	s.step(t, "5a a deleted broker pod loses no acknowledged write", func(t *testing.T) { s.deleteBroker(t, ctx) })
	s.step(t, "5b a SIGKILLed broker JVM loses no acknowledged write", func(t *testing.T) { s.killBroker(t, ctx) })
	s.step(t, "5c a voter's node powered off under load: writes go on, nothing lost, the broker catches up when it returns", func(t *testing.T) { s.powerOff(t, ctx) })
	s.step(t, "5d a voter's node partitioned under load: the zombie is fenced and acknowledges nothing, nothing lost, it catches up when healed", func(t *testing.T) { s.partition(t, ctx) })
	s.step(t, "5e draining a voter's node: the budget blocks a second drain until it is back", func(t *testing.T) { s.drain(t, ctx) })
	s.step(t, "6a replicas 4 adds a broker under a live producer, restarting none", func(t *testing.T) { s.scaleUp(t, ctx) })
	s.step(t, "6b unsafe changes are refused and change nothing (a shrink below a topic's replication factor among them)", func(t *testing.T) { s.refusedChanges(t, ctx) })
	s.step(t, "6c replicas 4 -> 3 under a live producer on a topic spread over four brokers: replicas moved first, broker 3 gone, nothing lost", func(t *testing.T) { s.scaleDown(t, ctx) })
	s.step(t, "6d replicas 3 -> 4 again: the new broker 3 starts on fresh storage, none of the removed broker's data", func(t *testing.T) { s.regrow(t, ctx) })
	s.step(t, "7 destroy leaves nothing behind", func(t *testing.T) { s.destroy(t, ctx) })
}

// suitePorts are the NodePorts a suite's stack uses, and moves to in the change matrix (0: none).
type suitePorts struct {
	nodePortBase, registryPort           int
	movedNodePortBase, movedRegistryPort int
}

// newSuite prepares a suite for one throwaway stack; its teardown is registered at once.
func newSuite(t testing.TB, e testEnv, stackName string, ports suitePorts, initial map[string]string) *suite {
	t.Helper()
	s := &suite{env: e, stackName: stackName, ports: ports, initial: initial}
	s.dir = filepath.Join(e.Artifacts, s.stackName)
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s.dump = dumper{ns: e.Namespace, pvPrefix: "kafka-kraft-" + s.stackName + "-", dir: s.dir}
	t.Logf("stack %s, namespace %s, images %s / %s / %s; logs in %s", s.stackName, e.Namespace, e.Image, e.KcatImage, e.RegistryImage, s.dir)
	t.Cleanup(func() { s.report(t) })
	t.Cleanup(func() { s.teardown(t) })
	return s
}

type suite struct {
	env       testEnv
	stackName string
	ports     suitePorts
	initial   map[string]string // config the stack starts with (besides namespace, ports, images)
	dir       string
	dump      dumper
	st        *deployer.Stack
	outputs   map[string]string
	brokers   []string
	auth      clientauth.Auth // the admin's credentials (stack outputs)
	// Secret outputs the security checks need (never printed).
	userPasswords    map[string]string
	state            pki.State
	ordersPassword   string
	registryPassword string
	destroyed        bool
	pushed           string
	project          string // the workspace folder: Pulumi.yaml, Pulumi.<stack>.yaml and the state backend
	backend          string // the file backend's directory

	// afterDestroy run once the stack is gone (cluster-wide objects a step created).
	afterDestroy []func(ctx context.Context) error

	mu      sync.Mutex
	metrics []string
}

// step runs one step as a subtest, logs its duration and, when it fails, dumps the cluster state
// before the next step (or the teardown) changes it. A failed step ends the test.
func (s *suite) step(t *testing.T, name string, fn func(t *testing.T)) {
	t.Helper()
	ok := t.Run(name, func(t *testing.T) {
		start := time.Now()
		t.Cleanup(func() {
			t.Logf("TIMING %s: %s", name, time.Since(start).Round(100*time.Millisecond))
			if t.Failed() && s.st != nil {
				s.dump.dump(t, name)
			}
		})
		fn(t)
	})
	if !ok {
		t.Fatalf("step %q failed; later steps need it, so the run ends here (diagnostics above and in %s)", name, s.dir)
	}
}

// measure records a figure for the final report and logs it.
func (s *suite) measure(t *testing.T, name, format string, args ...any) {
	t.Helper()
	line := fmt.Sprintf("%-52s %s", name+":", fmt.Sprintf(format, args...))
	s.mu.Lock()
	s.metrics = append(s.metrics, line)
	s.mu.Unlock()
	t.Logf("MEASURED %s", line)
}

func (s *suite) report(t testing.TB) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.metrics) == 0 {
		return
	}
	t.Logf("MEASURED summary of stack %s:\n  %s", s.stackName, strings.Join(s.metrics, "\n  "))
}

// testContext ends early enough for t.Cleanup to destroy the stack before `go test` panics.
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	if dl, ok := t.Deadline(); ok {
		if time.Until(dl) < minTestTime {
			t.Fatalf("the end-to-end run needs about 30 minutes and a reserve for cleanup; run it with `go test -timeout 60m` (the deadline is %s away)",
				time.Until(dl).Round(time.Second))
		}
		cancel()
		ctx, cancel = context.WithDeadline(context.Background(), dl.Add(-cleanupReserve))
	}
	t.Cleanup(cancel)
	return ctx
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// progress is where the Pulumi engine's and the smoke test's progress go: a log file, and stderr
// with -v.
func (s *suite) progress(name string) io.Writer {
	f, err := os.OpenFile(filepath.Join(s.dir, name), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return io.Discard
	}
	if testing.Verbose() {
		return io.MultiWriter(f, os.Stderr)
	}
	return f
}

// --- step 1 -------------------------------------------------------------------------------------

// open checks that the cluster is free for the stack (namespace, NodePorts), then creates the stack
// the way a user would: a project folder with Pulumi.yaml, a local file backend, and config set with
// `pulumi config set` semantics (deployer.Options.Config). The workspace lives in a temp dir, so no
// Pulumi.<stack>.yaml appears in the repository; the Docker build context is not needed because the
// stack uses the prebuilt image.
func (s *suite) open(t testing.TB, ctx context.Context) {
	ns := s.env.Namespace
	// A namespace that an earlier run's cleanup deleted may still be terminating.
	if phase, err := kubectl(ctx, "get", "namespace", ns, "-o", "jsonpath={.status.phase}"); err == nil && phase == "Terminating" {
		t.Logf("namespace %s is terminating; waiting for it to go", ns)
		_ = s.waitNamespaceGone(ctx, 3*time.Minute)
	}
	if _, err := kubectl(ctx, "get", "namespace", ns); err == nil {
		t.Fatalf("namespace %s exists already (an e2e run that could not clean up): delete it (`kubectl delete namespace %s`) "+
			"or set KAFKA_E2E_NAMESPACE", ns, ns)
	} else if !notFound(err) {
		t.Fatal(err)
	}
	used, err := kubectl(ctx, "get", "services", "-A", "-o",
		`jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{" "}{.spec.ports[*].nodePort}{"\n"}{end}`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, p := range []int{s.ports.registryPort, s.ports.movedRegistryPort} {
		if p != 0 {
			want[strconv.Itoa(p)] = true
		}
	}
	for i := range 4 {
		want[strconv.Itoa(s.ports.nodePortBase+i)] = true
		if s.ports.movedNodePortBase != 0 {
			want[strconv.Itoa(s.ports.movedNodePortBase+i)] = true
		}
	}
	for _, line := range strings.Split(used, "\n") {
		f := strings.Fields(line)
		for _, port := range f[min(1, len(f)):] {
			if want[port] {
				t.Fatalf("NodePort %s, which the e2e stack %s needs (%+v), is taken by service %s; remove it first",
					port, s.stackName, s.ports, f[0])
			}
		}
	}

	// Not t.TempDir: this subtest ends long before the stack does.
	project, err := os.MkdirTemp("", "kafka-kraft-e2e-project-")
	if err != nil {
		t.Fatal(err)
	}
	s.project = project
	src, err := os.ReadFile(filepath.Join(repoRoot(t), "Pulumi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(project, "Pulumi.yaml"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	backend := filepath.Join(project, ".state")
	s.backend = backend
	if err := os.MkdirAll(backend, 0o755); err != nil {
		t.Fatal(err)
	}
	// Its own namespace and NodePorts: the tier runs beside a user's stack (make deploy, then make
	// test).
	cfg := map[string]string{
		kraft.KeyNamespace:            ns,
		kraft.KeyExternalNodePortBase: strconv.Itoa(s.ports.nodePortBase),
		delivery.KeyRegistryNodePort:  strconv.Itoa(s.ports.registryPort),
		delivery.KeyImage:             s.env.Image,
		delivery.KeyRegistryImage:     s.env.RegistryImage,
		delivery.KeyKcatImage:         s.env.KcatImage,
	}
	for k, v := range s.initial {
		cfg[k] = v
	}
	s.st, err = deployer.Open(ctx, deployer.Options{
		WorkDir: project,
		Stack:   s.stackName,
		Env: map[string]string{
			"PULUMI_BACKEND_URL":                          "file://" + backend,
			"PULUMI_CONFIG_PASSPHRASE":                    "e2e-" + s.stackName,
			"PULUMI_SKIP_UPDATE_CHECK":                    "true",
			"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
			"KUBECONFIG":                                  s.env.Kubeconfig,
		},
		Config:   cfg,
		Progress: s.progress("engine.log"),
	})
	if err != nil {
		t.Fatalf("deployer.Open: %v", err)
	}
	all, err := s.st.GetAllConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stack %s config: %v", s.stackName, all)
}

// repoRoot is the module root (tests run in tests/e2e).
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "Pulumi.yaml")); err != nil {
		t.Fatalf("no Pulumi.yaml at the repository root %s: %v", dir, err)
	}
	return dir
}

// --- step 2 -------------------------------------------------------------------------------------

func (s *suite) firstUp(t *testing.T, ctx context.Context, replicas int) {
	start := time.Now()
	uctx, cancel := context.WithTimeout(ctx, firstUpTimeout)
	defer cancel()
	up, err := s.st.Up(uctx)
	upTook := time.Since(start)
	if err != nil {
		t.Fatalf("up (after %s): %v", upTook.Round(time.Second), err)
	}
	t.Logf("up: %s in %s", changeSummary(up.Summary.ResourceChanges), upTook.Round(100*time.Millisecond))
	if err := waitPodsReady(ctx, s.env.Namespace, podsReadyTimeout); err != nil {
		t.Fatal(err)
	}
	ready := time.Since(start)
	s.measure(t, "up from nothing to all pods Ready", "%s (the up itself %s)", ready.Round(100*time.Millisecond), upTook.Round(100*time.Millisecond))
	s.setOutputs(t, up.Outputs)

	if got := s.outputs[stack.OutputNamespace]; got != s.env.Namespace {
		t.Errorf("output %s = %q, want %q", stack.OutputNamespace, got, s.env.Namespace)
	}
	var addrs []string
	for i := range replicas {
		addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", s.ports.nodePortBase+i))
	}
	if want := strings.Join(addrs, ","); s.outputs[stack.OutputExternalBootstrapServers] != want {
		t.Errorf("output %s = %q, want %q (the e2e NodePorts)", stack.OutputExternalBootstrapServers, s.outputs[stack.OutputExternalBootstrapServers], want)
	}
	wantImage := s.env.Image
	if img, ok := s.initial[delivery.KeyImage]; ok {
		wantImage = img
	}
	if got := s.outputs[stack.OutputImage]; got != wantImage {
		t.Errorf("output %s = %q, want the configured image %q", stack.OutputImage, got, wantImage)
	}
	readyReplicas, err := kubectl(ctx, "-n", s.env.Namespace, "get", "statefulset", kraft.StatefulSetName, "-o", "jsonpath={.status.readyReplicas}")
	if err != nil || strings.TrimSpace(readyReplicas) != strconv.Itoa(replicas) {
		t.Errorf("statefulset %s readyReplicas = %q (%v), want %d", kraft.StatefulSetName, readyReplicas, err, replicas)
	}
}

func (s *suite) setOutputs(t testing.TB, out auto.OutputMap) {
	t.Helper()
	s.outputs = deployer.StringOutputs(out)
	brokers, err := smoke.ParseBrokers(s.outputs[stack.OutputExternalBootstrapServers])
	if err != nil {
		t.Fatalf("output %s: %v (outputs: %v)", stack.OutputExternalBootstrapServers, err, s.outputs)
	}
	s.brokers = brokers
	// The admin's credentials, as `make smoke` reads them (pulumi stack output --show-secrets).
	revealed, err := json.Marshal(deployer.RevealedOutputs(out))
	if err != nil {
		t.Fatal(err)
	}
	if s.auth, err = smoke.ParseStackAuth(revealed); err != nil {
		t.Fatalf("stack credentials: %v", err)
	}
	for _, b := range brokers {
		credentials.Store(b, s.auth)
	}
	s.setSecrets(t, out)
}

// smoke runs the kafka-go smoke test from the host against the external bootstrap addresses.
func (s *suite) smoke(t *testing.T, ctx context.Context, brokers int, label string) {
	t.Helper()
	res, err := smoke.Run(ctx, smoke.Config{
		Brokers:         s.brokers,
		Auth:            s.auth,
		ExpectedBrokers: brokers,
		Timeout:         smokeTimeout,
		Progress:        s.progress("smoke.log"),
	})
	if err != nil {
		t.Fatalf("smoke against %v: %v", s.brokers, err)
	}
	var b strings.Builder
	if err := res.WriteSummary(&b); err != nil {
		t.Fatal(err)
	}
	t.Log(b.String())
	if res.Brokers != brokers {
		t.Errorf("smoke saw %d brokers, want %d", res.Brokers, brokers)
	}
	s.measure(t, "smoke throughput ("+label+")",
		"produce %.0f msg/s = %.2f MiB/s (%d x %d B, acks=all, p99 %s), consume %.0f msg/s = %.2f MiB/s",
		res.ProduceMsgsPerSec, res.ProduceMBPerSec, res.Messages, res.MessageSize,
		res.ProduceLatencyP99.Round(100*time.Microsecond), res.ConsumeMsgsPerSec, res.ConsumeMBPerSec)
}

var (
	kcatBrokers = regexp.MustCompile(`(?m)^\s*(\d+) brokers:`)
	kcatBroker  = regexp.MustCompile(`(?m)^\s*broker (\d+) at (\S+)`)
)

// kcatList runs what the README tells users to run: kcat -L inside the cluster.
func (s *suite) kcatList(t *testing.T, ctx context.Context) {
	var out string
	err := eventually(ctx, time.Minute, 2*time.Second, "kcat -L lists 3 brokers and the smoke topic", func(ctx context.Context) error {
		var err error
		// The stack's own kcatCommand output, as a user pastes it (SCRAM on CLIENT, -F config).
		args := strings.Fields(s.outputs[stack.OutputKcatCommand])
		if len(args) < 2 || args[0] != "kubectl" {
			return fmt.Errorf("output %s = %q: want a kubectl command", stack.OutputKcatCommand, s.outputs[stack.OutputKcatCommand])
		}
		out, err = kubectl(ctx, args[1:]...)
		if err != nil {
			return err
		}
		m := kcatBrokers.FindStringSubmatch(out)
		if m == nil || m[1] != "3" || len(kcatBroker.FindAllString(out, -1)) != 3 {
			return fmt.Errorf("want 3 brokers, got:\n%s", out)
		}
		if !strings.Contains(out, `topic "`+smoke.DefaultTopic+`"`) {
			return fmt.Errorf("topic %q not listed:\n%s", smoke.DefaultTopic, out)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("kcat -L:\n%s", out)
	for i, m := range kcatBroker.FindAllStringSubmatch(out, -1) {
		if want := fmt.Sprintf("%s:%d", kraft.PodHost(mustAtoi(t, m[1]), s.env.Namespace, kraft.DefaultClusterDomain), kraft.ClientPort); m[2] != want {
			t.Errorf("broker %d advertises %s inside the cluster, want %s", i, m[2], want)
		}
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// kcatToHost produces with kcat inside the cluster (the CLIENT listener, SCRAM as admin with the
// config the stack mounts) and consumes with kafka-go on the host (EXTERNAL through the NodePorts).
func (s *suite) kcatToHost(t *testing.T, ctx context.Context) {
	if err := createTopic(ctx, s.brokers, kcatTopic, 1, 3); err != nil {
		t.Fatal(err)
	}
	msg := fmt.Sprintf("hello from kcat in %s at %s", s.stackName, time.Now().UTC().Format(time.RFC3339Nano))
	script := `printf '%s\n' "$1" | kcat -F "$4" -P -b "$2" -t "$3" -p 0 -X acks=all`
	start := time.Now()
	if _, err := kubectl(ctx, "-n", s.env.Namespace, "exec", "deploy/"+kcatclient.Name, "--", "sh", "-c", script, "sh",
		msg, fmt.Sprintf("%s:%d", kraft.HeadlessServiceName, kraft.ClientPort), kcatTopic, kcatclient.ConfigFile); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	m, err := readUntil(rctx, s.brokers, kcatTopic, 0, func(v []byte) bool { return string(v) == msg })
	if err != nil {
		t.Fatalf("the record kcat produced (%q) was not consumed on the host: %v", msg, err)
	}
	t.Logf("consumed on the host at offset %d, %s after kcat started: %q", m.Offset, time.Since(start).Round(time.Millisecond), m.Value)
}

// registryPushPull pushes a small image from the host to the Registry component (its NodePort) and
// runs a pod from it, so the kubelet must pull it back from the registry.
func (s *suite) registryPushPull(t *testing.T, ctx context.Context) {
	reg := s.outputs[stack.OutputRegistry]
	if reg == "" {
		t.Fatalf("no %s output (outputs: %v)", stack.OutputRegistry, s.outputs)
	}
	ref := fmt.Sprintf("%s/kafka-kraft-e2e/push:%s", reg, s.stackName)
	if _, err := run(ctx, time.Minute, "", "docker", "tag", s.env.PushImage, ref); err != nil {
		t.Fatal(err)
	}
	s.pushed = ref
	start := time.Now()
	// The registry takes pushes with the stack's credentials only: docker with no login (an empty
	// config) is refused, then logged in (a config of its own, not the user's) it pushes.
	anonymous, loggedIn := t.TempDir(), t.TempDir()
	accepted := false
	err := eventually(ctx, 3*time.Minute, 5*time.Second, "the registry answers an anonymous push", func(ctx context.Context) error {
		_, err := run(ctx, 2*time.Minute, "", "docker", "--config", anonymous, "push", ref)
		switch {
		case err == nil:
			accepted = true
			return nil
		case strings.Contains(err.Error(), "no basic auth credentials") || strings.Contains(err.Error(), "unauthorized"):
			t.Logf("anonymous push refused: %v", lastLine(err.Error()))
			return nil
		}
		return err // not answering yet
	})
	if err != nil {
		t.Fatal(err)
	}
	if accepted {
		t.Fatalf("an anonymous push of %s was accepted", ref)
	}
	if s.registryPassword == "" || s.outputs[stack.OutputRegistryUser] == "" {
		t.Fatalf("no registry credentials in the outputs %s/%s", stack.OutputRegistryUser, stack.OutputRegistryPassword)
	}
	if _, err := run(ctx, time.Minute, s.registryPassword, "docker", "--config", loggedIn, "login", "--username", s.outputs[stack.OutputRegistryUser], "--password-stdin", reg); err != nil {
		t.Fatal(err)
	}
	if _, err := run(ctx, 2*time.Minute, "", "docker", "--config", loggedIn, "push", ref); err != nil {
		t.Fatal(err)
	}
	pushed := time.Since(start)
	ns := s.env.Namespace
	// The pod pulls with the stack's pull secret, as the Kafka pods do with a built image.
	overrides := `{"spec": {"imagePullSecrets": [{"name": "` + registry.PullSecretName + `"}]}}`
	if _, err := kubectl(ctx, "-n", ns, "run", pullPod, "--image="+ref, "--image-pull-policy=Always", "--restart=Never",
		"--overrides="+overrides, "--command", "--", "sleep", "3600"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := kubectl(context.Background(), "-n", ns, "delete", "pod", pullPod, "--grace-period=0", "--force",
			"--ignore-not-found", "--wait=true", "--timeout=60s"); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	if _, err := kubectl(ctx, "-n", ns, "wait", "--for=condition=Ready", "pod/"+pullPod, "--timeout=3m"); err != nil {
		t.Fatalf("a pod running %s (pulled from the in-cluster registry) did not become Ready: %v", ref, err)
	}
	imageID, _ := kubectl(ctx, "-n", ns, "get", "pod", pullPod, "-o", "jsonpath={.status.containerStatuses[0].imageID}")
	t.Logf("pushed %s as %s in %s; pod %s Running after %s, imageID %s", s.env.PushImage, ref,
		pushed.Round(100*time.Millisecond), pullPod, time.Since(start).Round(100*time.Millisecond), imageID)
}

// --- step 3 -------------------------------------------------------------------------------------

// noChange proves idempotency: a preview right after the first up plans nothing, a second up
// updates nothing, and a preview after it plans nothing either.
func (s *suite) noChange(t *testing.T, ctx context.Context) {
	s.expectNoPreviewChanges(t, ctx)
	start := time.Now()
	uctx, cancel := context.WithTimeout(ctx, upTimeout)
	defer cancel()
	up, err := s.st.Up(uctx)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("second up: %v", err)
	}
	s.measure(t, "no-change up", "%s (%s)", took.Round(100*time.Millisecond), changeSummary(up.Summary.ResourceChanges))
	if n := changes(up.Summary.ResourceChanges); n != 0 {
		t.Errorf("the second up changed %d resources (%s); it must change none:\n%s", n, changeSummary(up.Summary.ResourceChanges), up.StdOut)
	}
	if !reflect.DeepEqual(deployer.StringOutputs(up.Outputs), s.outputs) {
		t.Errorf("outputs changed on the second up:\nbefore %v\nafter  %v", s.outputs, deployer.StringOutputs(up.Outputs))
	}
	s.expectNoPreviewChanges(t, ctx)
}

func (s *suite) expectNoPreviewChanges(t *testing.T, ctx context.Context) {
	t.Helper()
	pctx, cancel := context.WithTimeout(ctx, upTimeout)
	defer cancel()
	p, err := s.st.Preview(pctx)
	if err != nil {
		t.Fatalf("preview: %v", err)
	}
	if n := deployer.Changes(p); n != 0 {
		// Show what Pulumi wants to change, property by property.
		d, derr := s.st.Stack.Preview(pctx, optpreview.Diff())
		t.Errorf("preview plans %d changes (%v), want none:\n%s%v", n, p.ChangeSummary, d.StdOut, derr)
	}
}

// changes counts the entries of an update summary that changed a resource. Like Pulumi's own
// engine.HasChanges it does not count reads: the program's stack reference to itself reads the
// outputs of the previous update, which differ once, right after the first one.
func changes(rc *map[string]int) int {
	if rc == nil {
		return 0
	}
	n := 0
	for op, c := range *rc {
		switch op {
		case string(apitype.OpSame), string(apitype.OpRead), string(apitype.OpReadDiscard), string(apitype.OpReadReplacement):
		default:
			n += c
		}
	}
	return n
}

func changeSummary(rc *map[string]int) string {
	if rc == nil {
		return "no summary"
	}
	var parts []string
	for op, c := range *rc {
		parts = append(parts, fmt.Sprintf("%s %d", op, c))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// --- step 4 -------------------------------------------------------------------------------------

// deleteBroker deletes the pod leading partition 0 of the live producer's topic (a graceful
// delete: controlled shutdown), waits for the StatefulSet to bring the pod back, and reads every
// acknowledged record back.
func (s *suite) deleteBroker(t *testing.T, ctx context.Context) {
	ns := s.env.Namespace
	load := s.startLoad(t, ctx)
	leader, err := leaderOf(ctx, s.brokers, loadTopic, 0)
	if err != nil {
		t.Fatal(err)
	}
	pod := kraft.PodName(leader)
	before, err := kafkaPods(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	deleted := time.Now()
	if _, err := kubectl(ctx, "-n", ns, "delete", "pod", pod, "--wait=false"); err != nil {
		t.Fatal(err)
	}
	t.Logf("deleted %s (leader of %s/0) after %d acknowledged records", pod, loadTopic, load.Stats().Acked)
	if _, err := waitPod(ctx, ns, pod, recoveryTimeout, "replaced and Ready", func(p podState) bool {
		return p.UID != "" && p.UID != before[pod].UID && p.Ready
	}); err != nil {
		t.Fatal(err)
	}
	recovered := time.Now()
	// The active controller refuses a restarted broker's registration while its previous
	// incarnation's session lasts (broker.session.timeout.ms, Kafka's 9 s, kept: kraft's
	// liveness constants say why), clean shutdown or not: counted, for the figure below.
	refused := 0
	if logs, err := kubectl(ctx, "-n", ns, "logs", pod, "-c", "kafka"); err != nil {
		t.Error(err)
	} else {
		refused = strings.Count(logs, "DUPLICATE_BROKER_REGISTRATION")
	}
	rep := s.stopLoad(t, ctx, load)
	s.measure(t, "recovery of a deleted broker pod", "%s (delete %s -> new pod Ready, caught up; its registration refused %d time(s) while the old session lasted); producer: %d acknowledged meanwhile, longest gap %s, %d unacknowledged, 0 lost",
		recovered.Sub(deleted).Round(100*time.Millisecond), pod, refused, load.AckedBetween(deleted, recovered), rep.LongestAckGap.Round(time.Millisecond), rep.Unacknowledged)
	s.smoke(t, ctx, 3, "3 brokers, after the pod deletion")
}

// --- step 5 -------------------------------------------------------------------------------------

// scaleUp sets replicas 4 as `pulumi config set replicas 4` would, under the live producer: a
// broker-only node joins and the existing nodes keep running (their configuration does not change).
func (s *suite) scaleUp(t *testing.T, ctx context.Context) {
	s.applyChange(t, ctx, change{name: "replicas 3 -> 4 (no roll)", key: kraft.KeyReplicas, value: "4", load: true, check: func(t *testing.T, ctx context.Context) {
		if len(s.brokers) != 4 {
			t.Fatalf("output %s lists %d brokers, want 4: %v", stack.OutputExternalBootstrapServers, len(s.brokers), s.brokers)
		}
		s.smoke(t, ctx, 4, "4 brokers, after scale-up")
	}})
}

// refusedChanges sets what the program must refuse on a running cluster and checks that `up`
// fails naming the setting, and that nothing in the cluster or the stack changed.
func (s *suite) refusedChanges(t *testing.T, ctx context.Context) {
	ns := s.env.Namespace
	uids := s.podUIDs(t, ctx)
	gen, err := kubectl(ctx, "-n", ns, "get", "statefulset", kraft.StatefulSetName, "-o", "jsonpath={.metadata.generation} {.spec.replicas}")
	if err != nil {
		t.Fatal(err)
	}
	outputs, err := s.st.Outputs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const (
		invalid = "invalid configuration (nothing was changed)"
		unsafe  = "unsafe change refused (nothing was changed)"
	)
	cases := []struct {
		key, value, restore string // restore "" = remove the key
		want                string // the program's message
		why                 string // and the reason it gives ("": not checked)
	}{
		// 5 voters on 4 nodes is invalid on its own; 1 voter is valid for a new stack but a
		// different voter set on this one; 2 replicas would remove a voter; 3 replicas would leave
		// fewer brokers than the replicas of rf4Topic (the program asks the cluster first).
		{kraft.KeyControllers, "5", "", invalid, ""},
		{kraft.KeyControllers, "1", "", unsafe, ""},
		{kraft.KeyReplicas, "2", "4", unsafe, "the first 3 nodes are the KRaft voters and are never removed"},
		{kraft.KeyReplicas, "3", "4", unsafe, `config "replicas" cannot change from 4 to 3 now: 3 brokers would remain, fewer than the replicas of ` + rf4Topic + " (replication factor 4)"},
	}
	if err := createTopic(ctx, s.brokers, rf4Topic, 2, 4); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if _, err := newClient(s.brokers).DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{rf4Topic}}); err != nil {
			t.Errorf("delete topic %s: %v", rf4Topic, err)
		}
	}()
	rf4Before := replicasOf(t, ctx, s.brokers, rf4Topic)
	for _, c := range cases {
		if err := s.st.SetConfig(ctx, c.key, auto.ConfigValue{Value: c.value}); err != nil {
			t.Fatal(err)
		}
		uctx, cancel := context.WithTimeout(ctx, upTimeout)
		_, err := s.st.Up(uctx)
		cancel()
		switch {
		case err == nil:
			t.Errorf("up with %s=%s succeeded; the program must refuse it on a deployed cluster", c.key, c.value)
		case !strings.Contains(err.Error(), `"`+c.key+`"`) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.why):
			t.Errorf("up with %s=%s failed, but the error does not say %q (%q) naming %q:\n%v", c.key, c.value, c.want, c.why, c.key, err)
		default:
			t.Logf("up with %s=%s refused as expected: %s", c.key, c.value, refusal(err, c.want))
		}
		if c.restore == "" {
			err = s.st.RemoveConfig(ctx, c.key)
		} else {
			err = s.st.SetConfig(ctx, c.key, auto.ConfigValue{Value: c.restore})
		}
		if err != nil {
			t.Fatal(err)
		}
	}

	if got := s.podUIDs(t, ctx); !reflect.DeepEqual(got, uids) {
		t.Errorf("pods changed after refused updates:\nbefore %v\nafter  %v", uids, got)
	}
	if got := replicasOf(t, ctx, s.brokers, rf4Topic); got != rf4Before {
		t.Errorf("the refused shrink moved replicas of %s: %s -> %s", rf4Topic, rf4Before, got)
	}
	if got, err := kubectl(ctx, "-n", ns, "get", "statefulset", kraft.StatefulSetName, "-o", "jsonpath={.metadata.generation} {.spec.replicas}"); err != nil || got != gen {
		t.Errorf("statefulset generation/replicas changed after refused updates: %q -> %q (%v)", gen, got, err)
	}
	// The refusals depend on the recorded deployment: a failed update must not lose it.
	after, err := s.st.Outputs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(deployer.StringOutputs(after), deployer.StringOutputs(outputs)) {
		t.Errorf("stack outputs changed after refused updates:\nbefore %v\nafter  %v", deployer.StringOutputs(outputs), deployer.StringOutputs(after))
	}
	s.expectNoPreviewChanges(t, ctx)
}

// refusal is the program's message from a failed up's error (the CLI output around it is long).
func refusal(err error, marker string) string {
	msg := err.Error()
	if i := strings.Index(msg, marker); i >= 0 {
		msg = msg[i:]
	}
	if i := strings.Index(msg, "\n\n"); i >= 0 && i < 2000 {
		msg = msg[:i]
	}
	return msg
}

// podUIDs maps pod names of the namespace to their uids.
func (s *suite) podUIDs(t *testing.T, ctx context.Context) map[string]string {
	t.Helper()
	out, err := kubectl(ctx, "-n", s.env.Namespace, "get", "pods", "-o",
		`jsonpath={range .items[*]}{.metadata.name}{" "}{.metadata.uid}{"\n"}{end}`)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(line); len(f) == 2 {
			m[f[0]] = f[1]
		}
	}
	return m
}

// --- step 6 -------------------------------------------------------------------------------------

func (s *suite) destroy(t *testing.T, ctx context.Context) {
	start := time.Now()
	dctx, cancel := context.WithTimeout(ctx, destroyTimeout)
	defer cancel()
	res, err := s.st.Destroy(dctx)
	if err != nil {
		t.Fatalf("destroy: %v", err)
	}
	took := time.Since(start)
	s.destroyed = true
	s.measure(t, "destroy", "%s (%s)", took.Round(100*time.Millisecond), changeSummary(res.Summary.ResourceChanges))
	s.expectNothingLeft(t, ctx)

	ws := s.st.Workspace()
	if err := ws.RemoveStack(ctx, s.stackName); err != nil {
		t.Fatalf("removing stack %s from the backend: %v", s.stackName, err)
	}
	stacks, err := ws.ListStacks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range stacks {
		if st.Name == s.stackName || strings.HasSuffix(st.Name, "/"+s.stackName) {
			t.Errorf("stack %s is still in the backend after `stack rm`", st.Name)
		}
	}
	s.st = nil
}

// expectNothingLeft checks that the namespace and the stack's PersistentVolumes are gone.
func (s *suite) expectNothingLeft(t *testing.T, ctx context.Context) {
	t.Helper()
	if err := s.waitNamespaceGone(ctx, 3*time.Minute); err != nil {
		t.Error(err)
	}
	if pvs := s.dump.persistentVolumes(ctx); len(pvs) > 0 {
		t.Errorf("PersistentVolumes of the stack left after destroy: %v", pvs)
	}
}

// waitNamespaceGone waits until the stack's namespace no longer exists.
func (s *suite) waitNamespaceGone(ctx context.Context, timeout time.Duration) error {
	ns := s.env.Namespace
	return eventually(ctx, timeout, 2*time.Second, "namespace "+ns+" gone", func(ctx context.Context) error {
		out, err := kubectl(ctx, "get", "namespace", ns, "-o", "jsonpath={.status.phase}")
		if notFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("namespace %s is %s", ns, out)
	})
}

// teardown runs after every step, passed or failed: it destroys what is left (falling back to
// kubectl when destroy fails), removes the stack, the pushed image tag and, on k8s-local, the
// hostPath data directories (the PVs keep them by design: reclaim policy Retain).
func (s *suite) teardown(t testing.TB) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupReserve-time.Minute)
	defer cancel()
	if s.pushed != "" {
		if _, err := run(ctx, time.Minute, "", "docker", "image", "rm", s.pushed); err != nil {
			t.Logf("cleanup: %v", err)
		}
	}
	if s.st != nil {
		if !s.destroyed {
			t.Logf("cleanup: destroying stack %s", s.stackName)
			if _, err := s.st.Destroy(ctx); err != nil {
				t.Errorf("cleanup: destroy failed, deleting namespace %s and the stack's PVs with kubectl: %v", s.env.Namespace, err)
				s.forceDelete(t, ctx)
			} else if err := s.waitNamespaceGone(ctx, 3*time.Minute); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
		if err := s.st.Workspace().RemoveStack(ctx, s.stackName, optremove.Force()); err != nil {
			t.Logf("cleanup: removing stack %s: %v", s.stackName, err)
		}
	}
	for _, f := range s.afterDestroy {
		if err := f(ctx); err != nil {
			t.Logf("cleanup: %v", err)
		}
	}
	if s.project != "" {
		if err := os.RemoveAll(s.project); err != nil {
			t.Logf("cleanup: %v", err)
		}
	}
	if s.env.Cluster == "k8s-local" {
		dir := filepath.Join(kraft.DefaultStorageHostPath, s.stackName)
		if _, err := os.Stat(dir); err == nil {
			if err := os.RemoveAll(dir); err != nil {
				t.Logf("cleanup: %v", err)
			}
		}
	}
}

func (s *suite) forceDelete(t testing.TB, ctx context.Context) {
	if _, err := kubectl(ctx, "delete", "namespace", s.env.Namespace, "--ignore-not-found", "--wait=true", "--timeout=4m"); err != nil {
		t.Errorf("cleanup: %v", err)
	}
	if pvs := s.dump.persistentVolumes(ctx); len(pvs) > 0 {
		if _, err := kubectl(ctx, append([]string{"delete", "pv", "--wait=true", "--timeout=2m"}, pvs...)...); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
}

// rf4Topic has four replicas: with four brokers, a shrink to three must be refused.
const rf4Topic = "e2e-rf4"

// spreadTopic is written during the scale-down: created with four brokers, its eight partitions
// have replicas on all of them.
const spreadTopic = "e2e-spread"

// replicasOf returns a topic's partitions with their replicas and ISR, as text.
func replicasOf(t *testing.T, ctx context.Context, brokers []string, topic string) string {
	t.Helper()
	md, err := newClient(brokers).Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, tp := range md.Topics {
		for _, p := range tp.Partitions {
			out = append(out, fmt.Sprintf("%d:%v/%v", p.ID, brokerIDsOf(p.Replicas), brokerIDsOf(p.Isr)))
		}
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// scaleDown sets replicas 3 on the four-broker cluster under a live producer writing to a topic
// with replicas on all four: the program moves broker 3's replicas away before the StatefulSet
// shrinks; afterwards broker 3 is gone from the metadata (and unregistered), every partition is
// fully replicated on brokers 0-2, and every acknowledged record is read back.
func (s *suite) scaleDown(t *testing.T, ctx context.Context) {
	// Data to move: replicas on all four brokers, a few MB each, and a slow throttle, so that the
	// first `up` can be interrupted while reassignments are in progress.
	if err := createTopic(ctx, s.brokers, spreadTopic, 8, 3); err != nil {
		t.Fatal(err)
	}
	fillTopic(t, ctx, s.brokers, spreadTopic, 24000, 1024)
	s.interruptedScaleDown(t, ctx)
	s.applyChange(t, ctx, change{
		name: "replicas 4 -> 3 (replicas moved off broker 3 first, no roll)", key: kraft.KeyReplicas, value: "3",
		load: true, loadTopic: spreadTopic, loadPartitions: 8, removed: []string{kraft.PodName(3)},
		check: func(t *testing.T, ctx context.Context) {
			if len(s.brokers) != 3 {
				t.Fatalf("output %s lists %d brokers, want 3: %v", stack.OutputExternalBootstrapServers, len(s.brokers), s.brokers)
			}
			md, err := newClient(s.brokers).Metadata(ctx, &kafka.MetadataRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if ids := brokerIDsOf(md.Brokers); fmt.Sprint(ids) != "[0 1 2]" {
				t.Errorf("brokers in the metadata after the scale-down: %v, want [0 1 2]", ids)
			}
			checked := 0
			for _, tp := range md.Topics {
				for _, p := range tp.Partitions {
					checked++
					r, isr := brokerIDsOf(p.Replicas), brokerIDsOf(p.Isr)
					for _, id := range r {
						if id > 2 {
							t.Errorf("%s-%d still has a replica on broker %d: %v", tp.Name, p.ID, id, r)
						}
					}
					if len(isr) != len(r) {
						t.Errorf("%s-%d not fully replicated: replicas %v, ISR %v", tp.Name, p.ID, r, isr)
					}
				}
			}
			t.Logf("%d partitions of %d topics, every one on brokers 0-2 and fully in sync; %s: %s", checked, len(md.Topics), spreadTopic, replicasOf(t, ctx, s.brokers, spreadTopic))
			// The removed broker was unregistered (the cluster-settings Job did it once its pod had stopped).
			logs, err := kubectl(ctx, "-n", s.env.Namespace, "logs", "-l", "app.kubernetes.io/name="+kraft.ClusterJobName, "--tail=-1", "--prefix")
			if err != nil || !strings.Contains(logs, "broker 3 unregistered") {
				t.Errorf("no cluster-settings Job says it unregistered broker 3 (%v):\n%s", err, tail(logs, 20))
			}
			if out, err := kubectl(ctx, "-n", s.env.Namespace, "get", "pvc", kraft.DataClaim(3), "--ignore-not-found", "-o", "name"); err != nil || strings.TrimSpace(out) != "" {
				t.Errorf("the removed broker's claim is still there: %q (%v)", out, err)
			}
		},
	})
}

// regrow sets replicas 4 again after the scale-down: broker 3 comes back on a fresh volume (a new
// hostPath directory and PersistentVolume, generation 1), so none of the partitions the removed
// broker 3 held are on its disk.
func (s *suite) regrow(t *testing.T, ctx context.Context) {
	s.applyChange(t, ctx, change{name: "replicas 3 -> 4 after a scale-down (fresh storage, no roll)", key: kraft.KeyReplicas, value: "4", check: func(t *testing.T, ctx context.Context) {
		if len(s.brokers) != 4 {
			t.Fatalf("output %s lists %d brokers, want 4: %v", stack.OutputExternalBootstrapServers, len(s.brokers), s.brokers)
		}
		pv, err := kubectl(ctx, "-n", s.env.Namespace, "get", "pvc", kraft.DataClaim(3), "-o", "jsonpath={.spec.volumeName}")
		if err != nil || !strings.HasSuffix(pv, "-g1") {
			t.Errorf("broker 3's claim is bound to %q (%v), want a new generation-1 volume", pv, err)
		}
		out, err := kubectl(ctx, "-n", s.env.Namespace, "exec", kraft.PodName(3), "-c", "kafka", "--", "ls", "-1", kraft.LogDir)
		if err != nil {
			t.Fatalf("listing broker 3's log dir: %v", err)
		}
		for _, d := range strings.Fields(out) {
			if strings.HasPrefix(d, spreadTopic+"-") || strings.HasPrefix(d, loadTopic+"-") {
				t.Errorf("the new broker 3 holds %s from before the scale-down (stale data)", d)
			}
		}
		t.Logf("broker 3's log dir after the regrow (%s): %s", pv, strings.Join(strings.Fields(out), " "))
		s.smoke(t, ctx, 4, "4 brokers, after 3 -> 4 -> 3 -> 4")
	}})
}

// fillTopic writes n records of size bytes to topic (acks=all).
func fillTopic(t *testing.T, ctx context.Context, brokers []string, topic string, n, size int) {
	t.Helper()
	w := &kafka.Writer{Addr: kafka.TCP(brokers...), Transport: transportFor(brokers), Topic: topic, RequiredAcks: kafka.RequireAll, Balancer: &kafka.RoundRobin{},
		BatchSize: 1000, BatchBytes: 2 << 20, BatchTimeout: 5 * time.Millisecond}
	defer func() { _ = w.Close() }()
	value := make([]byte, size)
	msgs := make([]kafka.Message, 0, 1000)
	wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	for i := 0; i < n; i += len(msgs) {
		msgs = msgs[:0]
		for j := 0; j < 1000 && i+j < n; j++ {
			msgs = append(msgs, kafka.Message{Value: value})
		}
		// A topic just created may not be in every broker's metadata yet: retry the batch.
		if err := eventually(wctx, time.Minute, time.Second, "filling "+topic, func(ctx context.Context) error {
			return w.WriteMessages(ctx, msgs...)
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// interruptedScaleDown sets replicas 3 with a slow reassignmentThrottle and interrupts the `up` (the
// Automation API kills the Pulumi CLI, as Ctrl-C twice or a lost CI runner would) as soon as the
// first reassignments are in progress: nothing but the moves happened (the StatefulSet still has
// four replicas, no resource changed), and the next `up` (scaleDown's change) resumes them.
func (s *suite) interruptedScaleDown(t *testing.T, ctx context.Context) {
	for k, v := range map[string]string{kraft.KeyReassignmentThrottle: "1Mi", kraft.KeyReplicas: "3"} {
		if err := s.st.SetConfig(ctx, k, auto.ConfigValue{Value: v}); err != nil {
			t.Fatal(err)
		}
	}
	uctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := s.st.Up(uctx)
		done <- err
	}()
	c := newClient(s.brokers)
	parts := []int{0, 1, 2, 3, 4, 5, 6, 7}
	inProgress := 0
	var upErr error
	deadline := time.After(3 * time.Minute)
wait:
	for {
		select {
		case upErr = <-done:
			break wait
		case <-deadline:
			cancel()
			upErr = <-done
			break wait
		case <-time.After(200 * time.Millisecond):
		}
		resp, err := c.ListPartitionReassignments(ctx, &kafka.ListPartitionReassignmentsRequest{
			Topics: map[string]kafka.ListPartitionReassignmentsRequestTopic{spreadTopic: {PartitionIndexes: parts}}, Timeout: 5 * time.Second})
		if err == nil && resp.Error == nil && len(resp.Topics[spreadTopic].Partitions) > 0 {
			inProgress = len(resp.Topics[spreadTopic].Partitions)
			cancel()
			upErr = <-done
			break
		}
	}
	took := time.Since(start)
	if inProgress == 0 {
		t.Fatalf("no reassignment was seen in progress within %s (up: %v); the interruption test needs a slower move", took.Round(time.Second), upErr)
	}
	if upErr == nil {
		t.Fatalf("the interrupted up succeeded")
	}
	got, err := kubectl(ctx, "-n", s.env.Namespace, "get", "statefulset", kraft.StatefulSetName, "-o", "jsonpath={.spec.replicas}")
	if err != nil || got != "4" {
		t.Errorf("after the interrupted up the StatefulSet has %q replicas (%v), want 4 (nothing but the moves may have happened)", got, err)
	}
	s.measure(t, "scale-down interrupted", "up killed %s after it started, %d reassignments of %s in progress; the StatefulSet untouched",
		took.Round(100*time.Millisecond), inProgress, spreadTopic)
}
