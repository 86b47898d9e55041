//go:build image

package image_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kafka-kraft/kafka-kraft/monitoring"
)

// sample is one line of the Prometheus text format.
type sample struct {
	labels string
	value  float64
}

// scrape is one node's /metrics, by series name.
type scrape map[string][]sample

// sum adds the values of name (with labels containing every of match).
func (s scrape) sum(name string, match ...string) float64 {
	var total float64
	for _, x := range s[name] {
		ok := true
		for _, m := range match {
			ok = ok && strings.Contains(x.labels, m)
		}
		if ok {
			total += x.value
		}
	}
	return total
}

// value is the single value of an unlabelled series; NaN-free: a missing series fails t.
func (s scrape) value(t testing.TB, node int, name string) float64 {
	t.Helper()
	if len(s[name]) != 1 {
		t.Fatalf("kafka-%d serves %d samples of %s, want 1", node, len(s[name]), name)
	}
	return s[name][0].value
}

// metricsURL is a node's exporter address on the cluster's docker network (the host routes to it).
func (c *cluster) metricsURL(ordinal int) string {
	c.t.Helper()
	ip := strings.TrimSpace(mustDocker(c.t, time.Minute, "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", c.container(ordinal)))
	return fmt.Sprintf("http://%s:%d/metrics", ip, monitoring.MetricsPort)
}

// scrapeNode reads a node's metrics once, as Prometheus would, and how long it took.
func scrapeNode(ctx context.Context, url string) (scrape, time.Duration, error) {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	s, err := parseMetrics(resp.Body)
	return s, time.Since(start), err
}

func parseMetrics(r io.Reader) (scrape, error) {
	out := scrape{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			return nil, fmt.Errorf("bad line %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("bad value in %q: %w", line, err)
		}
		name, labels, _ := strings.Cut(line[:i], "{")
		out[name] = append(out[name], sample{labels: labels, value: v})
	}
	return out, sc.Err()
}

// testMetrics: every node serves the series the alerts and the dashboard read (monitoring.Produced;
// the per-topic ones once a topic had traffic), with values that agree with the cluster's state.
func testMetrics(t *testing.T, c *cluster, nodes int) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	union := map[string]bool{}
	var leaders []float64
	var activeControllers, maxActiveBrokers float64
	var took []string
	for n := range nodes {
		url := c.metricsURL(n)
		s, d, err := scrapeNode(ctx, url)
		if err != nil {
			t.Fatalf("kafka-%d: %v", n, err)
		}
		took = append(took, fmt.Sprintf("kafka-%d %s (exporter's own %.3fs, %d series)", n, d.Round(time.Millisecond), s.value(t, n, "jmx_scrape_duration_seconds"), len(s)))
		for name := range s {
			union[name] = true
		}
		if v := s.value(t, n, "kafka_server_broker_state"); v != 3 {
			t.Errorf("kafka-%d: broker state %v, want 3 (RUNNING)", n, v)
		}
		if v := s.value(t, n, "kafka_server_under_replicated_partitions"); v != 0 {
			t.Errorf("kafka-%d: %v under-replicated partitions in a healthy cluster", n, v)
		}
		if v := s.value(t, n, "jmx_scrape_error"); v != 0 {
			t.Errorf("kafka-%d: the exporter reports a scrape error", n)
		}
		if v := s.sum("jvm_memory_used_bytes", `area="heap"`); v <= 0 {
			t.Errorf("kafka-%d: heap used %v", n, v)
		}
		if v := s.value(t, n, "kafka_process_cpu_seconds_total"); v <= 0 || v > 3600 {
			t.Errorf("kafka-%d: process CPU %v s, want a few seconds", n, v)
		}
		leaders = append(leaders, s.value(t, n, "kafka_raft_current_leader"))
		activeControllers += s.value(t, n, "kafka_controller_active_controller")
		maxActiveBrokers = max(maxActiveBrokers, s.value(t, n, "kafka_controller_active_brokers"))
	}
	t.Logf("METRICS scrape of each node: %s", strings.Join(took, "; "))
	var missing []string
	for name := range monitoring.Produced() {
		if !union[name] {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("no node serves %v: an alert or panel reads them (monitoring.Rules vs this Kafka's MBeans)", missing)
	}
	for _, l := range leaders {
		if l < 0 || l != leaders[0] {
			t.Errorf("quorum leader as the nodes see it: %v, want one id >= 0", leaders)
			break
		}
	}
	if activeControllers != 1 {
		t.Errorf("active controllers summed over the nodes: %v, want 1", activeControllers)
	}
	if maxActiveBrokers != float64(nodes) {
		t.Errorf("active brokers (active controller): %v, want %d", maxActiveBrokers, nodes)
	}
}

// clusterMetric sums a series over the given nodes' scrapes (nodes that do not answer are skipped:
// they are the stopped ones).
func clusterMetric(ctx context.Context, urls map[int]string, name string) (float64, error) {
	var total float64
	for n, url := range urls {
		s, _, err := scrapeNode(ctx, url)
		if err != nil {
			return 0, fmt.Errorf("kafka-%d: %w", n, err)
		}
		total += s.sum(name)
	}
	return total, nil
}
