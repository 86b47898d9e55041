package smoke

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Tests in this file are the client tier: the real kafka-go client against
// kfake, franz-go's in-process Kafka with three brokers that speaks the real
// protocol.

func newCluster(t testing.TB, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(3)}, opts...)...)
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// testConfig is a small, quick run.
func testConfig(c *kfake.Cluster, topic string) Config {
	return Config{
		Brokers:         c.ListenAddrs(),
		Topic:           topic,
		ExpectedBrokers: 3,
		Messages:        3000,
		MessageSize:     256,
		Timeout:         20 * time.Second,
		RequestTimeout:  5 * time.Second,
	}
}

func TestRunPassesOnHealthyCluster(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	cfg := testConfig(c, "")

	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Brokers != 3 || len(res.BrokerAddrs) != 3 {
		t.Errorf("Brokers = %d %v, want 3", res.Brokers, res.BrokerAddrs)
	}
	if res.ControllerID < 0 {
		t.Errorf("ControllerID = %d, want a broker id", res.ControllerID)
	}
	if res.Topic != DefaultTopic || !res.TopicCreated {
		t.Errorf("Topic = %q created=%v, want %q created", res.Topic, res.TopicCreated, DefaultTopic)
	}
	if res.Partitions != 3 || res.ReplicationFactor != 3 {
		t.Errorf("Partitions, ReplicationFactor = %d, %d; want 3, 3 (fitted to 3 brokers)", res.Partitions, res.ReplicationFactor)
	}
	if res.Messages != 3000 || res.Bytes != 3000*256 || res.ForeignRecords != 0 {
		t.Errorf("Messages, Bytes, ForeignRecords = %d, %d, %d; want 3000, %d, 0", res.Messages, res.Bytes, res.ForeignRecords, 3000*256)
	}
	if res.ProduceMsgsPerSec <= 0 || res.ProduceMBPerSec <= 0 || res.ConsumeMsgsPerSec <= 0 || res.ConsumeMBPerSec <= 0 {
		t.Errorf("throughput not measured: %+v", res)
	}
	lat := []time.Duration{res.ProduceLatencyP50, res.ProduceLatencyP95, res.ProduceLatencyP99, res.ProduceLatencyP999, res.ProduceLatencyMax}
	for i := range lat {
		if lat[i] <= 0 || (i > 0 && lat[i] < lat[i-1]) {
			t.Errorf("latencies p50, p95, p99, p99.9, max = %v: want positive and non-decreasing", lat)
			break
		}
	}
	if res.ProduceLatencyMax > res.ProduceElapsed {
		t.Errorf("max latency %s exceeds the produce phase %s", res.ProduceLatencyMax, res.ProduceElapsed)
	}
	if res.Elapsed <= 0 || res.Elapsed > cfg.Timeout {
		t.Errorf("Elapsed = %s, want within (0, %s]", res.Elapsed, cfg.Timeout)
	}
	var sb strings.Builder
	if err := res.WriteSummary(&sb); err != nil || !strings.Contains(sb.String(), "smoke OK: 3 brokers") {
		t.Errorf("summary = %q, %v", sb.String(), err)
	}
	t.Log("\n" + sb.String())
}

func TestRunReusesExistingTopicAndReadsOnlyItsOwnMessages(t *testing.T) {
	t.Parallel()
	const topic = "seeded"
	c := newCluster(t, kfake.SeedTopics(2, topic))
	cfg := testConfig(c, topic)
	cfg.Messages = 500
	cfg.Partitions = 5 // ignored: the topic exists

	first, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("first Run: %v", err)
	}
	second, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("second Run on the same topic: %v", err)
	}
	for i, res := range []*Result{first, second} {
		if res.TopicCreated || res.Partitions != 2 {
			t.Errorf("run %d: created=%v partitions=%d, want the seeded topic (2 partitions) reused", i+1, res.TopicCreated, res.Partitions)
		}
		if res.Messages != 500 || res.ForeignRecords != 0 {
			t.Errorf("run %d: Messages=%d ForeignRecords=%d, want 500 and 0 (earlier records are before the start offsets)", i+1, res.Messages, res.ForeignRecords)
		}
	}
	if first.RunID == second.RunID {
		t.Errorf("both runs have run id %s", first.RunID)
	}
}

// TestRunDetectsLostMessages deletes records for real (DeleteRecords moves
// partition 1's log start past its first 17 records) between produce and
// consume.
func TestRunDetectsLostMessages(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	cfg := testConfig(c, "lossy")
	cfg.afterProduce = func(ctx context.Context, info hookInfo) error {
		return deleteRecords(ctx, c, info.Topic, 1, 17)
	}

	res, err := Run(context.Background(), cfg)
	t.Logf("error: %v", err)
	var verr *VerifyError
	if !errors.As(err, &verr) {
		t.Fatalf("Run error = %v, want a *VerifyError", err)
	}
	if verr.Lost != 17 || verr.FirstLostPartition != 1 || verr.Duplicated+verr.Corrupt+verr.Misplaced+verr.OutOfOrder != 0 {
		t.Errorf("VerifyError = %+v, want 17 lost from partition 1 and nothing else", verr)
	}
	if want := "lost 17 of 3000 acknowledged messages (first missing seq"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
	if res == nil || res.ProduceMsgsPerSec <= 0 {
		t.Errorf("the partial result should keep the produce figures: %+v", res)
	}
}

// TestRunDetectsDuplicates appends a second copy of message 5 to partition 0
// between produce and consume.
func TestRunDetectsDuplicates(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	cfg := testConfig(c, "dupes")
	cfg.Messages = 300
	cfg.afterProduce = func(ctx context.Context, info hookInfo) error {
		v := make([]byte, info.MessageSize)
		encodeMessage(v, info.RunID, 5)
		return produceRaw(ctx, c, info.Topic, 0, v)
	}

	_, err := Run(context.Background(), cfg)
	t.Logf("error: %v", err)
	var verr *VerifyError
	if !errors.As(err, &verr) || verr.Duplicated != 1 || verr.FirstDuplicateSeq != 5 || verr.Lost != 0 {
		t.Fatalf("Run error = %v (%+v), want one duplicate of seq 5", err, verr)
	}
	if !strings.Contains(err.Error(), "duplicated 1 messages that no retry explains (first seq 5, partition 0") {
		t.Errorf("error %q does not name the duplicate", err)
	}
}

// TestRunRetriesTransientErrors makes the cluster answer the first
// ListOffsets requests with LeaderNotAvailable, the first produce with
// NotLeaderForPartition and the first fetch with UnknownTopicOrPartition,
// as a cluster may right after a topic is created or a leader moves. The
// run must retry through them and pass.
func TestRunRetriesTransientErrors(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	var listHits, produceHits, fetchHits atomic.Int32
	for range 2 {
		c.ControlKey(int16(kmsg.ListOffsets), func(req kmsg.Request) (kmsg.Response, error, bool) {
			listHits.Add(1)
			return listOffsetsErrorResponse(req, kerr.LeaderNotAvailable.Code), nil, true
		})
	}
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		produceHits.Add(1)
		r := req.(*kmsg.ProduceRequest)
		resp := r.ResponseKind().(*kmsg.ProduceResponse)
		for _, rt := range r.Topics {
			t := kmsg.NewProduceResponseTopic()
			t.Topic, t.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				p := kmsg.NewProduceResponseTopicPartition()
				p.Partition, p.ErrorCode = rp.Partition, kerr.NotLeaderForPartition.Code
				t.Partitions = append(t.Partitions, p)
			}
			resp.Topics = append(resp.Topics, t)
		}
		return resp, nil, true
	})
	c.ControlKey(int16(kmsg.Fetch), func(req kmsg.Request) (kmsg.Response, error, bool) {
		fetchHits.Add(1)
		r := req.(*kmsg.FetchRequest)
		resp := r.ResponseKind().(*kmsg.FetchResponse)
		for _, rt := range r.Topics {
			t := kmsg.NewFetchResponseTopic()
			t.Topic, t.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				p := kmsg.NewFetchResponseTopicPartition()
				p.Partition, p.ErrorCode = rp.Partition, kerr.UnknownTopicOrPartition.Code
				p.HighWatermark, p.LastStableOffset, p.LogStartOffset = -1, -1, -1
				t.Partitions = append(t.Partitions, p)
			}
			resp.Topics = append(resp.Topics, t)
		}
		return resp, nil, true
	})
	cfg := testConfig(c, "flaky")
	cfg.Messages = 300

	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.ProduceRetries < 1 {
		t.Errorf("ProduceRetries = %d, want the NotLeaderForPartition answer retried", res.ProduceRetries)
	}
	if l, p, f := listHits.Load(), produceHits.Load(), fetchHits.Load(); l != 2 || p != 1 || f != 1 {
		t.Errorf("injected errors answered %d ListOffsets, %d Produce, %d Fetch requests; want 2, 1, 1", l, p, f)
	}
}

func TestRunPacesAtRate(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	cfg := testConfig(c, "paced")
	cfg.Messages = 400
	cfg.Rate = 2000 // 0.2s

	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.ProduceElapsed < 190*time.Millisecond || res.ProduceMsgsPerSec > 2100 {
		t.Errorf("produced 400 messages in %s (%.0f msg/s), want about 0.2s at no more than 2000 msg/s", res.ProduceElapsed, res.ProduceMsgsPerSec)
	}
	if res.ProduceLatencyP50 > 100*time.Millisecond {
		t.Errorf("p50 latency %s at a light load, want well under the 0.2s run", res.ProduceLatencyP50)
	}
}

func TestRunFailsFastOnUnreachableAddress(t *testing.T) {
	t.Parallel()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()

	tests := []struct {
		name string
		addr string
	}{
		{name: "port 1", addr: "127.0.0.1:1"},
		{name: "closed listener", addr: closedAddr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			_, err := Run(context.Background(), Config{Brokers: []string{tt.addr}, Timeout: 30 * time.Second})
			if err == nil {
				t.Fatal("Run succeeded against a closed port")
			}
			t.Logf("error: %v", err)
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("took %s, want a fast failure", took)
			}
			if !strings.Contains(err.Error(), tt.addr) || !strings.Contains(err.Error(), "does not answer") {
				t.Errorf("error %q should name %s and say it does not answer", err, tt.addr)
			}
		})
	}
}

// TestRunEndsWithinTimeoutOnSilentBroker: a listener that accepts
// connections and never answers must not hang the run.
func TestRunEndsWithinTimeoutOnSilentBroker(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { conn.Close() })
		}
	}()

	start := time.Now()
	_, err = Run(context.Background(), Config{Brokers: []string{ln.Addr().String()}, Timeout: 3 * time.Second, RequestTimeout: 500 * time.Millisecond})
	if err == nil {
		t.Fatal("Run succeeded against a silent listener")
	}
	t.Logf("error: %v", err)
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("took %s, want at most the 3s timeout", took)
	}
	if !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Errorf("error %q does not name the address %s", err, ln.Addr())
	}
}

// TestRunTimesOutWhenProducesAreNeverAcknowledged: a half-broken cluster
// whose metadata works but whose produce requests are swallowed.
func TestRunTimesOutWhenProducesAreNeverAcknowledged(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		return nil, nil, true // never answer
	})
	cfg := testConfig(c, "black-hole")
	cfg.Messages = 100
	cfg.Timeout = 1500 * time.Millisecond
	cfg.RequestTimeout = 300 * time.Millisecond

	start := time.Now()
	_, err := Run(context.Background(), cfg)
	if err == nil {
		t.Fatal("Run succeeded although no produce was acknowledged")
	}
	t.Logf("error: %v", err)
	if took := time.Since(start); took > cfg.Timeout+time.Second {
		t.Errorf("took %s, want about the %s timeout", took, cfg.Timeout)
	}
	if !strings.Contains(err.Error(), "produce to black-hole") || !strings.Contains(err.Error(), "leader broker") {
		t.Errorf("error %q should say the produce failed and name the partition leaders", err)
	}
}

func TestRunRejectsReplicationFactorAboveBrokerCount(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	cfg := testConfig(c, "too-replicated")
	cfg.ReplicationFactor = 4
	_, err := Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "ReplicationFactor = 4 exceeds the 3 brokers") {
		t.Fatalf("Run error = %v, want one naming ReplicationFactor and the broker count", err)
	}
}

func TestRunWaitsForExpectedBrokersUntilTimeout(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	cfg := testConfig(c, "")
	cfg.ExpectedBrokers = 5
	cfg.Timeout = 2500 * time.Millisecond // long enough for progress lines
	var progress strings.Builder
	cfg.Progress = &progress
	_, err := Run(context.Background(), cfg)
	t.Logf("error: %v\nprogress:\n%s", err, progress.String())
	if err == nil || !strings.Contains(err.Error(), "expected 5 brokers") || !strings.Contains(err.Error(), "lists 3") {
		t.Fatalf("Run error = %v, want one saying 5 brokers were expected and 3 listed", err)
	}
	if !strings.Contains(progress.String(), "checking metadata - retrying (attempt") {
		t.Errorf("progress lines do not show the wait:\n%s", progress.String())
	}
}

// deleteRecords moves the log start of topic's partition to offset.
func deleteRecords(ctx context.Context, c *kfake.Cluster, topic string, partition int32, offset int64) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		return err
	}
	defer cl.Close()
	req := kmsg.NewPtrDeleteRecordsRequest()
	rt := kmsg.NewDeleteRecordsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewDeleteRecordsRequestTopicPartition()
	rp.Partition, rp.Offset = partition, offset
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return err
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return err
			}
		}
	}
	return nil
}

// produceRaw appends value to one partition.
func produceRaw(ctx context.Context, c *kfake.Cluster, topic string, partition int32, value []byte) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return err
	}
	defer cl.Close()
	return cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Partition: partition, Value: value}).FirstErr()
}

// listOffsetsErrorResponse answers a ListOffsets request with code for every partition it asks.
func listOffsetsErrorResponse(req kmsg.Request, code int16) kmsg.Response {
	r := req.(*kmsg.ListOffsetsRequest)
	resp := r.ResponseKind().(*kmsg.ListOffsetsResponse)
	for _, rt := range r.Topics {
		t := kmsg.NewListOffsetsResponseTopic()
		t.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			p := kmsg.NewListOffsetsResponseTopicPartition()
			p.Partition, p.ErrorCode = rp.Partition, code
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return resp
}
