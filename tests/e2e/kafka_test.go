//go:build e2e

package e2e_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/kafka-kraft/kafka-kraft/internal/clientauth"
)

// credentials holds the admin's credentials of each stack's external addresses (set by
// suite.setOutputs): the host-side helpers take a broker list, and every stack uses its own ports.
var credentials sync.Map // address -> clientauth.Auth

// authFor is the admin's credentials for brokers (the zero Auth, PLAINTEXT, when none are known).
func authFor(brokers []string) clientauth.Auth {
	if len(brokers) > 0 {
		if a, ok := credentials.Load(brokers[0]); ok {
			return a.(clientauth.Auth)
		}
	}
	return clientauth.Auth{}
}

// transportFor is a kafka-go transport for brokers, with their stack's credentials.
func transportFor(brokers []string) *kafka.Transport {
	tr, err := authFor(brokers).Transport(5 * time.Second)
	if err != nil {
		panic(fmt.Sprintf("credentials of %v: %v", brokers, err)) // validated when they were stored
	}
	tr.MetadataTTL = time.Second
	return tr
}

// newClient is a kafka-go client for the host-side checks, as the stack's admin user.
func newClient(brokers []string) *kafka.Client {
	return &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second, Transport: transportFor(brokers)}
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
	dialer, err := authFor(brokers).Dialer(10 * time.Second)
	if err != nil {
		return kafka.Message{}, err
	}
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: brokers, Topic: topic, Partition: partition, Dialer: dialer,
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
