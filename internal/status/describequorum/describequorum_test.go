package describequorum

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafka-kraft/kafka-kraft/internal/clientauth"
	"github.com/kafka-kraft/kafka-kraft/internal/kfaketest"
)

// The request frame, byte for byte as DescribeQuorumRequest.json lays it out (every version is
// flexible: compact strings and arrays, tagged fields), and as kmsg decodes it.
func TestAppendRequestMatchesTheSchema(t *testing.T) {
	t.Parallel()
	for _, version := range []int16{0, 1} {
		frame := AppendRequest(nil, version, 7, "kk")
		want := "00000029" + // size: 41 bytes follow
			"0037" + "000" + string('0'+rune(version)) + "00000007" + // api key 55, version, correlation id
			"0002" + hex.EncodeToString([]byte("kk")) + // client id: int16 length (not compact in header v2)
			"00" + // header tagged fields
			"02" + "13" + hex.EncodeToString([]byte(MetadataTopic)) + // Topics: 1 (+1), TopicName: 18 (+1)
			"02" + "00000000" + "00" + // Partitions: 1 (+1), PartitionIndex 0, its tags
			"00" + // topic tags
			"00" // request tags
		if got := hex.EncodeToString(frame); got != want {
			t.Errorf("v%d frame\n got %s\nwant %s", version, got, want)
		}

		// kmsg reads the same: the header as kfake reads it, then the body.
		b := frame[4:]
		if key, v, corr := int16(binary.BigEndian.Uint16(b)), int16(binary.BigEndian.Uint16(b[2:])), int32(binary.BigEndian.Uint32(b[4:])); key != 55 || v != version || corr != 7 {
			t.Fatalf("header: key %d version %d correlation %d", key, v, corr)
		}
		n := int(binary.BigEndian.Uint16(b[8:]))
		body, err := skipTags(b[10+n:])
		if err != nil {
			t.Fatal(err)
		}
		req := kmsg.NewPtrDescribeQuorumRequest()
		req.Version = version
		if err := req.ReadFrom(body); err != nil {
			t.Fatalf("v%d: kmsg cannot read the body: %v", version, err)
		}
		if len(req.Topics) != 1 || req.Topics[0].Topic != MetadataTopic || len(req.Topics[0].Partitions) != 1 || req.Topics[0].Partitions[0].Partition != 0 {
			t.Errorf("v%d: kmsg reads %+v", version, req.Topics)
		}
	}
	if got := AppendRequest(nil, 1, 1, ""); !bytes.Equal(got[12:14], []byte{0xff, 0xff}) {
		t.Errorf("an empty client id is sent as %x, want null (ffff)", got[12:14])
	}
}

// answer is a DescribeQuorum answer as a broker frames it (without the size): response header v1
// (correlation id, tagged fields) and the body, encoded by kmsg.
func answer(version int16, corr int32, headerTags []byte, fill func(*kmsg.DescribeQuorumResponse)) []byte {
	res := kmsg.NewPtrDescribeQuorumResponse()
	res.Version = version
	fill(res)
	b := binary.BigEndian.AppendUint32(nil, uint32(corr))
	b = append(b, headerTags...)
	return res.AppendTo(b)
}

func replica(id int32, leo, fetch, caughtUp int64) kmsg.DescribeQuorumResponseTopicPartitionReplicaState {
	r := kmsg.NewDescribeQuorumResponseTopicPartitionReplicaState()
	r.ReplicaID, r.LogEndOffset, r.LastFetchTimestamp, r.LastCaughtUpTimestamp = id, leo, fetch, caughtUp
	return r
}

// healthy fills the answer of a three-voter quorum led by 1, with broker 3 observing.
func healthy(res *kmsg.DescribeQuorumResponse) {
	p := kmsg.NewDescribeQuorumResponseTopicPartition()
	p.LeaderID, p.LeaderEpoch, p.HighWatermark = 1, 4, 1200
	p.CurrentVoters = append(p.CurrentVoters, replica(0, 1200, 9000, 9000), replica(1, 1200, 9500, 9500), replica(2, 1100, 8000, 7000))
	p.Observers = append(p.Observers, replica(3, 1200, 9400, 9400))
	t := kmsg.NewDescribeQuorumResponseTopic()
	t.Topic = MetadataTopic
	t.Partitions = append(t.Partitions, p)
	res.Topics = append(res.Topics, t)
}

func TestParseResponse(t *testing.T) {
	t.Parallel()
	v1 := &Quorum{LeaderID: 1, LeaderEpoch: 4, HighWatermark: 1200,
		Voters:    []Replica{{0, 1200, 9000, 9000}, {1, 1200, 9500, 9500}, {2, 1100, 8000, 7000}},
		Observers: []Replica{{3, 1200, 9400, 9400}}}
	v0 := &Quorum{LeaderID: 1, LeaderEpoch: 4, HighWatermark: 1200,
		Voters:    []Replica{{0, 1200, -1, -1}, {1, 1200, -1, -1}, {2, 1100, -1, -1}},
		Observers: []Replica{{3, 1200, -1, -1}}}
	tests := []struct {
		name    string
		version int16
		frame   []byte
		want    *Quorum
		wantErr string
	}{
		{name: "v1", version: 1, frame: answer(1, 9, []byte{0}, healthy), want: v1},
		{name: "v0 has no timestamps", version: 0, frame: answer(0, 9, []byte{0}, healthy), want: v0},
		{name: "header with a tagged field", version: 1, frame: answer(1, 9, []byte{1, 5, 2, 0xaa, 0xbb}, healthy), want: v1},
		{name: "other correlation id", version: 1, frame: answer(1, 8, []byte{0}, healthy), wantErr: "answer to request 8, want 9"},
		{name: "truncated", version: 1, frame: answer(1, 9, []byte{0}, healthy)[:30], wantErr: "decode the answer"},
		{name: "top-level error", version: 1, frame: answer(1, 9, []byte{0}, func(r *kmsg.DescribeQuorumResponse) { r.ErrorCode = 31 }),
			wantErr: "Cluster Authorization Failed"},
		{name: "partition error", version: 1, frame: answer(1, 9, []byte{0}, func(r *kmsg.DescribeQuorumResponse) {
			healthy(r)
			r.Topics[0].Partitions[0].ErrorCode = 6
		}), wantErr: "__cluster_metadata partition 0: [6] Not Leader For Partition"},
		{name: "no metadata partition", version: 1, frame: answer(1, 9, []byte{0}, func(*kmsg.DescribeQuorumResponse) {}),
			wantErr: "no __cluster_metadata partition 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := ParseResponse(tt.frame, tt.version, 9)
			var q *Quorum
			if err == nil {
				q, err = res.Quorum()
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(q, tt.want) {
				t.Errorf("quorum\n got %+v\nwant %+v", q, tt.want)
			}
		})
	}
}

// conn is a broker connection: it answers a request written to it with answer(correlation id).
type conn struct {
	answer  func(corr int32) []byte
	written bytes.Buffer
	toRead  bytes.Buffer
}

func (c *conn) Write(b []byte) (int, error) {
	c.written.Write(b)
	if c.answer != nil && len(b) >= 12 {
		frame := c.answer(int32(binary.BigEndian.Uint32(b[8:])))
		c.toRead.Write(binary.BigEndian.AppendUint32(nil, uint32(len(frame))))
		c.toRead.Write(frame)
	}
	return len(b), nil
}

func (c *conn) Read(b []byte) (int, error) { return c.toRead.Read(b) }

func TestRawExchange(t *testing.T) {
	t.Parallel()
	var corr int32
	c := &conn{answer: func(id int32) []byte {
		corr = id
		return answer(1, id, []byte{0}, healthy)
	}}
	req := &Request{Version: 1, ClientID: "c"}
	req.Required(map[protocol.ApiKey]int16{Key: 0})
	m, err := req.RawExchange(c)
	if err != nil {
		t.Fatal(err)
	}
	if q, err := m.(*Response).Quorum(); err != nil || q.LeaderID != 1 {
		t.Errorf("quorum %+v, %v", q, err)
	}
	if want := AppendRequest(nil, 1, corr, "c"); !bytes.Equal(c.written.Bytes(), want) {
		t.Errorf("wrote %x, want %x", c.written.Bytes(), want)
	}

	// A broker that does not know the API drops the connection: the error says it did not list it.
	_, err = (&Request{Version: 1}).RawExchange(&conn{})
	if err == nil || !strings.Contains(err.Error(), "does not list DescribeQuorum") {
		t.Errorf("error = %v, want the missing API named", err)
	}
	if _, err := (&Request{Version: 2}).RawExchange(&conn{}); err == nil || !strings.Contains(err.Error(), "version 2 not in 0..1") {
		t.Errorf("error = %v, want the version refused", err)
	}
}

// kfake does not implement DescribeQuorum; it parses the request with kmsg (after the request
// header, on a connection kafka-go opened, negotiated and authenticated) and the control
// function answers it. So this proves the frame on the wire, both ways, through kafka-go.
func quorumCluster(t *testing.T, opts ...kfake.Opt) (*kfake.Cluster, *atomic.Int32) {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(3)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	var asked atomic.Int32
	c.ControlKey(int16(Key), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		req := kreq.(*kmsg.DescribeQuorumRequest)
		if len(req.Topics) != 1 || req.Topics[0].Topic != MetadataTopic || len(req.Topics[0].Partitions) != 1 {
			return nil, errors.New("unexpected request"), true
		}
		asked.Add(1)
		res := req.ResponseKind().(*kmsg.DescribeQuorumResponse)
		healthy(res)
		return res, nil, true
	})
	return c, &asked
}

func TestDescribeThroughKafkaGo(t *testing.T) {
	t.Parallel()
	plainCluster, plainAsked := quorumCluster(t)
	tlsOpts, ca := kfaketest.TLS(t, "admin", "pw-for-the-test")
	tlsCluster, tlsAsked := quorumCluster(t, tlsOpts...)
	tests := []struct {
		name  string
		c     *kfake.Cluster
		asked *atomic.Int32
		auth  clientauth.Auth
	}{
		{name: "plaintext", c: plainCluster, asked: plainAsked},
		{name: "TLS and SCRAM-SHA-512", c: tlsCluster, asked: tlsAsked, auth: clientauth.Auth{CACert: ca, Username: "admin", Password: "pw-for-the-test"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr, err := tt.auth.Transport(5 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer tr.CloseIdleConnections()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			q, err := Describe(ctx, tr, kafka.TCP(tt.c.ListenAddrs()...), "test")
			if err != nil {
				t.Fatal(err)
			}
			if q.LeaderID != 1 || len(q.Voters) != 3 || q.Voters[2].LastCaughtUpTimestamp != 7000 || len(q.Observers) != 1 {
				t.Errorf("quorum %+v", q)
			}
			if tt.asked.Load() != 1 {
				t.Errorf("the cluster was asked %d times, want 1", tt.asked.Load())
			}
		})
	}
}
