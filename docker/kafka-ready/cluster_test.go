package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafka-kraft/kafka-kraft/internal/kfaketest"
)

func TestPlanReplicationFactor(t *testing.T) {
	t.Parallel()
	p := func(topic string, idx int32, replicas ...int32) Partition {
		return Partition{Topic: topic, Index: idx, Replicas: replicas, ISR: replicas}
	}
	tests := []struct {
		name    string
		parts   []Partition
		brokers []int32
		rf      int
		want    string
	}{
		{"grown from one node: replicas added after the leader, spread by partition",
			[]Partition{p("__consumer_offsets", 0, 0), p("__consumer_offsets", 1, 0), p("__consumer_offsets", 2, 0)}, []int32{2, 0, 1}, 3,
			"[{__consumer_offsets 0 [0 1 2]} {__consumer_offsets 1 [0 2 1]} {__consumer_offsets 2 [0 1 2]}]"},
		{"already at the factor: nothing to do", []Partition{p("__consumer_offsets", 0, 0, 1, 2)}, []int32{0, 1, 2}, 3, "[]"},
		{"capped at the broker count", []Partition{p("__transaction_state", 4, 1)}, []int32{0, 1}, 3, "[{__transaction_state 4 [1 0]}]"},
		{"user topics are left alone", []Partition{p("orders", 0, 0), p("__consumer_offsets", 0, 0)}, []int32{0, 1, 2}, 3, "[{__consumer_offsets 0 [0 1 2]}]"},
		{"partial growth keeps existing followers", []Partition{p("__consumer_offsets", 7, 3, 1)}, []int32{0, 1, 2, 3}, 3, "[{__consumer_offsets 7 [3 1 2]}]"},
		{"sorted by topic and partition", []Partition{p("__transaction_state", 0, 0), p("__consumer_offsets", 1, 0)}, []int32{0, 1}, 2,
			"[{__consumer_offsets 1 [0 1]} {__transaction_state 0 [0 1]}]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := planReplicationFactor(tt.parts, internalTopics, tt.brokers, tt.rf)
			if s := fmt.Sprint(got); s != tt.want && (len(got) != 0 || tt.want != "[]") {
				t.Errorf("plan = %s, want %s", s, tt.want)
			}
			for _, r := range got {
				seen := map[int32]bool{}
				for _, id := range r.Replicas {
					if seen[id] {
						t.Errorf("%s-%d: replica %d twice in %v", r.Topic, r.Partition, id, r.Replicas)
					}
					seen[id] = true
				}
			}
		})
	}
}

func TestPinnedTopics(t *testing.T) {
	t.Parallel()
	md := &Metadata{Partitions: []Partition{
		{Topic: "old", Index: 0, Replicas: []int32{0}}, {Topic: "old", Index: 1, Replicas: []int32{0}},
		{Topic: "mixed", Index: 0, Replicas: []int32{0, 1, 2}}, {Topic: "mixed", Index: 1, Replicas: []int32{1}},
		{Topic: "fine", Index: 0, Replicas: []int32{0, 1}},
		{Topic: "__consumer_offsets", Index: 0, Replicas: []int32{0}},
		{Topic: "__share_group_state", Index: 0, Replicas: []int32{0}},
	}}
	if got := fmt.Sprint(pinnedTopics(md, 2)); got != "map[__share_group_state:1 mixed:1 old:1]" {
		t.Errorf("pinnedTopics(2) = %s, want the RF 1 topics (smallest partition counts) except the internal topics whose RF is raised", got)
	}
	if got := len(pinnedTopics(md, 1)); got != 0 {
		t.Errorf("pinnedTopics(1) = %d topics, want none", got)
	}
}

func TestReassignmentDone(t *testing.T) {
	t.Parallel()
	plan := []Reassignment{{Topic: "__consumer_offsets", Partition: 0, Replicas: []int32{0, 1, 2}}, {Topic: "__consumer_offsets", Partition: 1, Replicas: []int32{0, 2, 1}}}
	md := &Metadata{Partitions: []Partition{
		{Topic: "__consumer_offsets", Index: 0, Replicas: []int32{0, 1, 2}, ISR: []int32{2, 0, 1}},
		{Topic: "__consumer_offsets", Index: 1, Replicas: []int32{0, 2, 1}, ISR: []int32{0, 2}},
	}}
	if got := reassignmentDone(plan, md); got != 1 {
		t.Errorf("done = %d, want 1 (partition 1's new replica is not in the ISR yet)", got)
	}
}

func TestAdminWireMatchesKafka(t *testing.T) {
	t.Parallel()
	// DescribeConfigs
	dreq := kmsg.NewPtrDescribeConfigsRequest()
	dreq.Version = describeConfigsVersion
	if err := dreq.ReadFrom(encodeDescribeConfigsRequest(resourceBroker, "", []string{"min.insync.replicas"})); err != nil {
		t.Fatalf("describe configs request: %v", err)
	}
	if len(dreq.Resources) != 1 || dreq.Resources[0].ResourceType != kmsg.ConfigResourceTypeBroker || dreq.Resources[0].ResourceName != "" || fmt.Sprint(dreq.Resources[0].ConfigNames) != "[min.insync.replicas]" {
		t.Errorf("describe configs request = %+v", dreq.Resources)
	}
	dresp := kmsg.NewPtrDescribeConfigsResponse()
	dresp.Version = describeConfigsVersion
	res := kmsg.NewDescribeConfigsResponseResource()
	res.ResourceType = kmsg.ConfigResourceTypeBroker
	cfg := kmsg.NewDescribeConfigsResponseResourceConfig()
	v := "2"
	cfg.Name, cfg.Value, cfg.Source = "min.insync.replicas", &v, kmsg.ConfigSourceDynamicDefaultBrokerConfig
	syn := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
	syn.Name, syn.Value = "min.insync.replicas", &v
	cfg.ConfigSynonyms = append(cfg.ConfigSynonyms, syn)
	res.Configs = append(res.Configs, cfg)
	dresp.Resources = append(dresp.Resources, res)
	vals, err := decodeDescribeConfigsResponse(dresp.AppendTo(nil))
	if err != nil || len(vals) != 1 || vals[0].Value != "2" || configSourceName(vals[0].Source) != "DYNAMIC_DEFAULT_BROKER_CONFIG" {
		t.Errorf("describe configs response = %+v, %v", vals, err)
	}

	// IncrementalAlterConfigs
	areq := kmsg.NewPtrIncrementalAlterConfigsRequest()
	areq.Version = incrementalAlterConfigsVersion
	if err := areq.ReadFrom(encodeIncrementalAlterConfigsRequest(resourceBroker, "", map[string]string{"min.insync.replicas": "2"}, []string{"min.insync.replicas"})); err != nil {
		t.Fatalf("alter configs request: %v", err)
	}
	if c := areq.Resources[0].Configs[0]; c.Name != "min.insync.replicas" || c.Value == nil || *c.Value != "2" || c.Op != kmsg.IncrementalAlterConfigOpSet {
		t.Errorf("alter configs request = %+v", areq.Resources)
	}
	aresp := kmsg.NewPtrIncrementalAlterConfigsResponse()
	aresp.Version = incrementalAlterConfigsVersion
	ar := kmsg.NewIncrementalAlterConfigsResponseResource()
	ar.ErrorCode = 42
	aresp.Resources = append(aresp.Resources, ar)
	if err := decodeIncrementalAlterConfigsResponse(aresp.AppendTo(nil)); err == nil || !strings.Contains(err.Error(), "error code 42") {
		t.Errorf("alter configs error answer: %v", err)
	}

	// AlterPartitionReassignments
	plan := []Reassignment{{"__consumer_offsets", 0, []int32{0, 1, 2}}, {"__consumer_offsets", 1, []int32{0, 2, 1}}, {"__transaction_state", 3, []int32{1, 0}}}
	rreq := kmsg.NewPtrAlterPartitionAssignmentsRequest()
	rreq.Version = alterReassignmentsVersion
	if err := rreq.ReadFrom(encodeAlterReassignmentsRequest(30000, plan)); err != nil {
		t.Fatalf("reassignment request: %v", err)
	}
	if rreq.TimeoutMillis != 30000 || len(rreq.Topics) != 2 || len(rreq.Topics[0].Partitions) != 2 || fmt.Sprint(rreq.Topics[1].Partitions[0].Replicas) != "[1 0]" {
		t.Errorf("reassignment request = %+v", rreq.Topics)
	}
	rresp := kmsg.NewPtrAlterPartitionAssignmentsResponse()
	rresp.Version = alterReassignmentsVersion
	rt := kmsg.NewAlterPartitionAssignmentsResponseTopic()
	rt.Topic = "__consumer_offsets"
	rp := kmsg.NewAlterPartitionAssignmentsResponseTopicPartition()
	rp.Partition, rp.ErrorCode = 1, 39
	rt.Partitions = append(rt.Partitions, rp)
	rresp.Topics = append(rresp.Topics, rt)
	if err := decodeAlterReassignmentsResponse(rresp.AppendTo(nil)); err == nil || !strings.Contains(err.Error(), "__consumer_offsets-1") {
		t.Errorf("reassignment partition error: %v", err)
	}
}

// TestClusterCommandAgainstKfake runs `kafka-ready cluster` against franz-go's in-process Kafka:
// it waits for the brokers, sets a cluster default and reads it back.
func TestClusterCommandAgainstKfake(t *testing.T) {
	t.Parallel()
	// A topic created while the cluster was smaller (RF 1) must stay writable with acks=all.
	c := kfaketest.WithTopic(t, "small", 1, 1)
	var out, errOut bytes.Buffer
	code := run([]string{"cluster", "-bootstrap", strings.Join(c.ListenAddrs(), ","), "-brokers", "3", "-set", "min.insync.replicas=2", "-timeout", "20s"}, &out, &errOut)
	t.Logf("output:\n%s%s", out.String(), errOut.String())
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"3 brokers registered", "cluster default min.insync.replicas", "-> 2", "cluster default min.insync.replicas = 2",
		"topic small has replication factor 1 < min.insync.replicas 2: set its own min.insync.replicas=1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// Read back independently.
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := kmsg.NewPtrDescribeConfigsRequest()
	r := kmsg.NewDescribeConfigsRequestResource()
	r.ResourceType = kmsg.ConfigResourceTypeBroker
	r.ConfigNames = []string{"min.insync.replicas"}
	req.Resources = append(req.Resources, r)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil || len(resp.Resources) != 1 || len(resp.Resources[0].Configs) != 1 || *resp.Resources[0].Configs[0].Value != "2" {
		t.Errorf("read back: %+v, %v", resp, err)
	}

	// Waiting for more brokers than exist ends at the deadline, naming what it waited for.
	out.Reset()
	code = run([]string{"cluster", "-bootstrap", c.ListenAddrs()[0], "-brokers", "4", "-timeout", "2s"}, &out, &errOut)
	if code != 1 || !strings.Contains(out.String(), "waiting for 4 brokers: gave up at the deadline: 3 registered") {
		t.Errorf("exit %d, output %q", code, out.String())
	}
	if code := run([]string{"cluster", "-brokers", "3"}, &out, &errOut); code != 2 {
		t.Errorf("missing -bootstrap: exit %d, want 2", code)
	}
}
