//go:build image

package image_test

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// readiness runs the image's readiness probe (docker/kafka-ready) in a node's container, as the
// kubelet does, and returns whether it passed and what it printed.
func (c *cluster) readiness(ordinal int) (bool, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", "exec", c.container(ordinal), "/opt/kafka/bin/kafka-ready").CombinedOutput()
	return err == nil, strings.TrimSpace(string(out))
}

// alterConfigs sets (value != "") or deletes (value == "") configs of one resource.
func alterConfigs(t *testing.T, addrs []string, typ kafka.ResourceType, name string, configs map[string]string) {
	t.Helper()
	var entries []kafka.IncrementalAlterConfigsRequestConfig
	for k, v := range configs {
		op := kafka.ConfigOperationSet
		if v == "" {
			op = kafka.ConfigOperationDelete
		}
		entries = append(entries, kafka.IncrementalAlterConfigsRequestConfig{Name: k, Value: v, ConfigOperation: op})
	}
	eventually(t, produceTimeout, fmt.Sprintf("alter configs of %q", name), func(ctx context.Context) error {
		cl, done := client(addrs)
		defer done()
		resp, err := cl.IncrementalAlterConfigs(ctx, &kafka.IncrementalAlterConfigsRequest{
			Resources: []kafka.IncrementalAlterConfigsRequestResource{{ResourceType: typ, ResourceName: name, Configs: entries}},
		})
		if err != nil {
			return err
		}
		for _, r := range resp.Resources {
			if r.Error != nil {
				return r.Error
			}
		}
		return nil
	})
}

// testReadinessWhileCatchingUp: the probe passes on every node of a healthy cluster; a node that
// comes back after missing writes stays unready while it catches up (its broker registered, not yet
// in the ISR of every partition it replicates) and turns ready only once it is in every ISR. A
// replication throttle (512 KiB/s for about 8 MiB) makes the catch-up last long enough to watch.
func testReadinessWhileCatchingUp(t *testing.T, c *cluster, topic string, partitions int) {
	addrs := c.externalAddrs()
	for n := range 3 {
		if ok, out := c.readiness(n); !ok || !strings.Contains(out, "ready: broker") || !strings.Contains(out, "in the ISR of all") {
			t.Fatalf("kafka-%d on a healthy cluster: ready=%v %q", n, ok, out)
		}
	}
	if _, out := c.readiness(0); !strings.Contains(out, "voter 0") {
		t.Errorf("kafka-0 is a voter; the probe did not check the quorum: %q", out)
	}

	c.stop(2)
	up := []string{c.externalAddr(0), c.externalAddr(1)}
	// The leaders kafka-2 will fetch from are brokers 0 and 1 (kafka-go routes a broker config to
	// the broker its name numbers, so not the cluster default "").
	for _, id := range []string{"0", "1"} {
		alterConfigs(t, up, kafka.ResourceTypeBroker, id, map[string]string{"leader.replication.throttled.rate": "524288"})
	}
	alterConfigs(t, up, kafka.ResourceTypeTopic, topic, map[string]string{"leader.replication.throttled.replicas": "*"})
	defer func() {
		for _, id := range []string{"0", "1"} {
			alterConfigs(t, addrs, kafka.ResourceTypeBroker, id, map[string]string{"leader.replication.throttled.rate": ""})
		}
		alterConfigs(t, addrs, kafka.ResourceTypeTopic, topic, map[string]string{"leader.replication.throttled.replicas": ""})
	}()
	// Unique values (requireAll matches by value), 1 KiB each.
	backlog := messages("catch-up", 8192)
	pad := strings.Repeat("x", 1024)
	for i := range backlog {
		backlog[i].Value = append(backlog[i].Value, pad...)
	}
	produce(t, up, topic, backlog)

	start := time.Now()
	c.startStopped(2)
	var notInISR, notRegistered int
	var last string
	deadline := time.Now().Add(isrTimeout)
	for {
		ok, out := c.readiness(2)
		last = out
		if ok {
			break
		}
		switch {
		case strings.Contains(out, "not yet in the ISR"):
			notInISR++
		case strings.Contains(out, "not registered"), strings.Contains(out, "metadata from"), strings.Contains(out, "not written yet"):
			notRegistered++
		default:
			t.Errorf("unexpected probe answer while kafka-2 starts: %q", out)
		}
		if time.Now().After(deadline) {
			t.Fatalf("kafka-2 not ready after %s; last answer %q", isrTimeout, out)
		}
		time.Sleep(250 * time.Millisecond)
	}
	readyAfter := time.Since(start)
	t.Logf("TIMING kafka-2 restart with 8 MiB to catch up at 512 KiB/s: ready after %s (%d answers before registration, %d while behind the ISR); %q",
		readyAfter.Round(100*time.Millisecond), notRegistered, notInISR, last)
	if notInISR == 0 {
		t.Errorf("the probe never reported kafka-2 behind the ISR while it caught up 8 MiB at 512 KiB/s")
	}
	// Ready means in every ISR: the cluster's own metadata must agree at once.
	cl, done := client(addrs)
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	md, err := cl.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		t.Fatalf("metadata: %v", err)
	}
	for _, p := range md.Topics[0].Partitions {
		if !containsBroker(p.Isr, 2) {
			t.Errorf("probe said ready, but partition %d has ISR %v without broker 2", p.ID, brokerIDs(p.Isr))
		}
	}
	requireAll(t, readAll(t, addrs, topic), backlog)
}

func containsBroker(bs []kafka.Broker, id int) bool {
	for _, b := range bs {
		if b.ID == id {
			return true
		}
	}
	return false
}
