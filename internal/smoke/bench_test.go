package smoke

import (
	"context"
	"testing"
	"time"
)

// BenchmarkSmokeKfake runs the default smoke (10000 messages of 512 bytes,
// acks=all, 3 partitions with replication factor 3) against an in-process
// three-broker kfake cluster and reports its throughput and produce latency,
// averaged over the iterations. kfake keeps everything in memory and shares
// the CPU with the client, so these figures describe the client path, not a
// real cluster:
//
//	go test -run '^$' -bench SmokeKfake -benchtime 5x ./internal/smoke/
func BenchmarkSmokeKfake(b *testing.B) {
	c := newCluster(b)
	cfg := Config{Brokers: c.ListenAddrs(), ExpectedBrokers: 3, Timeout: time.Minute}
	var produce, consume, mbps float64
	var p50, p95, p99 time.Duration
	runs := 0
	for b.Loop() {
		runs++
		res, err := Run(context.Background(), cfg)
		if err != nil {
			b.Fatalf("Run: %v", err)
		}
		produce += res.ProduceMsgsPerSec
		mbps += res.ProduceMBPerSec
		consume += res.ConsumeMsgsPerSec
		p50 += res.ProduceLatencyP50
		p95 += res.ProduceLatencyP95
		p99 += res.ProduceLatencyP99
	}
	n := float64(runs)
	b.ReportMetric(produce/n, "produce-msgs/s")
	b.ReportMetric(mbps/n, "produce-MiB/s")
	b.ReportMetric(consume/n, "consume-msgs/s")
	b.ReportMetric(float64(p50)/n/1e6, "p50-ms")
	b.ReportMetric(float64(p95)/n/1e6, "p95-ms")
	b.ReportMetric(float64(p99)/n/1e6, "p99-ms")
}
