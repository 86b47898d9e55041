//go:build image

package image_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// Deadlines. The machine has 2 cores shared with other builds, so JVM starts are slow; every wait
// still ends.
const (
	quorumTimeout  = 4 * time.Minute
	produceTimeout = 2 * time.Minute
	readTimeout    = 2 * time.Minute
	isrTimeout     = 3 * time.Minute
	requestTimeout = 5 * time.Second
	pollInterval   = time.Second
)

// eventually calls f until it returns nil or the deadline passes; the last error explains a timeout.
func eventually(t testing.TB, timeout time.Duration, what string, f func(ctx context.Context) error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for {
		ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
		last = f(ctx)
		cancel()
		if last == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not done after %s: %v", what, timeout, last)
		}
		time.Sleep(pollInterval)
	}
}

// client returns a client with its own transport: kafka-go's default transport is shared and
// caches connections and metadata, which would blur the timings of a cluster that is starting.
// release closes its connections.
func client(addrs []string) (c *kafka.Client, release func()) {
	tr := &kafka.Transport{DialTimeout: 3 * time.Second, MetadataTTL: time.Second}
	return &kafka.Client{Addr: kafka.TCP(addrs...), Timeout: requestTimeout, Transport: tr}, tr.CloseIdleConnections
}

// brokersVisible asks one node for the cluster metadata and checks that it lists the wanted
// broker ids and cluster id. A broker is listed once the controller quorum has a leader and the
// broker has registered and been unfenced, which is what "the quorum formed" means to a client.
func brokersVisible(ctx context.Context, addr, clusterID string, want ...int) error {
	cl, done := client([]string{addr})
	defer done()
	md, err := cl.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{}})
	if err != nil {
		return err
	}
	if md.ClusterID != clusterID {
		return fmt.Errorf("%s reports cluster id %q, want %q", addr, md.ClusterID, clusterID)
	}
	var got []int
	for _, b := range md.Brokers {
		got = append(got, b.ID)
	}
	sort.Ints(got)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		return fmt.Errorf("%s lists brokers %v, want %v", addr, got, want)
	}
	return nil
}

// createTopic creates a topic and waits until every partition has a leader.
func createTopic(t testing.TB, addrs []string, topic string, partitions, rf, minISR int) {
	t.Helper()
	eventually(t, produceTimeout, "create topic "+topic, func(ctx context.Context) error {
		cl, done := client(addrs)
		defer done()
		res, err := cl.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
			Topic: topic, NumPartitions: partitions, ReplicationFactor: rf,
			ConfigEntries: []kafka.ConfigEntry{{ConfigName: "min.insync.replicas", ConfigValue: strconv.Itoa(minISR)}},
		}}})
		if err != nil {
			return err
		}
		if err := res.Errors[topic]; err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
			return err
		}
		return nil
	})
	waitISR(t, addrs, topic, partitions, rf)
}

// waitISR waits until every partition of topic has a leader and isr in-sync replicas.
func waitISR(t testing.TB, addrs []string, topic string, partitions, isr int) {
	t.Helper()
	eventually(t, isrTimeout, fmt.Sprintf("%s: %d partitions with %d in-sync replicas", topic, partitions, isr),
		func(ctx context.Context) error {
			cl, done := client(addrs)
			defer done()
			md, err := cl.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
			if err != nil {
				return err
			}
			if len(md.Topics) != 1 || md.Topics[0].Error != nil {
				return fmt.Errorf("topic metadata: %+v", md.Topics)
			}
			if got := len(md.Topics[0].Partitions); got != partitions {
				return fmt.Errorf("%d partitions", got)
			}
			for _, p := range md.Topics[0].Partitions {
				if p.Error != nil {
					return fmt.Errorf("partition %d: %w", p.ID, p.Error)
				}
				if len(p.Isr) != isr {
					return fmt.Errorf("partition %d: isr %v", p.ID, brokerIDs(p.Isr))
				}
			}
			return nil
		})
}

func brokerIDs(bs []kafka.Broker) []int {
	ids := make([]int, len(bs))
	for i, b := range bs {
		ids[i] = b.ID
	}
	return ids
}

// messages makes n messages whose values are unique within the test: "<batch>-<i>".
func messages(batch string, n int) []kafka.Message {
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		v := fmt.Sprintf("%s-%04d", batch, i)
		msgs[i] = kafka.Message{Key: []byte(v), Value: []byte(v)}
	}
	return msgs
}

// produce writes msgs with acks=all, retrying the whole batch until the deadline (a batch that
// returns nil was acknowledged by all in-sync replicas; retries may duplicate, which the checks
// allow). It returns how long the first successful write took.
func produce(t *testing.T, addrs []string, topic string, msgs []kafka.Message) time.Duration {
	t.Helper()
	start := time.Now()
	eventually(t, produceTimeout, fmt.Sprintf("produce %d messages to %s with acks=all", len(msgs), topic),
		func(context.Context) error {
			tr := &kafka.Transport{DialTimeout: 3 * time.Second, MetadataTTL: time.Second}
			defer tr.CloseIdleConnections()
			w := &kafka.Writer{
				Addr:                   kafka.TCP(addrs...),
				Transport:              tr,
				Topic:                  topic,
				Balancer:               &kafka.RoundRobin{},
				RequiredAcks:           kafka.RequireAll,
				BatchSize:              len(msgs),
				BatchTimeout:           10 * time.Millisecond,
				MaxAttempts:            5,
				WriteBackoffMin:        100 * time.Millisecond,
				WriteBackoffMax:        time.Second,
				ReadTimeout:            requestTimeout,
				WriteTimeout:           requestTimeout,
				AllowAutoTopicCreation: false,
			}
			defer func() { _ = w.Close() }()
			ctx, cancel := context.WithTimeout(context.Background(), 6*requestTimeout)
			defer cancel()
			return w.WriteMessages(ctx, msgs...)
		})
	return time.Since(start)
}

// readAll reads every partition of topic from the first offset to the high watermark and returns
// the set of values seen.
func readAll(t *testing.T, addrs []string, topic string) map[string]bool {
	t.Helper()
	var seen map[string]bool
	eventually(t, readTimeout, "read back "+topic, func(context.Context) error {
		ctx, cancel := context.WithTimeout(context.Background(), readTimeout/2)
		defer cancel()
		var err error
		seen, err = readOnce(ctx, addrs, topic)
		return err
	})
	return seen
}

func readOnce(ctx context.Context, addrs []string, topic string) (map[string]bool, error) {
	cl, done := client(addrs)
	defer done()
	md, err := cl.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, err
	}
	if len(md.Topics) != 1 || md.Topics[0].Error != nil {
		return nil, fmt.Errorf("topic metadata: %+v", md.Topics)
	}
	var reqs []kafka.OffsetRequest
	for _, p := range md.Topics[0].Partitions {
		reqs = append(reqs, kafka.LastOffsetOf(p.ID))
	}
	offs, err := cl.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, po := range offs.Topics[topic] {
		if po.Error != nil {
			return nil, fmt.Errorf("partition %d offsets: %w", po.Partition, po.Error)
		}
		if po.LastOffset == 0 {
			continue
		}
		if err := readPartition(ctx, addrs, topic, po.Partition, po.LastOffset, seen); err != nil {
			return nil, err
		}
	}
	return seen, nil
}

func readPartition(ctx context.Context, addrs []string, topic string, partition int, end int64, seen map[string]bool) error {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: addrs, Topic: topic, Partition: partition,
		MinBytes: 1, MaxBytes: 1 << 20, MaxWait: 500 * time.Millisecond,
	})
	defer func() { _ = r.Close() }()
	if err := r.SetOffset(kafka.FirstOffset); err != nil {
		return err
	}
	for {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			return fmt.Errorf("partition %d: read up to offset %d: %w", partition, end, err)
		}
		seen[string(m.Value)] = true
		if m.Offset >= end-1 {
			return nil
		}
	}
}

// requireAll fails the test when an acknowledged message is missing.
func requireAll(t *testing.T, seen map[string]bool, acked ...[]kafka.Message) {
	t.Helper()
	var missing []string
	total := 0
	for _, batch := range acked {
		for _, m := range batch {
			total++
			if !seen[string(m.Value)] {
				missing = append(missing, string(m.Value))
			}
		}
	}
	if len(missing) > 0 {
		if len(missing) > 10 {
			missing = append(missing[:10], "...")
		}
		t.Fatalf("%d of %d acknowledged messages are missing: %v", len(missing), total, missing)
	}
	t.Logf("all %d acknowledged messages read back", total)
}
