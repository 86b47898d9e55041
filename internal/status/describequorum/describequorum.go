// Package describequorum asks a Kafka cluster for the state of its KRaft metadata quorum
// (DescribeQuorum, API key 55) over a kafka-go transport: on the client's own connections, with
// its TLS and SASL, to any broker. A broker forwards the request to the active controller, as the
// Java admin client relies on.
//
// kafka-go v0.4.51 cannot carry this API the usual way: protocol.Register indexes a table of 52
// API keys (it panics on key 55) and protocol.WriteRequest refuses any key beyond it. So Request
// implements protocol.RawExchanger, kafka-go's hook for a message that writes its own frame on an
// established (and authenticated) connection, and the message bodies are franz-go's kmsg types,
// generated from Kafka's DescribeQuorumRequest.json and DescribeQuorumResponse.json. Only the
// request and response headers are written here; the tests check them byte for byte.
package describequorum

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Key is DescribeQuorum's API key.
const Key protocol.ApiKey = 55

// MetadataTopic is the KRaft metadata log; its partition 0 is the one the quorum replicates.
const MetadataTopic = "__cluster_metadata"

// Versions this package speaks. v1 (Kafka 3.3+) adds the replicas' last fetch and last caught-up
// times, which the status check needs; v2 adds the voters' directory ids and listeners (KIP-853),
// which it does not.
const (
	MinVersion     int16 = 0
	MaxVersion     int16 = 1
	DefaultVersion int16 = 1
)

// maxResponseSize bounds what is read for one answer: a quorum of a few voters and observers
// takes a few hundred bytes, so anything near this means the stream is not what we expect.
const maxResponseSize = 1 << 20

// correlationIDs numbers the requests. Any value works (a kafka-go connection carries one request
// at a time); distinct values make a mixed-up answer visible.
var correlationIDs atomic.Int32

// Request asks for the state of partition 0 of __cluster_metadata. It is a kafka-go
// protocol.Message for Transport.RoundTrip; kafka-go sends it to a bootstrap broker.
type Request struct {
	// Version is the DescribeQuorum version sent, MinVersion to MaxVersion. Describe uses
	// DefaultVersion (1).
	Version int16
	// ClientID is the client id of the request header ("" sends none).
	ClientID string

	// advertised records whether the broker listed API key 55 in its ApiVersions answer, to
	// explain a failure.
	advertised bool
}

// ApiKey is DescribeQuorum's key.
func (r *Request) ApiKey() protocol.ApiKey { return Key }

// Required is always true: kafka-go has no encoder for this key, the request writes itself.
func (r *Request) Required(versions map[protocol.ApiKey]int16) bool {
	_, r.advertised = versions[Key]
	return true
}

// RawExchange writes the request on the broker connection and reads its answer.
func (r *Request) RawExchange(rw io.ReadWriter) (protocol.Message, error) {
	if r.Version < MinVersion || r.Version > MaxVersion {
		return nil, fmt.Errorf("describe quorum: version %d not in %d..%d", r.Version, MinVersion, MaxVersion)
	}
	corr := correlationIDs.Add(1)
	if _, err := rw.Write(AppendRequest(nil, r.Version, corr, r.ClientID)); err != nil {
		return nil, r.explain(fmt.Errorf("describe quorum: send: %w", err))
	}
	frame, err := readFrame(rw)
	if err != nil {
		return nil, r.explain(fmt.Errorf("describe quorum: read the answer: %w", err))
	}
	return ParseResponse(frame, r.Version, corr)
}

// explain adds that the broker did not list the API, the likely cause of a dropped connection
// (not of a timeout: the deadline kafka-go sets from the caller's context).
func (r *Request) explain(err error) error {
	if r.advertised || errors.Is(err, os.ErrDeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w (the broker does not list DescribeQuorum, API key 55, among its APIs)", err)
}

// AppendRequest appends a whole request frame to dst: the size, request header v2 (flexible:
// api key, version, correlation id, client id as a nullable string, no tagged fields) and the body.
func AppendRequest(dst []byte, version int16, correlationID int32, clientID string) []byte {
	req := kmsg.NewPtrDescribeQuorumRequest()
	req.Version = version
	topic := kmsg.NewDescribeQuorumRequestTopic()
	topic.Topic = MetadataTopic
	partition := kmsg.NewDescribeQuorumRequestTopicPartition()
	partition.Partition = 0
	topic.Partitions = append(topic.Partitions, partition)
	req.Topics = append(req.Topics, topic)

	start := len(dst)
	dst = append(dst, 0, 0, 0, 0) // size, set below
	dst = binary.BigEndian.AppendUint16(dst, uint16(Key))
	dst = binary.BigEndian.AppendUint16(dst, uint16(version))
	dst = binary.BigEndian.AppendUint32(dst, uint32(correlationID))
	if clientID == "" {
		dst = binary.BigEndian.AppendUint16(dst, 0xffff) // null
	} else {
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(clientID)))
		dst = append(dst, clientID...)
	}
	dst = append(dst, 0) // no tagged fields
	dst = req.AppendTo(dst)
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst
}

// readFrame reads one size-prefixed answer and returns it without the size.
func readFrame(r io.Reader) ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(size[:])
	if n > maxResponseSize {
		return nil, fmt.Errorf("answer of %d bytes, more than the %d a quorum description takes", n, maxResponseSize)
	}
	frame := make([]byte, n)
	if _, err := io.ReadFull(r, frame); err != nil {
		return nil, err
	}
	return frame, nil
}

// ParseResponse decodes an answer without its size prefix: response header v1 (correlation id,
// tagged fields) and the body of the given version.
func ParseResponse(frame []byte, version int16, correlationID int32) (*Response, error) {
	if len(frame) < 4 {
		return nil, errors.New("describe quorum: answer shorter than its header")
	}
	if got := int32(binary.BigEndian.Uint32(frame)); got != correlationID {
		return nil, fmt.Errorf("describe quorum: answer to request %d, want %d", got, correlationID)
	}
	body, err := skipTags(frame[4:])
	if err != nil {
		return nil, fmt.Errorf("describe quorum: answer header: %w", err)
	}
	res := &Response{Body: kmsg.NewDescribeQuorumResponse()}
	res.Body.Version = version
	if err := res.Body.ReadFrom(body); err != nil {
		return nil, fmt.Errorf("describe quorum v%d: decode the answer: %w", version, err)
	}
	return res, nil
}

// skipTags skips a tagged-field section (a count, then each tag's id, size and bytes).
func skipTags(b []byte) ([]byte, error) {
	uvarint := func() (uint64, error) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, errors.New("bad tagged fields")
		}
		b = b[n:]
		return v, nil
	}
	count, err := uvarint()
	if err != nil {
		return nil, err
	}
	for range count {
		if _, err := uvarint(); err != nil { // tag id
			return nil, err
		}
		size, err := uvarint()
		if err != nil {
			return nil, err
		}
		if size > uint64(len(b)) {
			return nil, errors.New("tagged field longer than the answer")
		}
		b = b[size:]
	}
	return b, nil
}

// Response is a DescribeQuorum answer.
type Response struct {
	Body kmsg.DescribeQuorumResponse
}

// ApiKey is DescribeQuorum's key.
func (r *Response) ApiKey() protocol.ApiKey { return Key }

// Quorum is the state of the metadata partition as its leader reports it.
type Quorum struct {
	// LeaderID is the active controller's node id, -1 when there is no leader.
	LeaderID      int32
	LeaderEpoch   int32
	HighWatermark int64
	// Voters are the controllers that vote; Observers the brokers (and controllers not voting)
	// that fetch the log. In the answer's order.
	Voters, Observers []Replica
}

// Replica is one replica of the metadata log as the leader sees it.
type Replica struct {
	ID int32
	// LogEndOffset is the replica's log end offset known to the leader, -1 when unknown.
	LogEndOffset int64
	// LastFetchTimestamp and LastCaughtUpTimestamp are in milliseconds since the epoch on the
	// leader's clock, -1 when unknown (always in a v0 answer).
	LastFetchTimestamp, LastCaughtUpTimestamp int64
}

// Quorum returns the metadata partition's state, or the error the answer carries.
func (r *Response) Quorum() (*Quorum, error) {
	if r.Body.ErrorCode != 0 {
		return nil, fmt.Errorf("describe quorum: %w", kafka.Error(r.Body.ErrorCode))
	}
	for _, t := range r.Body.Topics {
		if t.Topic != MetadataTopic {
			continue
		}
		for _, p := range t.Partitions {
			if p.Partition != 0 {
				continue
			}
			if p.ErrorCode != 0 {
				return nil, fmt.Errorf("describe quorum: %s partition 0: %w", MetadataTopic, kafka.Error(p.ErrorCode))
			}
			return &Quorum{
				LeaderID: p.LeaderID, LeaderEpoch: p.LeaderEpoch, HighWatermark: p.HighWatermark,
				Voters:    replicas(p.CurrentVoters, r.Body.Version),
				Observers: replicas(p.Observers, r.Body.Version),
			}, nil
		}
	}
	return nil, fmt.Errorf("describe quorum: the answer has no %s partition 0", MetadataTopic)
}

func replicas(in []kmsg.DescribeQuorumResponseTopicPartitionReplicaState, version int16) []Replica {
	out := make([]Replica, 0, len(in))
	for _, s := range in {
		r := Replica{ID: s.ReplicaID, LogEndOffset: s.LogEndOffset, LastFetchTimestamp: -1, LastCaughtUpTimestamp: -1}
		if version >= 1 {
			r.LastFetchTimestamp, r.LastCaughtUpTimestamp = s.LastFetchTimestamp, s.LastCaughtUpTimestamp
		}
		out = append(out, r)
	}
	return out
}

// Describe asks the cluster at addr, through rt (a *kafka.Transport with the client's
// credentials), for the quorum's state with DescribeQuorum v1.
func Describe(ctx context.Context, rt kafka.RoundTripper, addr net.Addr, clientID string) (*Quorum, error) {
	m, err := rt.RoundTrip(ctx, addr, &Request{Version: DefaultVersion, ClientID: clientID})
	if err != nil {
		return nil, err
	}
	res, ok := m.(*Response)
	if !ok {
		return nil, fmt.Errorf("describe quorum: unexpected answer %T", m)
	}
	return res.Quorum()
}
