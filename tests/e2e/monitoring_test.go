//go:build e2e

package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kafka-kraft/kafka-kraft/internal/kraft"
	"github.com/kafka-kraft/kafka-kraft/internal/stack"
	"github.com/kafka-kraft/kafka-kraft/monitoring"
)

const (
	// promInterval is the tier's Prometheus scrape and evaluation interval: short, so the step is
	// quick; the alerts' own `for` durations are the shipped ones.
	promInterval = "5s"
	// alertTimeout bounds each wait for alerts to fire or clear: the cluster-level warnings have
	// `for: 5m` (longer than a roll) and fire about 5m15s after the broker stops (ISR shrink once
	// it is fenced, plus evaluations).
	alertTimeout = 8 * time.Minute
)

// monitoringCRDs are the Prometheus Operator CRDs `monitoring prometheus-operator` needs.
var monitoringCRDs = []string{"servicemonitors.monitoring.coreos.com", "prometheusrules.monitoring.coreos.com"}

// ensureMonitoringCRDs creates stand-in CRDs (testdata/monitoring-crds.yaml) when the cluster has
// none, and deletes them after the stack is gone. A cluster with the real operator keeps its own:
// applying ours over them would replace their schemas.
func (s *suite) ensureMonitoringCRDs(t *testing.T, ctx context.Context) {
	var missing int
	for _, crd := range monitoringCRDs {
		if _, err := kubectl(ctx, "get", "crd", crd); notFound(err) {
			missing++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	switch missing {
	case 0:
		t.Logf("the cluster has the Prometheus Operator's CRDs: using them")
		return
	case len(monitoringCRDs):
	default:
		t.Fatalf("the cluster has only some of %v: install the Prometheus Operator's CRDs, or none", monitoringCRDs)
	}
	if _, err := kubectl(ctx, "create", "-f", filepath.Join(repoRoot(t), "tests", "e2e", "testdata", "monitoring-crds.yaml")); err != nil {
		t.Fatal(err)
	}
	// Deleting a CRD deletes every object of its kind in the cluster: only ours, only when still
	// ours (the stand-in label) and empty (nobody started using them meanwhile).
	s.afterDestroy = append(s.afterDestroy, func(ctx context.Context) error {
		left, err := kubectl(ctx, "get", "servicemonitors.monitoring.coreos.com,prometheusrules.monitoring.coreos.com", "-A", "-o", "name")
		if err != nil {
			return err
		}
		if strings.TrimSpace(left) != "" {
			return fmt.Errorf("keeping the stand-in CRDs %v: objects use them: %s", monitoringCRDs, left)
		}
		_, err = kubectl(ctx, "delete", "crd", "-l", "kafka-kraft.io/e2e-stand-in=true", "--ignore-not-found")
		return err
	})
	for _, crd := range monitoringCRDs {
		if _, err := kubectl(ctx, "wait", "--for=condition=Established", "--timeout=60s", "crd/"+crd); err != nil {
			t.Fatal(err)
		}
	}
}

// monitoringStep: `monitoring prometheus-operator` under the live producer (no roll); a real
// Prometheus scrapes every pod through the metrics Service and evaluates the PrometheusRule the
// stack deployed; a stopped broker shows up in the metrics, fires the alerts and makes the status
// command exit 1; all of it clears once the broker runs again.
func (s *suite) monitoringStep(t *testing.T, ctx context.Context) {
	if s.env.Cluster != "k8s-local" {
		t.Fatalf("the monitoring step scrapes pod IPs from this machine and stops a broker's JVM here, which needs the k8s-local cluster (KAFKA_E2E_CLUSTER=%q)", s.env.Cluster)
	}
	ns := s.env.Namespace
	s.ensureMonitoringCRDs(t, ctx)
	s.applyChange(t, ctx, change{name: "monitoring prometheus-operator (no roll)", key: kraft.KeyMonitoring, value: kraft.MonitoringOperator, load: true,
		check: func(t *testing.T, ctx context.Context) {
			for _, obj := range []string{"servicemonitor/" + kraft.StatefulSetName, "prometheusrule/" + kraft.StatefulSetName, "configmap/" + kraft.StatefulSetName + "-dashboard", "service/" + monitoring.MetricsServiceName} {
				if _, err := kubectl(ctx, "-n", ns, "get", obj); err != nil {
					t.Errorf("%s: %v", obj, err)
				}
			}
		}})

	prom := s.startPrometheus(t, ctx)
	err := eventually(ctx, 2*time.Minute, 2*time.Second, "Prometheus scrapes the three pods through the metrics Service", func(ctx context.Context) error {
		return prom.expect(ctx, fmt.Sprintf(`count(up{namespace=%q, job=%q} == 1)`, ns, monitoring.MetricsServiceName), 3)
	})
	if err != nil {
		t.Fatal(err)
	}
	sel := fmt.Sprintf(`namespace=%q, job=%q`, ns, monitoring.MetricsServiceName)
	for q, want := range map[string]float64{
		"sum(kafka_controller_active_controller{" + sel + "})":       1,
		"max(kafka_controller_active_brokers{" + sel + "})":          3,
		"count(kafka_server_broker_state{" + sel + "} == 3)":         3,
		"sum(kafka_server_under_replicated_partitions{" + sel + "})": 0,
		"count(count by (pod) (jvm_memory_used_bytes{" + sel + "}))": 3,
		// Every node sees the same quorum leader.
		`count(count_values("leader", kafka_raft_current_leader{` + sel + `}))`: 1,
	} {
		if err := prom.expect(ctx, q, want); err != nil {
			t.Error(err)
		}
	}
	durations, _ := prom.query(ctx, fmt.Sprintf(`scrape_duration_seconds{%s}`, sel))
	series, _ := prom.query(ctx, fmt.Sprintf(`scrape_samples_scraped{%s}`, sel))
	s.measure(t, "metrics scrape per node (Prometheus)", "%s; samples %s", formatSamples(durations, "s"), formatSamples(series, ""))
	if firing := prom.firing(ctx, ns); len(firing) > 0 {
		t.Errorf("alerts firing on a healthy cluster: %v", firing)
	}
	if code, out := s.status(t, ctx); code != 0 {
		t.Errorf("status on a healthy cluster exited %d:\n%s", code, out)
	}

	// Stop a broker that is not the quorum leader (its JVM frozen with SIGSTOP: the container stays,
	// the broker answers nothing), under the live producer.
	leader, err := prom.query(ctx, `max(kafka_raft_current_leader{`+sel+`})`)
	if err != nil || len(leader) != 1 {
		t.Fatalf("quorum leader: %v %v", leader, err)
	}
	victim := kraft.PodName((int(leader[0].value) + 1) % 3)
	pid, err := jvmPID(victim, s.outputs[stack.OutputClusterID])
	if err != nil {
		t.Fatal(err)
	}
	load := s.startLoad(t, ctx)
	loadStopped := false
	defer func() {
		if !loadStopped { // a failure below: stop the producer, do not leave it running into teardown
			_, _ = load.Stop(ctx)
		}
	}()
	stopped := time.Now()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatalf("SIGSTOP %s (pid %d): %v", victim, pid, err)
	}
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
				t.Errorf("SIGCONT %s (pid %d): %v", victim, pid, err)
			}
		}
	}
	defer resume()
	t.Logf("SIGSTOP to %s's JVM (host pid %d); quorum leader is node %v", victim, pid, leader[0].value)

	err = eventually(ctx, alertTimeout, 2*time.Second, "under-replicated partitions in Prometheus", func(ctx context.Context) error {
		return prom.expectAbove(ctx, "sum(kafka_server_under_replicated_partitions{"+sel+"})", 0)
	})
	if err != nil {
		t.Fatal(err)
	}
	urpSeen := time.Since(stopped)
	want := []string{"KafkaBrokerFenced", "KafkaMetricsDown/" + victim, "KafkaUnderReplicatedPartitions"}
	err = eventually(ctx, alertTimeout, 2*time.Second, "alerts "+strings.Join(want, ", ")+" firing", func(ctx context.Context) error {
		firing := prom.firing(ctx, ns)
		for _, w := range want {
			if !contains(firing, w) {
				return fmt.Errorf("firing: %v", firing)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	fired := time.Since(stopped)
	firing := prom.firing(ctx, ns)
	for _, a := range firing {
		// A stopped broker is not a lost quorum nor an outage of writes (RF 3, min ISR 2).
		if strings.HasPrefix(a, "KafkaNoActiveController") || strings.HasPrefix(a, "KafkaOfflinePartitions") || strings.HasPrefix(a, "KafkaUnderMinIsr") {
			t.Errorf("alert %s fires with one broker of three stopped", a)
		}
	}
	code, out := s.status(t, ctx)
	if code != 1 || !strings.Contains(strings.ToLower(out), "under-replicated") {
		t.Errorf("status with %s stopped exited %d, want 1 naming the under-replicated partitions:\n%s", victim, code, out)
	}

	resume()
	back := time.Now()
	if _, err := waitPod(ctx, ns, victim, recoveryTimeout, "Ready again", func(p podState) bool { return p.Ready }); err != nil {
		t.Fatal(err)
	}
	err = eventually(ctx, alertTimeout, 2*time.Second, "metrics and alerts clear", func(ctx context.Context) error {
		if err := prom.expect(ctx, "sum(kafka_server_under_replicated_partitions{"+sel+"})", 0); err != nil {
			return err
		}
		if firing := prom.firing(ctx, ns); len(firing) > 0 {
			return fmt.Errorf("still firing: %v", firing)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cleared := time.Since(back)
	err = eventually(ctx, time.Minute, 3*time.Second, "status exits 0", func(ctx context.Context) error {
		if code, out := s.status(t, ctx); code != 0 {
			return fmt.Errorf("exit %d:\n%s", code, out)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	rep := s.stopLoad(t, ctx, load)
	loadStopped = true
	s.measure(t, "broker stopped (SIGSTOP): seen by Prometheus", "under-replicated after %s, alerts %v firing after %s, status exit %d; after SIGCONT all clear in %s; producer longest gap %s, 0 lost",
		urpSeen.Round(time.Second), want, fired.Round(time.Second), code, cleared.Round(time.Second), rep.LongestAckGap.Round(time.Millisecond))
}

// prometheus is a Prometheus server this test runs on the host.
type prometheus struct {
	base string
	t    *testing.T
}

// startPrometheus runs Debian's prometheus (scripts/install-prometheus.sh) against the cluster: the
// targets are the metrics Service's endpoints, labelled as the Prometheus Operator labels a
// ServiceMonitor's (namespace, pod, job = the Service's name), and the rules those of the stack's
// PrometheusRule as the API returns them. It stops with the test.
func (s *suite) startPrometheus(t *testing.T, ctx context.Context) *prometheus {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatalf("no prometheus on PATH: the monitoring step runs a real one. Install it with scripts/install-prometheus.sh (e2e-setup does): %v", err)
	}
	ns := s.env.Namespace
	dir, err := os.MkdirTemp("", "kafka-kraft-e2e-prometheus-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	rules, err := kubectl(ctx, "-n", ns, "get", "prometheusrule", kraft.StatefulSetName, "-o", "jsonpath={.spec}")
	if err != nil {
		t.Fatal(err)
	}
	// A rule file is YAML, and JSON is YAML: the spec is written as the API holds it.
	if err := os.WriteFile(filepath.Join(dir, "rules.json"), []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	// Debian builds Prometheus without Kubernetes discovery (no kubernetes_sd_configs), so this
	// test is the discovery: it reads the metrics Service's EndpointSlices as kubernetes_sd's
	// "endpoints" role would, every few seconds, into a file_sd file with the labels the Prometheus
	// Operator gives a ServiceMonitor's targets (namespace, pod, job = the Service's name).
	targets := filepath.Join(dir, "targets.json")
	if err := s.writeMetricsTargets(ctx, targets); err != nil {
		t.Fatal(err)
	}
	dctx, stopDiscovery := context.WithCancel(ctx)
	var discovery sync.WaitGroup
	discovery.Add(1)
	t.Cleanup(func() { stopDiscovery(); discovery.Wait() }) // before the folder is removed (cleanups run last-in first-out)
	go func() {
		defer discovery.Done()
		for {
			select {
			case <-dctx.Done():
				return
			case <-time.After(5 * time.Second):
				_ = s.writeMetricsTargets(dctx, targets)
			}
		}
	}()
	cfg := fmt.Sprintf(`global:
  scrape_interval: %[1]s
  scrape_timeout: 4s
  evaluation_interval: %[1]s
rule_files: [rules.json]
scrape_configs:
  - job_name: kafka-kraft
    file_sd_configs: [{files: [targets.json]}]
`, promInterval)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	check, err := exec.CommandContext(ctx, "promtool", "check", "config", filepath.Join(dir, "prometheus.yml")).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check config: %v\n%s", err, check)
	}
	addr := freeAddr(t)
	logf, err := os.Create(filepath.Join(s.dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=info")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		logf.Close()
	})
	p := &prometheus{base: "http://" + addr, t: t}
	if err := eventually(ctx, time.Minute, time.Second, "Prometheus ready", func(ctx context.Context) error {
		_, err := p.query(ctx, "vector(1)")
		return err
	}); err != nil {
		t.Fatalf("%v (log: %s)", err, filepath.Join(s.dir, "prometheus.log"))
	}
	return p
}

// writeMetricsTargets writes the metrics Service's endpoints (ready or not: the Service publishes
// not-ready addresses) as a Prometheus file_sd file, atomically.
func (s *suite) writeMetricsTargets(ctx context.Context, path string) error {
	ns := s.env.Namespace
	out, err := kubectl(ctx, "-n", ns, "get", "endpointslices", "-l", "kubernetes.io/service-name="+monitoring.MetricsServiceName, "-o", "json")
	if err != nil {
		return err
	}
	var slices struct {
		Items []struct {
			Endpoints []struct {
				Addresses []string `json:"addresses"`
				TargetRef struct {
					Name string `json:"name"`
				} `json:"targetRef"`
			} `json:"endpoints"`
			Ports []struct {
				Name string `json:"name"`
				Port int    `json:"port"`
			} `json:"ports"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &slices); err != nil {
		return err
	}
	type group struct {
		Targets []string          `json:"targets"`
		Labels  map[string]string `json:"labels"`
	}
	groups := []group{}
	for _, sl := range slices.Items {
		for _, p := range sl.Ports {
			if p.Name != monitoring.MetricsPortName {
				continue
			}
			for _, e := range sl.Endpoints {
				for _, a := range e.Addresses {
					groups = append(groups, group{Targets: []string{net.JoinHostPort(a, strconv.Itoa(p.Port))},
						Labels: map[string]string{"namespace": ns, "pod": e.TargetRef.Name, "job": monitoring.MetricsServiceName}})
				}
			}
		}
	}
	b, err := json.Marshal(groups)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type promSample struct {
	labels map[string]string
	value  float64
}

// query runs an instant query.
func (p *prometheus) query(ctx context.Context, q string) ([]promSample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+"/api/v1/query?query="+url.QueryEscape(q), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("query %s: %s", q, body.Error)
	}
	var out []promSample
	for _, r := range body.Data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("query %s: value %v", q, r.Value)
		}
		out = append(out, promSample{labels: r.Metric, value: v})
	}
	return out, nil
}

// expect: q returns one sample equal to want.
func (p *prometheus) expect(ctx context.Context, q string, want float64) error {
	got, err := p.query(ctx, q)
	if err != nil {
		return err
	}
	if len(got) != 1 || got[0].value != want {
		return fmt.Errorf("%s = %v, want %v", q, got, want)
	}
	return nil
}

func (p *prometheus) expectAbove(ctx context.Context, q string, floor float64) error {
	got, err := p.query(ctx, q)
	if err != nil {
		return err
	}
	if len(got) != 1 || got[0].value <= floor {
		return fmt.Errorf("%s = %v, want above %v", q, got, floor)
	}
	return nil
}

// firing lists the firing alerts of the namespace as name or name/pod, sorted.
func (p *prometheus) firing(ctx context.Context, ns string) []string {
	got, err := p.query(ctx, fmt.Sprintf(`ALERTS{alertstate="firing", namespace=%q}`, ns))
	if err != nil {
		return []string{"query failed: " + err.Error()}
	}
	var out []string
	for _, s := range got {
		name := s.labels["alertname"]
		if pod := s.labels["pod"]; pod != "" {
			name += "/" + pod
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func formatSamples(samples []promSample, unit string) string {
	var parts []string
	for _, s := range samples {
		parts = append(parts, fmt.Sprintf("%s %.3g%s", s.labels["pod"], s.value, unit))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// status runs the status command (cmd/status, built once) against the stack with the admin's
// credentials, as `make status` does; it returns the exit code and the output.
func (s *suite) status(t *testing.T, ctx context.Context) (int, string) {
	t.Helper()
	bin := filepath.Join(s.dir, "status")
	if _, err := os.Stat(bin); err != nil {
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/status")
		build.Dir = repoRoot(t)
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build ./cmd/status: %v\n%s", err, out)
		}
	}
	ca := filepath.Join(s.dir, "ca.crt")
	if err := os.WriteFile(ca, []byte(s.auth.CACert), 0o600); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, bin, "-brokers", strings.Join(s.brokers, ","), "-ca", ca, "-user", s.auth.Username,
		"-expect-brokers", strconv.Itoa(len(s.brokers)))
	cmd.Env = append(os.Environ(), "KAFKA_PASSWORD="+s.auth.Password)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &exit):
		return exit.ExitCode(), string(out)
	default:
		t.Fatalf("status: %v\n%s", err, out)
		return -1, ""
	}
}

// noMetrics: with monitoring none no node serves metrics and the monitoring objects are gone.
func (s *suite) noMetrics(t *testing.T, ctx context.Context) {
	ns := s.env.Namespace
	for _, obj := range []string{"service/" + monitoring.MetricsServiceName, "servicemonitor/" + kraft.StatefulSetName, "prometheusrule/" + kraft.StatefulSetName, "configmap/" + kraft.StatefulSetName + "-dashboard"} {
		if out, err := kubectl(ctx, "-n", ns, "get", obj, "--ignore-not-found", "-o", "name"); err != nil || out != "" {
			t.Errorf("%s still there with monitoring none: %q %v", obj, out, err)
		}
	}
	for i := range 3 {
		ip, err := kubectl(ctx, "-n", ns, "get", "pod", kraft.PodName(i), "-o", "jsonpath={.status.podIP}")
		if err != nil {
			t.Fatal(err)
		}
		conn, err := net.DialTimeout("tcp", net.JoinHostPort(ip, strconv.Itoa(monitoring.MetricsPort)), 3*time.Second)
		if err == nil {
			conn.Close()
			t.Errorf("%s (%s) still answers on the metrics port with monitoring none", kraft.PodName(i), ip)
		}
	}
}
