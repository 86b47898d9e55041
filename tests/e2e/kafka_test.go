//go:build e2e

package e2e_test

import (
	"context"
	"errors"
	"fmt"
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
