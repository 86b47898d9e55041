package status

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafka-kraft/kafka-kraft/internal/clientauth"
	"github.com/kafka-kraft/kafka-kraft/internal/kfaketest"
)

// healthyQuorum makes c report voters 0, 1 and 2 led by 0, all caught up.
func healthyQuorum(c *kfake.Cluster) {
	now := time.Now().UnixMilli()
	kfaketest.AnswerDescribeQuorum(c, 0,
		kfaketest.Voter{ID: 0, LogEndOffset: 420, LastFetchTimestamp: now},
		kfaketest.Voter{ID: 1, LogEndOffset: 420, LastFetchTimestamp: now - 150},
		kfaketest.Voter{ID: 2, LogEndOffset: 418, LastFetchTimestamp: now - 300})
}

func gather(t *testing.T, cfg Config) *Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, err := Gather(ctx, cfg)
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	return r
}

func TestGatherHealthyCluster(t *testing.T) {
	t.Parallel()
	c := kfaketest.WithTopic(t, "orders", 3, 3)
	healthyQuorum(c)
	kfaketest.CommitOffsets(t, c, "readers", "orders", 3, 5, 2)

	r := gather(t, Config{Brokers: c.ListenAddrs(), Expect: Expect{Brokers: 3, Controllers: 3}})
	if !r.Healthy || len(r.Problems) != 0 {
		t.Errorf("problems on a healthy cluster: %+v", r.Problems)
	}
	if len(r.Brokers) != 3 || r.Brokers[0].ID != 0 || r.Brokers[0].Address != c.ListenAddrs()[0] {
		t.Errorf("brokers %+v", r.Brokers)
	}
	if q := r.Quorum; !q.Known() || q.LeaderID != 0 || len(q.Voters) != 3 || q.HighWatermark != 420 {
		t.Errorf("quorum %+v", q)
	}
	if len(r.Topics) != 1 || r.Topics[0].Name != "orders" || len(r.Topics[0].Partitions) != 3 || r.Topics[0].ReplicationFactor != 3 || r.Topics[0].MinInsyncReplicas != 1 {
		t.Errorf("topics %+v", r.Topics)
	}
	if len(r.Groups) != 1 || r.Groups[0].ID != "readers" || r.Groups[0].Lag != 9 || len(r.Groups[0].Topics) != 1 || len(r.Groups[0].Topics[0].Partitions) != 3 {
		t.Fatalf("groups %+v (%s)", r.Groups, r.GroupsError)
	}
	if p := r.Groups[0].Topics[0].Partitions[1]; p != (PartitionLag{Partition: 1, Committed: 2, End: 5, Lag: 3}) {
		t.Errorf("partition 1 lag %+v", p)
	}
}

// kfake always has every replica in sync; the Metadata answer is edited to show a partition
// without a leader and one with a short ISR, and the quorum answer has no leader.
func TestGatherUnhealthyCluster(t *testing.T) {
	t.Parallel()
	c := kfaketest.WithTopic(t, "orders", 3, 3)
	kfaketest.OverrideMetadata(t, c, func(m *kmsg.MetadataResponse) {
		for i := range m.Topics {
			for j := range m.Topics[i].Partitions {
				p := &m.Topics[i].Partitions[j]
				switch p.Partition {
				case 1:
					p.Leader, p.ISR = -1, nil
				case 2:
					p.ISR = p.ISR[:2]
				}
			}
		}
	})
	kfaketest.AnswerDescribeQuorum(c, -1, kfaketest.Voter{ID: 0, LogEndOffset: -1, LastFetchTimestamp: -1})

	r := gather(t, Config{Brokers: c.ListenAddrs(), Expect: Expect{Brokers: 3, Controllers: 3}})
	if r.Healthy {
		t.Fatal("healthy, want problems")
	}
	var kinds []string
	for _, p := range r.Problems {
		kinds = append(kinds, p.Kind)
	}
	if got, want := strings.Join(kinds, " "), "no-active-controller offline-partitions missing-voters under-replicated"; got != want {
		t.Errorf("problems %s, want %s:\n%+v", got, want, r.Problems)
	}
	if p := r.Problems[1]; p.Topic != "orders" || len(p.Partitions) != 1 || p.Partitions[0] != 1 {
		t.Errorf("offline problem %+v, want orders partition 1", p)
	}
}

// kfake does not implement DescribeQuorum and drops the connection: the quorum is unknown, the
// rest of the report is there.
func TestGatherWithoutQuorumAnswer(t *testing.T) {
	t.Parallel()
	c := kfaketest.WithTopic(t, "orders", 1, 1)
	r := gather(t, Config{Brokers: c.ListenAddrs()})
	if r.Quorum.Known() || !strings.Contains(r.Quorum.Error, "does not list DescribeQuorum") {
		t.Errorf("quorum %+v, want unknown naming the missing API", r.Quorum)
	}
	if len(r.Topics) != 1 || len(r.Brokers) != 3 {
		t.Errorf("the rest of the report is missing: %+v", r)
	}
	if len(r.Problems) != 1 || r.Problems[0].Kind != KindQuorumUnknown {
		t.Errorf("problems %+v, want the quorum unknown", r.Problems)
	}
}

// A quorum without a leader leaves the forwarded request unanswered: unknown, with the likely cause.
func TestGatherQuorumTimeout(t *testing.T) {
	t.Parallel()
	c := kfaketest.WithTopic(t, "orders", 1, 1)
	c.ControlKey(int16(kmsg.DescribeQuorum), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		return nil, nil, true // no answer
	})
	r := gather(t, Config{Brokers: c.ListenAddrs(), RequestTimeout: 300 * time.Millisecond})
	if r.Quorum.Known() || !r.Quorum.Leaderless || !strings.Contains(r.Quorum.Error, "no answer within 300ms") || !strings.Contains(r.Quorum.Error, "usually means the quorum has no leader") {
		t.Errorf("quorum %+v, want unknown with the likely cause", r.Quorum)
	}
	if len(r.Problems) == 0 || r.Problems[0].Severity != Critical || r.Problems[0].Kind != KindNoLeader {
		t.Errorf("problems %+v, want a critical no-active-controller first", r.Problems)
	}
}

func TestGatherOverTLSAndSCRAM(t *testing.T) {
	t.Parallel()
	opts, ca := kfaketest.TLS(t, "admin", "the-admin-password")
	c, err := kfake.NewCluster(append(opts, kfake.NumBrokers(3))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	healthyQuorum(c)
	r := gather(t, Config{Brokers: c.ListenAddrs(), Auth: clientauth.Auth{CACert: ca, Username: "admin", Password: "the-admin-password"},
		Expect: Expect{Brokers: 3, Controllers: 3}})
	if !r.Healthy || r.Quorum.LeaderID != 0 {
		t.Errorf("report %+v", r)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = Gather(ctx, Config{Brokers: c.ListenAddrs(), Auth: clientauth.Auth{CACert: ca, Username: "admin", Password: "wrong"}, RequestTimeout: 2 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "status: metadata from "+c.ListenAddrs()[0]) {
		t.Errorf("with a wrong password: %v, want the metadata call to fail", err)
	}
}

// A hung broker (a stopped JVM) accepts connections and answers nothing: listed first among the
// bootstrap addresses, it must not keep the run from the others (seen in the e2e tier).
func TestGatherSkipsAHungBootstrapAddress(t *testing.T) {
	t.Parallel()
	hung, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hung.Close() })
	go func() {
		for {
			conn, err := hung.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { conn.Close() }) // held open, never answered
		}
	}()
	c := kfaketest.WithTopic(t, "orders", 3, 3)
	healthyQuorum(c)
	start := time.Now()
	r := gather(t, Config{Brokers: append([]string{hung.Addr().String()}, c.ListenAddrs()...), RequestTimeout: 10 * time.Second})
	if len(r.Brokers) != 3 || !r.Quorum.Known() || len(r.Topics) != 1 {
		t.Errorf("report %+v", r)
	}
	if took := time.Since(start); took > 3*bootstrapTimeout {
		t.Errorf("took %s with a hung first address", took)
	}
}

func TestGatherUnreachable(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := Gather(ctx, Config{Brokers: []string{"127.0.0.1:1"}, RequestTimeout: time.Second})
	if err == nil || !strings.Contains(err.Error(), "status: metadata from 127.0.0.1:1") {
		t.Fatalf("error = %v, want the metadata call from 127.0.0.1:1 to fail", err)
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{name: "no brokers", cfg: Config{}, want: "Config.Brokers is empty"},
		{name: "half credentials", cfg: Config{Brokers: []string{"a:1"}, Auth: clientauth.Auth{Username: "u"}}, want: "Config.Auth"},
		{name: "tiny timeout", cfg: Config{Brokers: []string{"a:1"}, RequestTimeout: time.Millisecond}, want: "Config.RequestTimeout = 1ms"},
		{name: "negative brokers", cfg: Config{Brokers: []string{"a:1"}, Expect: Expect{Brokers: -1}}, want: "Expect.Brokers = -1"},
		{name: "negative controllers", cfg: Config{Brokers: []string{"a:1"}, Expect: Expect{Controllers: -3}}, want: "Expect.Controllers = -3"},
		{name: "negative lag", cfg: Config{Brokers: []string{"a:1"}, Expect: Expect{MaxVoterLag: -1}}, want: "Expect.MaxVoterLag"},
		{name: "negative age", cfg: Config{Brokers: []string{"a:1"}, Expect: Expect{MaxFetchAge: -time.Second}}, want: "Expect.MaxFetchAge"},
		{name: "valid", cfg: Config{Brokers: []string{"a:1"}, Expect: Expect{Brokers: 3, Controllers: 3}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.cfg.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestParseExpect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		outputs string
		want    Expect
		wantErr bool
	}{
		{name: "deployed counts", outputs: `{"externalBootstrapServers": "a:1", "deployed": {"replicas": 4, "controllers": 3, "clusterId": "x"}}`, want: Expect{Brokers: 4, Controllers: 3}},
		{name: "no deployed output", outputs: `{"externalBootstrapServers": "a:1"}`},
		{name: "deployed null", outputs: `{"deployed": null}`},
		// kafka-kraft -show-secrets outputs (what make status passes): every value a string.
		{name: "deployed as a JSON string", outputs: `{"deployed": "{\"clusterId\":\"x\",\"controllers\":3,\"replicas\":5}"}`, want: Expect{Brokers: 5, Controllers: 3}},
		{name: "deployed in Go's map syntax (an older outputs printer)", outputs: `{"deployed": "map[controllers:3 replicas:3]"}`, wantErr: true},
		{name: "not JSON", outputs: `nope`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseExpect([]byte(tt.outputs))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParseExpect = %+v, %v; want %+v (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
