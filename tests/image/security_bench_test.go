//go:build image

package image_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kafka-kraft/kafka-kraft/internal/clientauth"
	"github.com/kafka-kraft/kafka-kraft/internal/kraft"
	"github.com/kafka-kraft/kafka-kraft/internal/smoke"
)

// BenchmarkSmokeTLSVersusPlaintext measures what security "tls" costs: the same smoke run
// (acks=all, 3 partitions with RF 3, benchMessages of benchMessageSize bytes) against a 3-node
// cluster with security "none" and then against one with security "tls" (TLS 1.3 on every
// listener, replication included, SCRAM-SHA-512 for the client), one cluster at a time on this
// machine, each warmed up by an untimed run first. It reports both produce rates and their ratio.
//
//	go test -tags image -run '^$' -bench SmokeTLSVersusPlaintext -benchtime 1x -timeout 30m ./tests/image/
func BenchmarkSmokeTLSVersusPlaintext(b *testing.B) {
	image := benchImage(b)
	rates := map[string]float64{}
	for _, mode := range []string{kraft.SecurityNone, kraft.SecurityTLS} {
		cfg := testConfig(3, benchExternalPortBase)
		cfg.Security.Mode = mode
		c := newLabelledCluster(b, image, cfg, benchLabel)
		start := time.Now()
		c.start(0, 1, 2)
		c.waitReady(b, 0, 1, 2)
		if mode == kraft.SecurityTLS {
			if out, err := c.runClusterJob(); err != nil {
				b.Fatalf("cluster job: %v\n%s", err, out)
			}
		}
		b.Logf("security %s: cluster ready in %s (load %s)", mode, time.Since(start).Round(100*time.Millisecond), loadAvg())
		run := func(topic string) *smoke.Result {
			res, err := smoke.Run(context.Background(), smoke.Config{
				Brokers: c.externalAddrs(), Auth: c.externalAuth(), ExpectedBrokers: 3, Topic: topic,
				Partitions: benchPartitions, ReplicationFactor: benchRF, Messages: benchMessages, MessageSize: benchMessageSize, Timeout: benchRunTimeout,
			})
			if err != nil {
				b.Fatalf("security %s, %s: %v", mode, topic, err)
			}
			return res
		}
		run("warm-up")
		// Both clusters in one benchmark run: b.N rounds each (run it with -benchtime 1x or 3x).
		var sum float64
		n := 0
		for range b.N {
			n++
			res := run(fmt.Sprintf("bench-%d", n))
			sum += res.ProduceMsgsPerSec
			b.Logf("security %-4s run %d: produce %6.0f msg/s, p99 %s; consume %6.0f msg/s (%s)", mode, n, res.ProduceMsgsPerSec,
				res.ProduceLatencyP99.Round(time.Millisecond), res.ConsumeMsgsPerSec, authName(c.externalAuth()))
		}
		rates[mode] = sum / float64(n)
		c.cleanup()
	}
	b.ReportMetric(rates[kraft.SecurityNone], "plaintext-msg/s")
	b.ReportMetric(rates[kraft.SecurityTLS], "tls-scram-msg/s")
	b.ReportMetric(rates[kraft.SecurityTLS]/rates[kraft.SecurityNone], "tls/plaintext")
}

func authName(a clientauth.Auth) string { return a.String() }
