package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestPlanScaleDown(t *testing.T) {
	t.Parallel()
	p := func(topic string, idx int32, replicas ...int32) Partition {
		return Partition{Topic: topic, Index: idx, Replicas: replicas, ISR: replicas}
	}
	tests := []struct {
		name     string
		parts    []Partition
		keep     int32
		skip     map[string]bool
		want     string
		wantWide string
	}{
		{"4 -> 3: the removed replica is replaced in its position by the least loaded broker",
			[]Partition{p("t", 0, 0, 1, 2), p("t", 1, 1, 2, 3), p("t", 2, 2, 3, 0), p("t", 3, 3, 0, 1)}, 3, nil,
			"[{t 1 [1 2 0]} {t 2 [2 1 0]} {t 3 [2 0 1]}]", "map[]"},
		{"a removed preferred leader is replaced as preferred leader", []Partition{p("t", 0, 3, 1)}, 3, nil, "[{t 0 [0 1]}]", "map[]"},
		{"nothing on removed brokers: nothing to do", []Partition{p("t", 0, 0, 1, 2)}, 3, nil, "[]", "map[]"},
		{"5 -> 3 with two removed replicas in one partition", []Partition{p("t", 0, 3, 4, 0)}, 3, nil, "[{t 0 [1 2 0]}]", "map[]"},
		{"RF above the remaining brokers: refused, none of the topic planned",
			[]Partition{p("wide", 0, 0, 1, 2), p("wide", 1, 1, 2, 3), p("ok", 0, 3, 0)}, 2, nil, "[{ok 0 [1 0]}]", "map[wide:3]"},
		{"partitions in progress are skipped", []Partition{p("t", 0, 0, 3), p("t", 1, 1, 3)}, 3, map[string]bool{"t-0": true}, "[{t 1 [1 2]}]", "map[]"},
		{"sorted by topic and partition", []Partition{p("b", 1, 3), p("a", 0, 3), p("b", 0, 3)}, 3, nil, "[{a 0 [0]} {b 0 [1]} {b 1 [2]}]", "map[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			plan, wide := planScaleDown(tt.parts, tt.keep, tt.skip)
			if s := fmt.Sprint(plan); s != tt.want && (len(plan) != 0 || tt.want != "[]") {
				t.Errorf("plan = %s, want %s", s, tt.want)
			}
			if s := fmt.Sprint(wide); s != tt.wantWide {
				t.Errorf("tooWide = %s, want %s", s, tt.wantWide)
			}
			for _, r := range plan {
				seen := map[int32]bool{}
				for _, id := range r.Replicas {
					if seen[id] || id >= tt.keep {
						t.Errorf("%s-%d: bad replica %d in %v", r.Topic, r.Partition, id, r.Replicas)
					}
					seen[id] = true
				}
			}
		})
	}
}

func TestPlanScaleDownBalances(t *testing.T) {
	t.Parallel()
	// 12 partitions RF 3 round-robin over 4 brokers: after 4 -> 3 every broker holds 12 replicas.
	var parts []Partition
	for i := range int32(12) {
		parts = append(parts, Partition{Topic: "t", Index: i, Replicas: []int32{i % 4, (i + 1) % 4, (i + 2) % 4}})
	}
	plan, _ := planScaleDown(parts, 3, nil)
	final := map[string][]int32{}
	for _, p := range parts {
		final[partitionKey(p.Topic, p.Index)] = p.Replicas
	}
	for _, r := range plan {
		final[partitionKey(r.Topic, r.Partition)] = r.Replicas
	}
	load := map[int32]int{}
	for _, rs := range final {
		for _, id := range rs {
			load[id]++
		}
	}
	if fmt.Sprint(load) != "map[0:12 1:12 2:12]" {
		t.Errorf("replicas per broker after the plan = %v, want 12 each", load)
	}
}

func TestSettledPartitions(t *testing.T) {
	t.Parallel()
	parts := []Partition{{Topic: "t", Index: 0, Replicas: []int32{0, 2, 1, 3}}, {Topic: "t", Index: 1, Replicas: []int32{0, 3}}}
	got := settledPartitions(parts, []ongoingReassignment{{Topic: "t", Partition: 0, Removing: []int32{3}}})
	if fmt.Sprint(got[0].Replicas, got[1].Replicas) != "[0 2 1] [0 3]" {
		t.Errorf("settled = %v", got)
	}
}

func TestScaleDownWireMatchesKafka(t *testing.T) {
	t.Parallel()
	// ListPartitionReassignments
	lreq := kmsg.NewPtrListPartitionReassignmentsRequest()
	lreq.Version = listReassignmentsVersion
	if err := lreq.ReadFrom(encodeListReassignmentsRequest(5000)); err != nil || lreq.TimeoutMillis != 5000 || lreq.Topics != nil {
		t.Errorf("list reassignments request = %+v, %v", lreq, err)
	}
	lresp := kmsg.NewPtrListPartitionReassignmentsResponse()
	lresp.Version = listReassignmentsVersion
	lt := kmsg.NewListPartitionReassignmentsResponseTopic()
	lt.Topic = "t"
	lp := kmsg.NewListPartitionReassignmentsResponseTopicPartition()
	lp.Partition, lp.Replicas, lp.AddingReplicas, lp.RemovingReplicas = 2, []int32{0, 2, 1, 3}, []int32{2}, []int32{3}
	lt.Partitions = append(lt.Partitions, lp)
	lresp.Topics = append(lresp.Topics, lt)
	ongoing, err := decodeListReassignmentsResponse(lresp.AppendTo(nil))
	if err != nil || fmt.Sprint(ongoing) != "[{t 2 [0 2 1 3] [2] [3]}]" {
		t.Errorf("list reassignments response = %v, %v", ongoing, err)
	}

	// DescribeCluster
	dreq := kmsg.NewPtrDescribeClusterRequest()
	dreq.Version = describeClusterVersion
	if err := dreq.ReadFrom(encodeDescribeClusterRequest()); err != nil || !dreq.IncludeFencedBrokers || dreq.EndpointType != 1 {
		t.Errorf("describe cluster request = %+v, %v", dreq, err)
	}
	dresp := kmsg.NewPtrDescribeClusterResponse()
	dresp.Version = describeClusterVersion
	for _, b := range []struct {
		id     int32
		fenced bool
	}{{0, false}, {3, true}} {
		br := kmsg.NewDescribeClusterResponseBroker()
		br.NodeID, br.Host, br.Port, br.IsFenced = b.id, "kafka-x", 9092, b.fenced
		dresp.Brokers = append(dresp.Brokers, br)
	}
	regs, err := decodeDescribeClusterResponse(dresp.AppendTo(nil))
	if err != nil || fmt.Sprint(regs) != "[{0 false} {3 true}]" {
		t.Errorf("describe cluster response = %v, %v", regs, err)
	}

	// UnregisterBroker
	ureq := kmsg.NewPtrUnregisterBrokerRequest()
	ureq.Version = unregisterBrokerVersion
	if err := ureq.ReadFrom(encodeUnregisterBrokerRequest(3)); err != nil || ureq.BrokerID != 3 {
		t.Errorf("unregister request = %+v, %v", ureq, err)
	}
	for code, ok := range map[int16]bool{0: true, errBrokerIDNotRegistered: true, 41: false} {
		uresp := kmsg.NewPtrUnregisterBrokerResponse()
		uresp.Version = unregisterBrokerVersion
		uresp.ErrorCode = code
		if err := decodeUnregisterBrokerResponse(uresp.AppendTo(nil)); (err == nil) != ok {
			t.Errorf("unregister answer with code %d: err %v", code, err)
		}
	}

	// IncrementalAlterConfigs with a delete
	areq := kmsg.NewPtrIncrementalAlterConfigsRequest()
	areq.Version = incrementalAlterConfigsVersion
	if err := areq.ReadFrom(encodeAlterConfigOpsRequest(resourceTopic, "t", configOps(opDelete, map[string]string{"b": "", "a": ""}))); err != nil {
		t.Fatal(err)
	}
	if c := areq.Resources[0].Configs; len(c) != 2 || c[0].Name != "a" || c[0].Op != kmsg.IncrementalAlterConfigOpDelete || c[0].Value != nil {
		t.Errorf("delete ops = %+v", c)
	}
}

// TestScaleDownRefusesAgainstKfake: a topic with more replicas than the brokers that would remain
// is named, and nothing is changed (exit 1). kfake does not move replicas, so the moves themselves
// are shown on the real cluster (tests/e2e).
func TestScaleDownRefusesAgainstKfake(t *testing.T) {
	t.Parallel()
	c := kfakeWithTopic(t, "wide", 2, 3)
	var out, errOut bytes.Buffer
	code := run([]string{"scale-down", "-bootstrap", strings.Join(c.ListenAddrs(), ","), "-keep", "2", "-timeout", "10s"}, &out, &errOut)
	t.Logf("output:\n%s%s", out.String(), errOut.String())
	if code != 1 || !strings.Contains(out.String(), "refused, nothing was moved: 2 brokers would remain, fewer than the replicas of wide (replication factor 3)") {
		t.Errorf("exit %d, want 1 naming topic wide", code)
	}
	if code := run([]string{"scale-down", "-bootstrap", c.ListenAddrs()[0]}, &out, &errOut); code != 2 {
		t.Errorf("missing -keep: exit %d, want 2", code)
	}
}
