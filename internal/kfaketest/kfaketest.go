// Package kfaketest starts franz-go's in-process Kafka (kfake) for tests: a three-broker cluster,
// closed with the test, holding one topic. kfake is not Apache Kafka (it does not move replicas,
// for one): tests against it show the client side, the real tiers show the rest.
package kfaketest

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// WithTopic starts a three-broker kfake cluster, closed when t ends, and creates topic in it.
func WithTopic(t testing.TB, topic string, partitions int32, rf int16) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(3))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	create := kmsg.NewPtrCreateTopicsRequest()
	ct := kmsg.NewCreateTopicsRequestTopic()
	ct.Topic, ct.NumPartitions, ct.ReplicationFactor = topic, partitions, rf
	create.Topics = append(create.Topics, ct)
	if _, err := create.RequestWith(ctx, cl); err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
	return c
}
