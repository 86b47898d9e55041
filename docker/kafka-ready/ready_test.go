package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafka-kraft/kafka-kraft/internal/kfaketest"
)

// Pure and client tiers of the readiness probe. The image tier (tests/image) runs it inside the
// real image against a real broker: unready while a restarted broker catches up, ready after.

func TestEvaluate(t *testing.T) {
	t.Parallel()
	brokers := []Broker{{ID: 0}, {ID: 1}, {ID: 2}}
	md := func(parts ...Partition) *Metadata { return &Metadata{Brokers: brokers, Partitions: parts} }
	p := func(topic string, idx int32, replicas, isr []int32) Partition {
		return Partition{Topic: topic, Index: idx, Replicas: replicas, ISR: isr}
	}
	all := []int32{0, 1, 2}
	quorum := &Quorum{Leader: 0, LeaderEpoch: 4, HighWatermark: 5000, Voters: []Voter{{ID: 0, LogEndOffset: 5000}, {ID: 1, LogEndOffset: 4990}, {ID: 2, LogEndOffset: 3000}}}
	broker := func(id int32) Node { return Node{ID: id, Broker: true} }
	voter := func(id int32) Node { return Node{ID: id, Broker: true, Voter: true} }
	tests := []struct {
		name  string
		node  Node
		md    *Metadata
		q     *Quorum
		ready bool
		want  string
	}{
		{"broker in every ISR", broker(1), md(p("t", 0, all, all), p("t", 1, []int32{0, 2}, []int32{0, 2})), nil, true, "in the ISR of all 1 partitions"},
		{"broker with no partitions yet", broker(1), md(), nil, true, "all 0 partitions"},
		{"a leaderless partition does not hold the broker back", broker(2),
			md(Partition{Topic: "t", Index: 0, Leader: -1, Replicas: []int32{1, 2}, ISR: []int32{1}}, p("t", 1, all, all)), nil, true,
			"in the ISR of all 1 partitions it replicates that have a leader (1 have none)"},
		{"broker not registered or fenced", broker(3), md(), nil, false, "broker 3 is not registered or still fenced (the metadata lists brokers 0,1,2)"},
		{"broker still catching up", broker(2), md(p("t", 0, all, []int32{0, 1}), p("t", 1, all, all), p("u", 3, all, []int32{1})), nil, false,
			"broker 2 is not yet in the ISR of 2 of the 3 partitions it replicates: t-0, u-3"},
		{"many partitions behind are counted, a few named", broker(2), md(
			p("t", 0, all, []int32{0}), p("t", 1, all, []int32{0}), p("t", 2, all, []int32{0}), p("t", 3, all, []int32{0}),
			p("t", 4, all, []int32{0}), p("t", 5, all, []int32{0}), p("t", 6, all, []int32{0})), nil, false,
			"not yet in the ISR of 7 of the 7 partitions it replicates: t-0, t-1, t-2, t-3, t-4 and 2 more"},
		{"voter leading", voter(0), md(), quorum, true, "voter 0 leads the quorum (epoch 4)"},
		{"voter caught up", voter(1), md(), quorum, true, "voter 1 caught up with leader 0 (lag 10)"},
		{"voter behind", voter(2), md(), quorum, false, "voter 2 is 2000 records behind the quorum's high watermark 5000 (leader 0; at most 1000 allowed)"},
		{"voter fine but broker behind", voter(1), md(p("t", 0, all, []int32{0})), quorum, false, "broker 1 is not yet in the ISR"},
		{"no quorum leader", voter(1), md(), &Quorum{Leader: -1}, false, "the metadata quorum has no leader"},
		{"not a voter", voter(5), &Metadata{Brokers: []Broker{{ID: 5}}}, quorum, false, "node 5 is not among the quorum's voters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ready, why := evaluate(tt.node, tt.md, tt.q, 1000)
			if ready != tt.ready || !strings.Contains(why, tt.want) {
				t.Errorf("evaluate = %v, %q; want %v and %q", ready, why, tt.ready, tt.want)
			}
		})
	}
}

// TestMetadataWireMatchesKafka checks the hand-written Metadata v12 encoding against franz-go's
// generated one, both ways.
func TestMetadataWireMatchesKafka(t *testing.T) {
	t.Parallel()
	req := kmsg.NewPtrMetadataRequest()
	req.Version = metadataVersion
	if err := req.ReadFrom(encodeMetadataRequest()); err != nil {
		t.Fatalf("kmsg cannot read our request: %v", err)
	}
	if req.Topics != nil || req.AllowAutoTopicCreation {
		t.Errorf("request = %+v, want all topics, no auto creation", req)
	}

	resp := kmsg.NewPtrMetadataResponse()
	resp.Version = metadataVersion
	resp.ControllerID = 2
	for _, id := range []int32{0, 1} {
		b := kmsg.NewMetadataResponseBroker()
		b.NodeID, b.Host, b.Port = id, fmt.Sprint("kafka-", id), 9092
		resp.Brokers = append(resp.Brokers, b)
	}
	topic := kmsg.NewMetadataResponseTopic()
	name := "orders"
	topic.Topic = &name
	for i := int32(0); i < 2; i++ {
		p := kmsg.NewMetadataResponseTopicPartition()
		p.Partition, p.Leader, p.Replicas, p.ISR, p.OfflineReplicas = i, i, []int32{0, 1}, []int32{i}, []int32{}
		topic.Partitions = append(topic.Partitions, p)
	}
	resp.Topics = append(resp.Topics, topic)
	md, err := decodeMetadataResponse(resp.AppendTo(nil))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if md.Controller != 2 || len(md.Brokers) != 2 || md.Brokers[1].Host != "kafka-1" || md.Brokers[1].Port != 9092 {
		t.Errorf("brokers %+v, controller %d", md.Brokers, md.Controller)
	}
	if len(md.Partitions) != 2 || md.Partitions[1].Topic != "orders" || md.Partitions[1].Index != 1 ||
		len(md.Partitions[1].Replicas) != 2 || len(md.Partitions[1].ISR) != 1 || md.Partitions[1].ISR[0] != 1 {
		t.Errorf("partitions %+v", md.Partitions)
	}
	if _, err := decodeMetadataResponse(resp.AppendTo(nil)[:20]); err == nil {
		t.Error("a truncated response decoded without error")
	}
}

func TestDescribeQuorumWireMatchesKafka(t *testing.T) {
	t.Parallel()
	req := kmsg.NewPtrDescribeQuorumRequest()
	req.Version = describeQuorumVersion
	if err := req.ReadFrom(encodeDescribeQuorumRequest()); err != nil {
		t.Fatalf("kmsg cannot read our request: %v", err)
	}
	if len(req.Topics) != 1 || req.Topics[0].Topic != "__cluster_metadata" || len(req.Topics[0].Partitions) != 1 || req.Topics[0].Partitions[0].Partition != 0 {
		t.Errorf("request = %+v", req)
	}

	resp := kmsg.NewPtrDescribeQuorumResponse()
	resp.Version = describeQuorumVersion
	topic := kmsg.NewDescribeQuorumResponseTopic()
	topic.Topic = "__cluster_metadata"
	p := kmsg.NewDescribeQuorumResponseTopicPartition()
	p.LeaderID, p.LeaderEpoch, p.HighWatermark = 1, 7, 1234
	for _, v := range []struct {
		id  int32
		leo int64
	}{{0, 1200}, {1, 1234}, {2, 1230}} {
		s := kmsg.NewDescribeQuorumResponseTopicPartitionReplicaState()
		s.ReplicaID, s.LogEndOffset, s.LastFetchTimestamp, s.LastCaughtUpTimestamp = v.id, v.leo, 99, 98
		p.CurrentVoters = append(p.CurrentVoters, s)
	}
	obs := kmsg.NewDescribeQuorumResponseTopicPartitionReplicaState()
	obs.ReplicaID, obs.LogEndOffset = 3, 1000
	p.Observers = append(p.Observers, obs)
	topic.Partitions = append(topic.Partitions, p)
	resp.Topics = append(resp.Topics, topic)
	q, err := decodeDescribeQuorumResponse(resp.AppendTo(nil))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if q.Leader != 1 || q.LeaderEpoch != 7 || q.HighWatermark != 1234 || len(q.Voters) != 3 || q.Voters[0].LogEndOffset != 1200 || q.Voters[2].ID != 2 {
		t.Errorf("quorum = %+v", q)
	}

	resp.ErrorCode = 41
	if _, err := decodeDescribeQuorumResponse(resp.AppendTo(nil)); err == nil || !strings.Contains(err.Error(), "NOT_CONTROLLER") {
		t.Errorf("error code 41: err = %v, want NOT_CONTROLLER named", err)
	}
}

// TestProbeAgainstKfake asks a real protocol implementation (franz-go's kfake, three brokers) over
// TCP: a registered broker replicating a fully in-sync topic is ready, an unknown one is not.
func TestProbeAgainstKfake(t *testing.T) {
	t.Parallel()
	c := kfaketest.WithTopic(t, "probe", 3, 3)
	addr := c.ListenAddrs()[0]

	ready, why := probe(Node{ID: 1, Broker: true}, addr, 3*time.Second, 1000)
	if !ready || !strings.Contains(why, "broker 1 registered and in the ISR of all 3 partitions") {
		t.Errorf("broker 1: %v, %q", ready, why)
	}
	ready, why = probe(Node{ID: 7, Broker: true}, addr, 3*time.Second, 1000)
	if ready || !strings.Contains(why, "broker 7 is not registered") {
		t.Errorf("broker 7: %v, %q", ready, why)
	}
	ready, why = probe(Node{ID: 1, Broker: true}, "127.0.0.1:1", time.Second, 1000)
	if ready || !strings.Contains(why, "metadata from 127.0.0.1:1") {
		t.Errorf("nothing listening: %v, %q", ready, why)
	}
}

func TestRunReadsTheNodeConfiguration(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tests := []struct {
		name, config string
		code         int
		want         string
	}{
		{"no file yet", filepath.Join(dir, "missing"), 1, "not ready: node configuration not written yet"},
		{"no node id", write("a", "process.roles=broker\n"), 1, `node.id "" is not a number`},
		{"controller only", write("b", "node.id=1\nprocess.roles=controller\n"), 1, "has no broker role"},
		{"no inter-broker listener", write("c", "node.id=1\nprocess.roles=broker\ninter.broker.listener.name=INTERNAL\nlisteners=EXTERNAL://:9094\n"), 1, "no INTERNAL listener"},
		// Port 1 refuses: the probe gets as far as asking 127.0.0.1:<the INTERNAL port>.
		{"asks the inter-broker listener", write("d", "# c\nnode.id = 2\nprocess.roles=broker,controller\ninter.broker.listener.name=INTERNAL\nlisteners=INTERNAL://:1,CONTROLLER://:9093\n"), 1, "metadata from 127.0.0.1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			code := run([]string{"-config", tt.config, "-timeout", "500ms"}, &out, &errOut)
			if code != tt.code || !strings.Contains(out.String(), tt.want) {
				t.Errorf("exit %d, stdout %q; want %d and %q", code, out.String(), tt.code, tt.want)
			}
		})
	}
}
