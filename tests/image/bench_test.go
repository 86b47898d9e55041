//go:build image

package image_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kafka-kraft/kafka-kraft/internal/kraft"
	"github.com/kafka-kraft/kafka-kraft/internal/smoke"
)

// The comparison of issue 4: the same load through the project's smoke test and through Kafka's
// own kafka-producer-perf-test, on one cluster, in one run.
const (
	// benchExternalPortBase publishes the benchmark cluster's EXTERNAL listeners on 32120-32122,
	// clear of the image tests that may run beside it (32090-32092, 32095) and of the Kubernetes
	// tiers' NodePorts (31090 up).
	benchExternalPortBase = externalBase + 30
	// benchLabel replaces testLabel on the benchmark's docker objects: prepareImages removes every
	// container labelled testLabel as a leftover of a killed run, so image tests started beside the
	// benchmark would otherwise remove its cluster mid-measurement.
	benchLabel = "kafka-kraft.test=image-bench"

	benchMessages    = 50000
	benchMessageSize = 512
	benchPartitions  = 3
	benchRF          = 3
	benchMinISR      = 2
	// benchLinger is smoke's linger (Kafka 4's default linger.ms), given to the perf test explicitly.
	benchLinger = 5 * time.Millisecond
	// benchSmokeBatchBytes is the most a smoke produce request carries per partition (the
	// producer's maxBatchBytes): it sends whatever accumulated while the previous request was in
	// flight, up to that. The Java producer batches by bytes too (batch.size, default 16384: about
	// 30 records of 512 B, with up to 5 requests in flight per connection).
	benchSmokeBatchBytes = 1000000
	// benchRunTimeout bounds each client run (50,000 messages take seconds when healthy).
	benchRunTimeout = 5 * time.Minute
)

// benchMatchedProps make the Java producer batch and pipeline like smoke's producer: batches of up
// to benchSmokeBatchBytes and one request in flight per broker, which with one partition led by
// each broker is smoke's one per partition.
var benchMatchedProps = []string{
	"batch.size=" + strconv.Itoa(benchSmokeBatchBytes),
	"max.in.flight.requests.per.connection=1",
}

// benchPaced are the paced comparisons: the latency of both clients at a fixed rate. On the
// shared 2-core machine 5000 msg/s already saturates the brokers (small batches at a fixed rate
// mean many requests), so 1000 msg/s shows latency below saturation.
var benchPaced = []struct{ rate, messages int }{
	{rate: 5000, messages: benchMessages},
	{rate: 1000, messages: 10000},
}

// BenchmarkSmokeVersusProducerPerf starts one 3-node cluster from the project's image (outside
// the timed part), warms the brokers up, then per iteration produces 50,000 records of 512 bytes
// with acks=all and linger 5 ms to fresh topics of 3 partitions, replication factor 3 and
// min.insync.replicas 2, one client at a time:
//
//  1. smoke.Run from the host through the EXTERNAL listeners (published ports on 127.0.0.1);
//  2. kafka-producer-perf-test (org.apache.kafka.tools.ProducerPerformance from the image) in a
//     container on the host's network namespace, bootstrapping from the same 127.0.0.1 addresses:
//     same listener, same advertised addresses, same docker port publishing path, so the two
//     figures differ by the client only. This is the comparison reported as smoke/perf;
//  3. the perf test again with batching and pipelining matched to smoke's writer
//     (benchMatchedProps), to tell client settings from client implementation;
//  4. the perf test again on the cluster's docker network through the INTERNAL listener, for
//     scale: what the host-to-container path costs;
//  5. both clients paced (smoke Config.Rate, perf --throughput) at each of benchPaced, for latency.
//
// Even iterations run each comparison's clients in reverse order; -benchtime 2x balances the
// order. It reports the throughput of each (averaged over the iterations), the ratio smoke/perf
// and the latency percentiles, and prints one COMPARE block per comparison and iteration with the
// load averages before and after, since the machine is shared. Both clients measure latency per
// record from the moment it is handed to the producer to its acknowledgement, batching and
// queueing included; the perf test rounds its percentiles to whole milliseconds. -v adds the perf
// test's interval lines.
//
//	go test -tags image -run '^$' -bench SmokeVersusProducerPerf -benchtime 1x -timeout 30m ./tests/image/
func BenchmarkSmokeVersusProducerPerf(b *testing.B) {
	image := benchImage(b)
	c := startBenchCluster(b, image)
	external := c.externalAddrs()
	internal := make([]string, c.cfg.Replicas)
	for i := range internal {
		internal[i] = kraft.PodHost(i, testNamespace, c.cfg.ClusterDomain) + ":" + strconv.Itoa(kraft.InternalPort)
	}

	// The first records a fresh broker sees run through its interpreter and cold caches: one
	// untimed smoke run takes that cost off whichever client would otherwise go first.
	benchTopic(b, external, "bench-warmup")
	if _, err := smokeRun(b, external, "bench-warmup", benchMessages, 0); err != nil {
		b.Fatalf("warm-up: %v", err)
	}

	metrics := map[string]float64{}
	add := func(unit string, v float64) { metrics[unit] += v }
	iter := 0
	// b.Loop calls the function once however many iterations run, so the cluster starts once; it
	// resets the timer on its first call, so the start and warm-up above are not timed.
	for b.Loop() {
		iter++
		// inOrder runs the clients of one comparison one after the other, in reverse order on even
		// iterations, so that -benchtime 2x cancels what going first or second does to a figure.
		inOrder := func(runs ...benchClient) map[string]producerFigures {
			if iter%2 == 0 {
				slices.Reverse(runs)
			}
			out := make(map[string]producerFigures, len(runs))
			for _, r := range runs {
				name := fmt.Sprintf("bench-%d-%s", iter, r.name)
				b.StopTimer()
				benchTopic(b, external, name)
				b.StartTimer()
				out[r.name] = r.run(name)
			}
			return out
		}
		smokeClient := func(name string, messages, rate int) benchClient {
			return benchClient{name, func(topic string) producerFigures {
				f, err := smokeRun(b, external, topic, messages, rate)
				if err != nil {
					b.Fatalf("%s: %v", name, err)
				}
				return f
			}}
		}
		perfClient := func(name, network string, bootstrap []string, messages, rate int, props ...string) benchClient {
			return benchClient{name, func(topic string) producerFigures {
				return producerPerf(b, c, network, bootstrap, topic, messages, rate, props...)
			}}
		}

		load := loadAvg()
		got := inOrder(
			smokeClient("smoke", benchMessages, 0),
			perfClient("perf", "host", external, benchMessages, -1),
			perfClient("perf-matched", "host", external, benchMessages, -1, benchMatchedProps...),
			perfClient("perf-internal", c.network, internal, benchMessages, -1),
		)
		sm, pf, pm, pi := got["smoke"], got["perf"], got["perf-matched"], got["perf-internal"]
		// Straight to stderr, like the tier's TIMING lines: a benchmark's log is cut to 10 lines
		// without -v.
		fmt.Fprintf(os.Stderr, "COMPARE unpaced, iteration %d, %d x %d B, acks=all, linger %s, %d partitions, RF %d, min.insync %d; load %s -> %s\n"+
			"  %-44s %s\n  %-44s %s\n  %-44s %s\n  %-44s %s\n"+
			"  smoke/perf: throughput %.2f, p50 %.2f, p99 %.2f; smoke/perf-matched: throughput %.2f, p99 %.2f\n",
			iter, benchMessages, benchMessageSize, benchLinger, benchPartitions, benchRF, benchMinISR, load, loadAvg(),
			"smoke (host, EXTERNAL)", sm, "perf-test (host network, EXTERNAL)", pf,
			"perf-test matched (host network, EXTERNAL)", pm, "perf-test (docker network, INTERNAL)", pi,
			sm.msgsPerSec/pf.msgsPerSec, sm.p50/pf.p50, sm.p99/pf.p99, sm.msgsPerSec/pm.msgsPerSec, sm.p99/pm.p99)
		add("smoke-msgs/s", sm.msgsPerSec)
		add("perf-msgs/s", pf.msgsPerSec)
		add("perf-matched-msgs/s", pm.msgsPerSec)
		add("perf-internal-msgs/s", pi.msgsPerSec)
		add("smoke-p99-ms", sm.p99)
		add("perf-p99-ms", pf.p99)

		for _, p := range benchPaced {
			load := loadAvg()
			got := inOrder(
				smokeClient(fmt.Sprintf("smoke-%d", p.rate), p.messages, p.rate),
				perfClient(fmt.Sprintf("perf-%d", p.rate), "host", external, p.messages, p.rate),
			)
			psm, ppf := got[fmt.Sprintf("smoke-%d", p.rate)], got[fmt.Sprintf("perf-%d", p.rate)]
			fmt.Fprintf(os.Stderr, "COMPARE paced at %d msg/s, iteration %d, %d x %d B; load %s -> %s\n  %-44s %s\n  %-44s %s\n  smoke/perf: p50 %.2f, p99 %.2f\n",
				p.rate, iter, p.messages, benchMessageSize, load, loadAvg(), "smoke", psm, "perf-test", ppf,
				psm.p50/ppf.p50, psm.p99/ppf.p99)
			add(fmt.Sprintf("paced%d-smoke-p50-ms", p.rate), psm.p50)
			add(fmt.Sprintf("paced%d-smoke-p99-ms", p.rate), psm.p99)
			add(fmt.Sprintf("paced%d-perf-p50-ms", p.rate), ppf.p50)
			add(fmt.Sprintf("paced%d-perf-p99-ms", p.rate), ppf.p99)
		}
	}
	for unit, sum := range metrics {
		b.ReportMetric(sum/float64(iter), unit)
	}
	b.ReportMetric(metrics["smoke-msgs/s"]/metrics["perf-msgs/s"], "smoke/perf")
}

// benchClient is one client run of a comparison: name names it and its topic, run produces to the
// topic (created beforehand) and returns the figures.
type benchClient struct {
	name string
	run  func(topic string) producerFigures
}

// producerFigures are one client run's produce figures; latencies in milliseconds, MB is MiB.
type producerFigures struct {
	records                 int
	msgsPerSec, mbPerSec    float64
	avg, max, p50, p95, p99 float64
	p999                    float64
}

func (f producerFigures) String() string {
	return fmt.Sprintf("%6.0f msg/s %5.2f MiB/s  latency ms: p50 %6.0f  p95 %6.0f  p99 %6.0f  max %6.0f",
		f.msgsPerSec, f.mbPerSec, f.p50, f.p95, f.p99, f.max)
}

// smokeRun runs the smoke test against the topic (created beforehand, so smoke reuses it as it is).
func smokeRun(b *testing.B, addrs []string, topic string, messages, rate int) (producerFigures, error) {
	b.Helper()
	res, err := smoke.Run(context.Background(), smoke.Config{
		Brokers: addrs, ExpectedBrokers: benchRF, Topic: topic,
		Messages: messages, MessageSize: benchMessageSize, Rate: rate, Timeout: benchRunTimeout,
	})
	if err != nil {
		return producerFigures{}, err
	}
	if res.Partitions != benchPartitions || res.ReplicationFactor != benchRF {
		return producerFigures{}, fmt.Errorf("topic %s has %d partitions with RF %d, want %d with RF %d",
			topic, res.Partitions, res.ReplicationFactor, benchPartitions, benchRF)
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return producerFigures{
		records: res.Messages, msgsPerSec: res.ProduceMsgsPerSec, mbPerSec: res.ProduceMBPerSec,
		avg: ms(res.ProduceLatencyAvg), max: ms(res.ProduceLatencyMax), p50: ms(res.ProduceLatencyP50),
		p95: ms(res.ProduceLatencyP95), p99: ms(res.ProduceLatencyP99), p999: ms(res.ProduceLatencyP999),
	}, nil
}

// producerPerf runs kafka-producer-perf-test from the image in a throwaway container on network
// ("host" or the cluster's) with acks=all, linger benchLinger and props, and returns its final
// summary. throughput -1 is unpaced. The tool's interval lines (every 5s) go to the log: the first
// ones show the client JVM warming up.
func producerPerf(b *testing.B, c *cluster, network string, bootstrap []string, topic string, messages, throughput int, props ...string) producerFigures {
	b.Helper()
	name := fmt.Sprintf("%s-perf-%d", c.prefix, time.Now().UnixNano())
	c.track(name, "")
	ctx, cancel := context.WithTimeout(context.Background(), benchRunTimeout)
	defer cancel()
	props = append([]string{"acks=all", "linger.ms=" + strconv.Itoa(int(benchLinger/time.Millisecond))}, props...)
	args := append([]string{"run", "--rm", "--name", name, "--label", c.label, "--network", network,
		"--entrypoint", "/opt/kafka/bin/kafka-run-class", c.image, "org.apache.kafka.tools.ProducerPerformance",
		"--bootstrap-server", strings.Join(bootstrap, ","), "--topic", topic,
		"--num-records", strconv.Itoa(messages), "--record-size", strconv.Itoa(benchMessageSize),
		"--throughput", strconv.Itoa(throughput), "--command-property"}, props...)
	out, err := docker(ctx, args...)
	what := fmt.Sprintf("kafka-producer-perf-test on network %s, %s", network, strings.Join(props, " "))
	if err != nil {
		b.Fatalf("%s: %v\n%s", what, err, out)
	}
	f, err := parseProducerPerf(out)
	if err != nil {
		b.Fatalf("%s: %v\n%s", what, err, out)
	}
	if f.records != messages {
		b.Fatalf("%s: %d of %d records acknowledged\n%s", what, f.records, messages, out)
	}
	var lines []string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "records sent") {
			lines = append(lines, "  "+strings.TrimSpace(line))
		}
	}
	b.Logf("%s:\n%s", what, strings.Join(lines, "\n"))
	return f
}

// perfSummary is the final line of ProducerPerformance, e.g.
// "50000 records sent, 9823.182711 records/sec (4.80 MB/sec), 1503.51 ms avg latency, 2512.00 ms max
// latency, 1630 ms 50th, 2340 ms 95th, 2461 ms 99th, 2503 ms 99.9th." Its interval lines lack the
// percentiles; the count is of acknowledged records only.
var perfSummary = regexp.MustCompile(`(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency, ([\d.]+) ms 50th, ([\d.]+) ms 95th, ([\d.]+) ms 99th, ([\d.]+) ms 99.9th`)

// parseProducerPerf reads the last summary line of ProducerPerformance's output.
func parseProducerPerf(out string) (producerFigures, error) {
	all := perfSummary.FindAllStringSubmatch(out, -1)
	if len(all) == 0 {
		return producerFigures{}, errors.New("no summary line (N records sent, ... ms 99.9th.) in the output")
	}
	m := all[len(all)-1]
	var f producerFigures
	var err error
	if f.records, err = strconv.Atoi(m[1]); err != nil {
		return f, fmt.Errorf("records sent %q: %w", m[1], err)
	}
	for i, dst := range []*float64{&f.msgsPerSec, &f.mbPerSec, &f.avg, &f.max, &f.p50, &f.p95, &f.p99, &f.p999} {
		if *dst, err = strconv.ParseFloat(m[i+2], 64); err != nil {
			return f, fmt.Errorf("summary field %d %q: %w", i+2, m[i+2], err)
		}
	}
	return f, nil
}

func TestParseProducerPerf(t *testing.T) {
	t.Parallel()
	out := "WARN something\n" +
		"24561 records sent, 4910.2 records/sec (2.40 MB/sec), 900.1 ms avg latency, 1500.0 ms max latency.\n" +
		"50000 records sent, 9823.182711 records/sec (4.80 MB/sec), 1503.51 ms avg latency, 2512.00 ms max latency, 1630 ms 50th, 2340 ms 95th, 2461 ms 99th, 2503 ms 99.9th.\n"
	got, err := parseProducerPerf(out)
	if err != nil {
		t.Fatal(err)
	}
	want := producerFigures{records: 50000, msgsPerSec: 9823.182711, mbPerSec: 4.80, avg: 1503.51, max: 2512,
		p50: 1630, p95: 2340, p99: 2461, p999: 2503}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if _, err := parseProducerPerf("24561 records sent, 4910.2 records/sec (2.40 MB/sec), 900.1 ms avg latency, 1500.0 ms max latency.\n"); err == nil {
		t.Error("interval line without percentiles parsed as a summary")
	}
}

// benchImage is the Kafka image: KAFKA_IMAGE when set, else what scripts/build-images.sh builds
// (cached). It does not go through prepareImages, whose sweep of testLabel containers would remove
// the clusters of image tests running beside the benchmark; it sweeps the leftovers of killed
// benchmark runs (benchLabel) instead.
func benchImage(b *testing.B) string {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	removeLeftovers(ctx, benchLabel)
	if ref := os.Getenv("KAFKA_IMAGE"); ref != "" {
		if _, err := docker(ctx, "image", "inspect", ref); err != nil {
			b.Fatalf("KAFKA_IMAGE=%s: %v", ref, err)
		}
		return ref
	}
	imgs, err := buildImages()
	if err != nil {
		b.Fatalf("benchmark cannot run: %v", err)
	}
	return imgs.kafka
}

// startBenchCluster starts a 3-node cluster under benchLabel on benchExternalPortBase and waits
// until every node lists all three brokers.
func startBenchCluster(b *testing.B, image string) *cluster {
	b.Helper()
	c := newLabelledCluster(b, image, testConfig(3, benchExternalPortBase), benchLabel)
	start := time.Now()
	c.start(0, 1, 2)
	for _, addr := range c.externalAddrs() {
		eventually(b, quorumTimeout, "brokers 0,1,2 visible via "+addr, func(ctx context.Context) error {
			return brokersVisible(ctx, addr, c.rendered.ClusterID, 0, 1, 2)
		})
	}
	b.Logf("cluster %s formed in %s (load %s)", c.prefix, time.Since(start).Round(100*time.Millisecond), loadAvg())
	return c
}

// benchTopic creates a topic with the benchmark's layout and waits until every partition has a
// leader and all replicas in sync.
func benchTopic(b *testing.B, addrs []string, topic string) {
	b.Helper()
	createTopic(b, addrs, topic, benchPartitions, benchRF, benchMinISR)
}

// loadAvg is the 1, 5 and 15 minute load averages, to qualify the figures on a shared machine.
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
