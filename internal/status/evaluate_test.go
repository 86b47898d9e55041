package status

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// healthyReport is a three-node cluster (every node a voter, 0 the active controller) with one
// topic of three partitions, RF 3 and min.insync.replicas 2. Timestamps are on the leader's clock.
func healthyReport() Report {
	return Report{
		ClusterID: "kraft-cluster-id-00001",
		Bootstrap: []string{"127.0.0.1:31090"},
		Brokers: []Broker{
			{ID: 0, Address: "127.0.0.1:31090"}, {ID: 1, Address: "127.0.0.1:31091"}, {ID: 2, Address: "127.0.0.1:31092"},
		},
		Quorum: Quorum{LeaderID: 0, LeaderEpoch: 3, HighWatermark: 5000, Voters: []Replica{
			{ID: 0, LogEndOffset: 5000, LastFetchTimestamp: 1_000_000, LastCaughtUpTimestamp: 1_000_000},
			{ID: 1, LogEndOffset: 5000, LastFetchTimestamp: 999_800, LastCaughtUpTimestamp: 999_800},
			{ID: 2, LogEndOffset: 4990, LastFetchTimestamp: 999_700, LastCaughtUpTimestamp: 999_600},
		}},
		Topics: []Topic{{Name: "orders", ReplicationFactor: 3, MinInsyncReplicas: 2, Partitions: []Partition{
			{ID: 0, Leader: 0, Replicas: []int32{0, 1, 2}, ISR: []int32{0, 1, 2}},
			{ID: 1, Leader: 1, Replicas: []int32{1, 2, 0}, ISR: []int32{1, 2, 0}},
			{ID: 2, Leader: 2, Replicas: []int32{2, 0, 1}, ISR: []int32{2, 0, 1}},
		}}},
		Groups: []Group{{ID: "readers", State: "Stable", ProtocolType: "consumer", Coordinator: 1, Members: 2, Lag: 120,
			Topics: []GroupTopic{{Topic: "orders", Lag: 120, Partitions: []PartitionLag{
				{Partition: 0, Committed: 100, End: 150, Lag: 50}, {Partition: 1, Committed: 100, End: 170, Lag: 70}, {Partition: 2, Committed: 90, End: 90, Lag: 0},
			}}}}},
	}
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	expect := Expect{Brokers: 3, Controllers: 3}
	tests := []struct {
		name   string
		change func(*Report)
		expect *Expect
		want   []Problem // Message is checked by substring
	}{
		{name: "healthy cluster has no problem", change: func(*Report) {}},
		{name: "consumer lag is not a problem", change: func(r *Report) { r.Groups[0].Lag, r.Groups[0].Topics[0].Lag = 1e9, 1e9 }},
		{name: "partition without a leader is offline", change: func(r *Report) {
			p := &r.Topics[0].Partitions[1]
			p.Leader, p.ISR = -1, []int32{}
		}, want: []Problem{{Severity: Critical, Kind: KindOffline, Topic: "orders", Partitions: []int32{1}, Nodes: []int32{0, 1, 2},
			Message: "topic orders: partition 1 offline, no leader (1 of 3); replicas on brokers 0, 1, 2"}}},
		{name: "short ISR is under-replicated", change: func(r *Report) {
			r.Topics[0].Partitions[0].ISR = []int32{0, 1}
			r.Topics[0].Partitions[2].ISR = []int32{0, 1}
		}, want: []Problem{{Severity: Warning, Kind: KindUnderReplicated, Topic: "orders", Partitions: []int32{0, 2}, Nodes: []int32{2},
			Message: "topic orders: partitions 0, 2 under-replicated (2 of 3); out of the ISR: broker 2"}}},
		{name: "ISR below min.insync.replicas refuses acks=all writes", change: func(r *Report) {
			r.Topics[0].Partitions[0].ISR = []int32{0}
		}, want: []Problem{{Severity: Critical, Kind: KindUnderMinISR, Topic: "orders", Partitions: []int32{0}, Nodes: []int32{1, 2},
			Message: "topic orders: partition 0 below min.insync.replicas=2 (1 of 3), acks=all writes fail; out of the ISR: brokers 1, 2"}}},
		{name: "a partition counts under its worst rule only", change: func(r *Report) {
			r.Topics[0].Partitions[0].Leader, r.Topics[0].Partitions[0].ISR = -1, []int32{0}
		}, want: []Problem{{Severity: Critical, Kind: KindOffline, Topic: "orders", Partitions: []int32{0}, Nodes: []int32{0, 1, 2}, Message: "partition 0 offline"}}},
		{name: "min.insync.replicas unknown is said once for all topics", change: func(r *Report) {
			r.Topics[0].MinInsyncReplicas, r.Topics[0].ConfigError = 0, "DescribeConfigs: [29] Topic Authorization Failed"
			r.Topics = append(r.Topics, Topic{Name: "payments", ConfigError: "DescribeConfigs: [29] Topic Authorization Failed"})
		}, want: []Problem{{Severity: Warning, Kind: KindMinISRUnknown,
			Message: "min.insync.replicas of topics orders, payments unknown (DescribeConfigs: [29] Topic Authorization Failed): under-min-ISR not checked"}}},
		{name: "topic metadata error", change: func(r *Report) { r.Topics[0].Error = "Unknown Topic Or Partition (3)" },
			want: []Problem{{Severity: Warning, Kind: KindTopicError, Topic: "orders", Message: "topic orders: the metadata answers Unknown Topic Or Partition (3)"}}},
		{name: "missing broker is named by its ordinal", change: func(r *Report) { r.Brokers = r.Brokers[:2] },
			want: []Problem{{Severity: Warning, Kind: KindMissingBrokers, Nodes: []int32{2}, Message: "2 of 3 brokers registered: broker 2 missing"}}},
		{name: "missing brokers with other ids are counted", change: func(r *Report) { r.Brokers = []Broker{{ID: 7}} },
			want: []Problem{{Severity: Warning, Kind: KindMissingBrokers, Message: "1 of 3 brokers registered"}}},
		{name: "no expected counts, no count checks", expect: &Expect{}, change: func(r *Report) {
			r.Brokers = r.Brokers[:1]
			r.Quorum.Voters = r.Quorum.Voters[:1]
		}},
		{name: "more brokers than expected is fine (a scale-up in progress)", change: func(r *Report) { r.Brokers = append(r.Brokers, Broker{ID: 3}) }},
		{name: "quorum without a leader has no active controller", change: func(r *Report) { r.Quorum.LeaderID = -1 },
			want: []Problem{{Severity: Critical, Kind: KindNoLeader, Message: "the metadata quorum has no leader, so no active controller"}}},
		{name: "fewer voters than expected", change: func(r *Report) { r.Quorum.Voters = r.Quorum.Voters[:2] },
			want: []Problem{{Severity: Warning, Kind: KindMissingVoters, Nodes: []int32{2}, Message: "the quorum has 2 of 3 voters: controller 2 not among them"}}},
		{name: "voter behind the leader by more than the limit", change: func(r *Report) { r.Quorum.Voters[2].LogEndOffset = 3000 },
			want: []Problem{{Severity: Warning, Kind: KindVoterLagging, Nodes: []int32{2},
				Message: "voter 2 is 2000 records behind leader 0 (log end offset 3000 of 5000; limit 1000)"}}},
		{name: "voter behind by the limit exactly is fine", change: func(r *Report) { r.Quorum.Voters[2].LogEndOffset = 4000 }},
		{name: "voter lag limit is configurable", expect: &Expect{MaxVoterLag: 5}, change: func(*Report) {},
			want: []Problem{{Severity: Warning, Kind: KindVoterLagging, Nodes: []int32{2}, Message: "voter 2 is 10 records behind leader 0"}}},
		{name: "voter whose last fetch is too old", change: func(r *Report) {
			r.Quorum.Voters[1].LastFetchTimestamp, r.Quorum.Voters[1].LastCaughtUpTimestamp = 1_000_000-12_345, 1_000_000-12_345
		}, want: []Problem{{Severity: Warning, Kind: KindVoterLagging, Nodes: []int32{1},
			Message: "voter 1 last fetched 12.3s before the leader's latest timestamp (limit 10s)"}}},
		{name: "fetch age limit is configurable", expect: &Expect{MaxFetchAge: 250 * time.Millisecond}, change: func(*Report) {},
			want: []Problem{{Severity: Warning, Kind: KindVoterLagging, Nodes: []int32{2}, Message: "voter 2 last fetched 300ms before"}}},
		{name: "voter that never fetched from this leader", change: func(r *Report) {
			r.Quorum.Voters[1] = Replica{ID: 1, LogEndOffset: -1, LastFetchTimestamp: -1, LastCaughtUpTimestamp: -1}
		}, want: []Problem{{Severity: Warning, Kind: KindVoterLagging, Nodes: []int32{1}, Message: "voter 1 has not fetched from leader 0 since it was elected"}}},
		{name: "v0 answer without timestamps checks offsets only", change: func(r *Report) {
			for i := range r.Quorum.Voters {
				r.Quorum.Voters[i].LastFetchTimestamp, r.Quorum.Voters[i].LastCaughtUpTimestamp = -1, -1
			}
		}},
		{name: "unreadable quorum is unknown, not absent", change: func(r *Report) {
			r.Quorum = Quorum{LeaderID: -1, Error: "describe quorum: [31] Cluster Authorization Failed"}
		}, want: []Problem{{Severity: Warning, Kind: KindQuorumUnknown,
			Message: "the quorum could not be read (describe quorum: [31] Cluster Authorization Failed): the active controller and the voters were not checked"}}},
		{name: "a quorum that does not answer has most likely no leader: critical", change: func(r *Report) {
			r.Quorum = Quorum{LeaderID: -1, Leaderless: true, Error: "no answer within 10s"}
		}, want: []Problem{{Severity: Critical, Kind: KindNoLeader,
			Message: "the quorum did not answer (no answer within 10s): most likely it has no leader"}}},
		{name: "critical problems come first", change: func(r *Report) {
			r.Brokers = r.Brokers[:2]
			r.Topics[0].Partitions[1].Leader = -1
		}, want: []Problem{
			{Severity: Critical, Kind: KindOffline, Topic: "orders", Partitions: []int32{1}, Nodes: []int32{0, 1, 2}, Message: "partition 1"},
			{Severity: Warning, Kind: KindMissingBrokers, Nodes: []int32{2}, Message: "broker 2 missing"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := healthyReport()
			tt.change(&r)
			e := expect
			if tt.expect != nil {
				e = *tt.expect
			}
			got := Evaluate(r, e)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%+v", len(got), len(tt.want), got)
			}
			for i, w := range tt.want {
				g := got[i]
				if !strings.Contains(g.Message, w.Message) {
					t.Errorf("problem %d message\n %q\nlacks %q", i, g.Message, w.Message)
				}
				g.Message, w.Message = "", ""
				if !reflect.DeepEqual(g, w) {
					t.Errorf("problem %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

// Messages stay readable on a big topic: ten partitions named, the rest counted (JSON has all).
func TestEvaluateNamesTenPartitions(t *testing.T) {
	t.Parallel()
	r := healthyReport()
	r.Topics[0].Partitions = nil
	for i := range int32(50) {
		r.Topics[0].Partitions = append(r.Topics[0].Partitions, Partition{ID: i, Leader: 0, Replicas: []int32{0, 1, 2}, ISR: []int32{0, 1}})
	}
	ps := Evaluate(r, Expect{})
	if len(ps) != 1 || len(ps[0].Partitions) != 50 {
		t.Fatalf("problems %+v", ps)
	}
	if want := "partitions 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, ... (40 more) under-replicated (50 of 50); out of the ISR: broker 2"; !strings.Contains(ps[0].Message, want) {
		t.Errorf("message %q lacks %q", ps[0].Message, want)
	}
}
