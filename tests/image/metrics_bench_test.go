//go:build image

package image_test

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	exporterWarmUp  = 30 * time.Second
	exporterWindow  = 60 * time.Second
	exporterScrapes = time.Second // one scrape a second: 15x the ServiceMonitor's rate, so the cost shows
)

// BenchmarkExporterCost measures what the Prometheus JMX exporter costs a node: the same idle
// one-node cluster without the exporter (KAFKA_METRICS_PORT empty) and with it, scraped once a
// second; the JVM's CPU time over the window and its resident memory at the end, and the scrape
// durations. `make bench-metrics`.
func BenchmarkExporterCost(b *testing.B) {
	image := benchImage(b)
	type figures struct {
		cpu     time.Duration
		rss     int
		scrapes []time.Duration
	}
	results := map[string]figures{}
	for _, mode := range []string{"off", "on"} {
		b.Run(mode, func(b *testing.B) {
			for range b.N {
				c := newLabelledCluster(b, image, testConfig(1, benchExternalPortBase), benchLabel)
				if mode == "off" {
					c.env = []string{"KAFKA_METRICS_PORT="}
				}
				c.start(0)
				eventually(b, quorumTimeout, "broker 0 registered", func(ctx context.Context) error {
					return brokersVisible(ctx, c.externalAddr(0), c.rendered.ClusterID, 0)
				})
				url := ""
				if mode == "on" {
					url = c.metricsURL(0)
				}
				// The warm-up scrapes too: the figures are the steady state, JIT compilation paid.
				scrapeFor(b, url, exporterWarmUp)
				cpu0 := jvmCPU(b, c)
				f := figures{scrapes: scrapeFor(b, url, exporterWindow)}
				f.cpu = jvmCPU(b, c) - cpu0
				f.rss = jvmRSSKiB(b, c)
				results[mode] = f
				b.ReportMetric(f.cpu.Seconds(), "cpu-s/window")
				b.ReportMetric(float64(f.rss)/1024, "rss-MiB")
			}
		})
	}
	off, on := results["off"], results["on"]
	if on.rss == 0 || off.rss == 0 {
		return
	}
	sort.Slice(on.scrapes, func(i, j int) bool { return on.scrapes[i] < on.scrapes[j] })
	p := func(q float64) time.Duration { return on.scrapes[int(q*float64(len(on.scrapes)-1))] }
	// Printed, not logged: a benchmark with sub-benchmarks drops its own log lines.
	fmt.Printf("EXPORTER cost on one idle node over %s (load %s): JVM CPU %.2f s without, %.2f s with %d scrapes (%.1f ms CPU per scrape); RSS %d MiB without, %d MiB with (+%d MiB); scrape p50 %s, p99 %s, max %s\n",
		exporterWindow, loadAvg(), off.cpu.Seconds(), on.cpu.Seconds(), len(on.scrapes),
		float64((on.cpu-off.cpu).Milliseconds())/float64(max(1, len(on.scrapes))),
		off.rss/1024, on.rss/1024, (on.rss-off.rss)/1024, p(0.5).Round(time.Millisecond), p(0.99).Round(time.Millisecond), p(1).Round(time.Millisecond))
}

// scrapeFor scrapes url once a second for d (url "": only waits) and returns the durations.
func scrapeFor(b *testing.B, url string, d time.Duration) []time.Duration {
	var out []time.Duration
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if url != "" {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, took, err := scrapeNode(ctx, url)
			cancel()
			if err != nil {
				b.Fatal(err)
			}
			out = append(out, took)
		}
		time.Sleep(exporterScrapes)
	}
	return out
}

// jvmCPU is the node JVM's user + system CPU time (PID 1 of the container).
func jvmCPU(b *testing.B, c *cluster) time.Duration {
	b.Helper()
	stat := mustDocker(b, time.Minute, "exec", c.container(0), "cat", "/proc/1/stat")
	// Fields after the command name (which may hold spaces) in parentheses: utime and stime are
	// the 14th and 15th fields of the line, in clock ticks (100 per second on Linux).
	rest := stat[strings.LastIndexByte(stat, ')')+2:]
	f := strings.Fields(rest)
	ut, err1 := strconv.Atoi(f[11])
	st, err2 := strconv.Atoi(f[12])
	if err1 != nil || err2 != nil {
		b.Fatalf("bad /proc/1/stat: %q", stat)
	}
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// jvmRSSKiB is the node JVM's resident set (VmRSS).
func jvmRSSKiB(b *testing.B, c *cluster) int {
	b.Helper()
	status := mustDocker(b, time.Minute, "exec", c.container(0), "cat", "/proc/1/status")
	for _, line := range strings.Split(status, "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kib int
			if _, err := fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kib); err == nil {
				return kib
			}
		}
	}
	b.Fatalf("no VmRSS in /proc/1/status:\n%s", status)
	return 0
}
