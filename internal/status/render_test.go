package status

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/kafka-kraft/kafka-kraft/internal/golden"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// unhealthyReport has a bit of everything wrong: broker 2 gone, its voter far behind, one
// partition offline, one under min.insync.replicas, one under-replicated, a group whose lag is
// partly unknown and one whose offsets could not be read.
func unhealthyReport() Report {
	r := healthyReport()
	r.Brokers = r.Brokers[:2]
	r.Quorum.Voters[2] = Replica{ID: 2, LogEndOffset: 3200, LastFetchTimestamp: 940_000, LastCaughtUpTimestamp: 930_000}
	r.Quorum.Observers = []Replica{{ID: 3, LogEndOffset: 5000, LastFetchTimestamp: 999_900, LastCaughtUpTimestamp: 999_900}}
	r.Topics[0].Partitions[0].ISR = []int32{0, 1}
	r.Topics[0].Partitions[1].ISR = []int32{1}
	r.Topics[0].Partitions[2] = Partition{ID: 2, Leader: -1, Replicas: []int32{2}, ISR: []int32{}, Offline: []int32{2}, Error: "Leader Not Available (5)"}
	r.Topics = append(r.Topics, Topic{Name: "__consumer_offsets", Internal: true, ReplicationFactor: 3, MinInsyncReplicas: 2,
		Partitions: []Partition{{ID: 0, Leader: 1, Replicas: []int32{1, 2, 0}, ISR: []int32{1, 0}}}})
	r.Topics[0], r.Topics[1] = r.Topics[1], r.Topics[0]
	r.Groups[0].Topics[0].Partitions[2] = PartitionLag{Partition: 2, Committed: 90, End: -1, Lag: -1}
	r.Groups[0].Topics[0].Lag, r.Groups[0].Lag = 120, 120
	r.Groups = append(r.Groups, Group{ID: "stuck", State: "Empty", ProtocolType: "consumer", Coordinator: 0, Topics: []GroupTopic{},
		Error: "OffsetFetch: [16] Not Coordinator For Group"})
	r.Problems = Evaluate(r, Expect{Brokers: 3, Controllers: 3})
	return r
}

func TestWriteTable(t *testing.T) {
	t.Parallel()
	unknown := healthyReport()
	unknown.Quorum = Quorum{LeaderID: -1, Error: "describe quorum: [31] Cluster Authorization Failed"}
	unknown.Groups, unknown.GroupsError = nil, "ListGroups: [31] Cluster Authorization Failed"
	unknown.Problems = Evaluate(unknown, Expect{})
	empty := Report{ClusterID: "kraft-cluster-id-00001", Bootstrap: []string{"127.0.0.1:9092"}, Brokers: []Broker{{ID: 0, Address: "127.0.0.1:9092"}},
		Quorum: Quorum{LeaderID: 0, LeaderEpoch: 1, HighWatermark: 10, Voters: []Replica{{ID: 0, LogEndOffset: 10, LastFetchTimestamp: 5, LastCaughtUpTimestamp: 5}}}}
	tests := []struct {
		name   string
		report Report
	}{
		{name: "healthy", report: healthyReport()},
		{name: "unhealthy", report: unhealthyReport()},
		{name: "quorum-unknown", report: unknown},
		{name: "empty", report: empty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.report.Healthy = len(tt.report.Problems) == 0
			var b bytes.Buffer
			if err := WriteTable(&b, tt.report); err != nil {
				t.Fatal(err)
			}
			golden.Compare(t, filepath.Join("testdata", tt.name+".golden"), b.String(), *update)
		})
	}
}

func TestWriteJSON(t *testing.T) {
	t.Parallel()
	r := unhealthyReport()
	var b bytes.Buffer
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	golden.Compare(t, filepath.Join("testdata", "unhealthy.json.golden"), b.String(), *update)
	var back Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, r) {
		t.Errorf("the JSON report does not read back as the report:\n got %+v\nwant %+v", back, r)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteTableReportsWriteErrors(t *testing.T) {
	t.Parallel()
	if err := WriteTable(failingWriter{}, healthyReport()); err == nil || err.Error() != "disk full" {
		t.Errorf("error = %v, want the writer's", err)
	}
}
