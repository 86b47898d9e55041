//go:build e2e

package e2e_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
)

// newClient is a kafka-go client for the host-side checks.
func newClient(brokers []string) *kafka.Client {
	return &kafka.Client{
		Addr:      kafka.TCP(brokers...),
		Timeout:   10 * time.Second,
		Transport: &kafka.Transport{DialTimeout: 5 * time.Second, MetadataTTL: time.Second},
	}
}

// createTopic creates a topic (an existing one is fine) and waits until every partition has a
// leader, retrying transient errors until the deadline.
func createTopic(ctx context.Context, brokers []string, topic string, partitions, rf int) error {
	c := newClient(brokers)
	return eventually(ctx, 2*time.Minute, time.Second, "topic "+topic+" with leaders", func(ctx context.Context) error {
		resp, err := c.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
			Topic: topic, NumPartitions: partitions, ReplicationFactor: rf,
		}}})
		if err != nil {
			return err
		}
		if err := resp.Errors[topic]; err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
			return err
		}
		md, err := c.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
		if err != nil {
			return err
		}
		if len(md.Topics) != 1 || md.Topics[0].Error != nil || len(md.Topics[0].Partitions) != partitions {
			return fmt.Errorf("metadata of %s not complete yet: %+v", topic, md.Topics)
		}
		for _, p := range md.Topics[0].Partitions {
			if p.Error != nil {
				return fmt.Errorf("partition %d of %s: %w", p.ID, topic, p.Error)
			}
			if p.Leader.ID < 0 || p.Leader.Host == "" {
				return fmt.Errorf("partition %d of %s has no leader yet", p.ID, topic)
			}
		}
		return nil
	})
}

// leaderOf returns the node id leading a partition.
func leaderOf(ctx context.Context, brokers []string, topic string, partition int) (int, error) {
	md, err := newClient(brokers).Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return -1, err
	}
	for _, t := range md.Topics {
		for _, p := range t.Partitions {
			if t.Name == topic && p.ID == partition {
				return p.Leader.ID, nil
			}
		}
	}
	return -1, fmt.Errorf("partition %d of %s not in the metadata", partition, topic)
}

// readUntil reads one partition from the start until a record's value satisfies match.
func readUntil(ctx context.Context, brokers []string, topic string, partition int, match func([]byte) bool) (kafka.Message, error) {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: brokers, Topic: topic, Partition: partition,
		MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 500 * time.Millisecond,
	})
	defer r.Close()
	if err := r.SetOffset(kafka.FirstOffset); err != nil {
		return kafka.Message{}, err
	}
	for {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			return kafka.Message{}, err
		}
		if match(m.Value) {
			return m, nil
		}
	}
}

// readAll reads every record of a topic, partition by partition, up to the end offsets at the
// time of the call.
func readAll(ctx context.Context, brokers []string, topic string, partitions int) ([]kafka.Message, error) {
	c := newClient(brokers)
	reqs := make([]kafka.OffsetRequest, 0, partitions)
	for p := range partitions {
		reqs = append(reqs, kafka.LastOffsetOf(p))
	}
	offs, err := c.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return nil, fmt.Errorf("list offsets of %s: %w", topic, err)
	}
	var all []kafka.Message
	for _, po := range offs.Topics[topic] {
		if po.Error != nil {
			return nil, fmt.Errorf("end offset of %s/%d: %w", topic, po.Partition, po.Error)
		}
		if po.LastOffset <= 0 {
			continue
		}
		end := po.LastOffset
		r := kafka.NewReader(kafka.ReaderConfig{
			Brokers: brokers, Topic: topic, Partition: po.Partition,
			MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 500 * time.Millisecond,
		})
		if err := r.SetOffset(kafka.FirstOffset); err != nil {
			r.Close()
			return nil, err
		}
		for {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				r.Close()
				return nil, fmt.Errorf("read %s/%d (at %d of %d records): %w", topic, po.Partition, len(all), end, err)
			}
			all = append(all, m)
			if m.Offset >= end-1 {
				break
			}
		}
		if err := r.Close(); err != nil {
			return nil, err
		}
	}
	return all, nil
}

// ackProducer produces numbered records with acks=all in the background and records which ones
// the cluster acknowledged. Unacknowledged writes are allowed to be lost; acknowledged ones never.
type ackProducer struct {
	topic  string
	prefix string
	w      *kafka.Writer

	mu      sync.Mutex
	acked   map[int]time.Time
	failed  int
	lastErr error
	next    int
	done    chan struct{}
	stop    context.CancelFunc
}

const producerBatch = 20

func startAckProducer(ctx context.Context, brokers []string, topic, runID string) *ackProducer {
	ctx, stop := context.WithCancel(ctx)
	p := &ackProducer{
		topic:  topic,
		prefix: "e2e-durability " + runID + " ",
		w: &kafka.Writer{
			Addr:         kafka.TCP(brokers...),
			Topic:        topic,
			Balancer:     &kafka.RoundRobin{},
			RequiredAcks: kafka.RequireAll,
			// Retries are allowed (a duplicate is not a loss); a request to a broker that is going
			// away times out and is retried against the new leader.
			MaxAttempts:     20,
			WriteBackoffMin: 100 * time.Millisecond,
			WriteBackoffMax: time.Second,
			BatchSize:       producerBatch,
			BatchTimeout:    5 * time.Millisecond,
			ReadTimeout:     10 * time.Second,
			WriteTimeout:    10 * time.Second,
			Transport:       &kafka.Transport{DialTimeout: 3 * time.Second, MetadataTTL: time.Second},
		},
		acked: map[int]time.Time{},
		done:  make(chan struct{}),
		stop:  stop,
	}
	go p.loop(ctx)
	return p
}

func (p *ackProducer) loop(ctx context.Context) {
	defer close(p.done)
	for ctx.Err() == nil {
		msgs := make([]kafka.Message, producerBatch)
		seqs := make([]int, producerBatch)
		for i := range msgs {
			seqs[i] = p.next
			msgs[i] = kafka.Message{Key: []byte(strconv.Itoa(p.next)), Value: []byte(p.prefix + strconv.Itoa(p.next))}
			p.next++
		}
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := p.w.WriteMessages(wctx, msgs...)
		cancel()
		now := time.Now()
		p.mu.Lock()
		var werrs kafka.WriteErrors
		switch {
		case err == nil:
			for _, s := range seqs {
				p.acked[s] = now
			}
		case errors.As(err, &werrs):
			for i, e := range werrs {
				if e == nil {
					p.acked[seqs[i]] = now
				} else {
					p.failed++
				}
			}
			p.lastErr = err
		default:
			p.failed += len(seqs)
			p.lastErr = err
		}
		p.mu.Unlock()
		if err != nil && ctx.Err() == nil {
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// counts returns how many records were acknowledged, how many writes failed, and the last error.
func (p *ackProducer) counts() (acked, failed int, last error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.acked), p.failed, p.lastErr
}

// ackedBetween counts acknowledgements in [from, to).
func (p *ackProducer) ackedBetween(from, to time.Time) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, at := range p.acked {
		if !at.Before(from) && at.Before(to) {
			n++
		}
	}
	return n
}

// finish stops the producer and closes the writer.
func (p *ackProducer) finish() error {
	p.stop()
	<-p.done
	return p.w.Close()
}

// missing returns the acknowledged sequence numbers that are not among the records read.
func (p *ackProducer) missing(records []kafka.Message) []int {
	seen := map[int]bool{}
	for _, m := range records {
		if s, ok := strings.CutPrefix(string(m.Value), p.prefix); ok {
			if n, err := strconv.Atoi(s); err == nil {
				seen[n] = true
			}
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []int
	for s := range p.acked {
		if !seen[s] {
			out = append(out, s)
		}
	}
	sort.Ints(out)
	return out
}

// longestGap is the longest time between two consecutive acknowledgements: how long producers
// stalled while the partition leader moved.
func (p *ackProducer) longestGap() time.Duration {
	p.mu.Lock()
	times := make([]time.Time, 0, len(p.acked))
	for _, at := range p.acked {
		times = append(times, at)
	}
	p.mu.Unlock()
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	var gap time.Duration
	for i := 1; i < len(times); i++ {
		gap = max(gap, times[i].Sub(times[i-1]))
	}
	return gap
}
