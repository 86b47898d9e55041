package scaledown

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/kafka-kraft/kafka-kraft/internal/kfaketest"
)

// kfakeWith starts kfake with three brokers and one topic and returns its addresses. kfake does not
// move replicas, so the moves themselves are shown on the real cluster (tests/e2e); this tier shows
// the refusal, the dry run, the no-op and the throttles.
func kfakeWith(t *testing.T, topic string, partitions int32, rf int16) []string {
	t.Helper()
	return kfaketest.WithTopic(t, topic, partitions, rf).ListenAddrs()
}

func TestRunRefusesTopicsWiderThanTheRemainingBrokers(t *testing.T) {
	t.Parallel()
	brokers := kfakeWith(t, "wide", 2, 3)
	var logs []string
	for _, dry := range []bool{true, false} {
		_, err := Run(context.Background(), Options{Brokers: brokers, Keep: 2, Throttle: 1 << 20, DryRun: dry, Timeout: 20 * time.Second,
			Log: func(s string) { logs = append(logs, s) }})
		var refused *Refused
		if !errors.As(err, &refused) || refused.Topics["wide"] != 3 ||
			!strings.Contains(err.Error(), "2 brokers would remain, fewer than the replicas of wide (replication factor 3)") {
			t.Errorf("dry run %v: err = %v, want a refusal naming topic wide", dry, err)
		}
	}
	if len(logs) != 0 {
		t.Errorf("a refusal started something: %v", logs)
	}
}

func TestRunWithNothingOnTheRemovedBrokersIsANoOp(t *testing.T) {
	t.Parallel()
	brokers := kfakeWith(t, "t", 3, 3)
	rep, err := Run(context.Background(), Options{Brokers: brokers, Keep: 3, Timeout: 20 * time.Second})
	if err != nil || rep.Planned != 0 || rep.Moved != 0 {
		t.Errorf("keep 3 of 3: %+v, %v; want nothing to do", rep, err)
	}
	if _, err := Run(context.Background(), Options{Keep: 1}); err == nil {
		t.Error("no brokers: want an error")
	}
}

// TestThrottlesAreSetAndCleared: the throttle rates go to every broker and "*" to the moved
// topics' throttled replicas; clearing deletes both (read back with DescribeConfigs).
func TestThrottlesAreSetAndCleared(t *testing.T) {
	t.Parallel()
	brokers := kfakeWith(t, "t", 3, 3)
	r := &runner{o: Options{Throttle: 5 << 20, Log: func(string) {}}, c: &kafka.Client{Addr: kafka.TCP(brokers...), Timeout: 10 * time.Second}}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	describe := func() (rates []string, replicas string) {
		for id := range 3 {
			resp, err := r.c.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{
				{ResourceType: kafka.ResourceTypeBroker, ResourceName: strconv.Itoa(id), ConfigNames: throttleRateKeys[:1]}}})
			if err != nil {
				t.Fatal(err)
			}
			for _, res := range resp.Resources {
				for _, e := range res.ConfigEntries {
					rates = append(rates, e.ConfigValue)
				}
			}
		}
		resp, err := r.c.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{
			{ResourceType: kafka.ResourceTypeTopic, ResourceName: "t", ConfigNames: throttleReplicaKeys[:1]}}})
		if err != nil {
			t.Fatal(err)
		}
		for _, res := range resp.Resources {
			for _, e := range res.ConfigEntries {
				replicas = e.ConfigValue
			}
		}
		return rates, replicas
	}
	if err := r.setThrottles(ctx, map[string]bool{"t": true}); err != nil {
		t.Fatal(err)
	}
	if rates, replicas := describe(); fmt.Sprint(rates) != "[5242880 5242880 5242880]" || replicas != "*" {
		t.Errorf("after set: rates %v, throttled replicas %q; want 5Mi on each of 3 brokers and *", rates, replicas)
	}
	if err := r.clearThrottles(ctx, map[string]bool{"t": true}); err != nil {
		t.Fatal(err)
	}
	if rates, replicas := describe(); strings.Contains(fmt.Sprint(rates), "5242880") || replicas == "*" {
		t.Errorf("after clear: rates %v, throttled replicas %q; want both gone", rates, replicas)
	}
}
