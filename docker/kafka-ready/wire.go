package main

// A minimal Kafka wire-protocol client: just the two requests the readiness check needs, Metadata
// v12 and DescribeQuorum v1, both "flexible" (compact strings and arrays, tagged fields). The probe
// runs every few seconds in every broker pod, so it is a small static binary with only the standard
// library: no JVM start per probe, and the image build needs nothing but a Go toolchain.
// Field layouts follow Kafka's clients/src/main/resources/common/message/*.json; the tests check
// them against franz-go's kmsg encoders.

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

const (
	apiMetadata       = 3
	apiDescribeQuorum = 55

	metadataVersion       = 12
	describeQuorumVersion = 1

	clientID = "kafka-ready"
	// maxResponse bounds a response read from the broker (Metadata of a large cluster is a few MB).
	maxResponse = 64 << 20
)

// encoder appends Kafka primitive types to a buffer.
type encoder struct{ b []byte }

func (e *encoder) int8(v int8)   { e.b = append(e.b, byte(v)) }
func (e *encoder) int16(v int16) { e.b = binary.BigEndian.AppendUint16(e.b, uint16(v)) }
func (e *encoder) int32(v int32) { e.b = binary.BigEndian.AppendUint32(e.b, uint32(v)) }
func (e *encoder) uvarint(v uint64) {
	e.b = binary.AppendUvarint(e.b, v)
}
func (e *encoder) bool(v bool) {
	if v {
		e.int8(1)
	} else {
		e.int8(0)
	}
}

// nullableString is the request header's client id: int16 length (-1 = null), not compact.
func (e *encoder) nullableString(s string) {
	e.int16(int16(len(s)))
	e.b = append(e.b, s...)
}
func (e *encoder) compactString(s string) {
	e.uvarint(uint64(len(s)) + 1)
	e.b = append(e.b, s...)
}
func (e *encoder) compactBytes(b []byte) {
	e.uvarint(uint64(len(b)) + 1)
	e.b = append(e.b, b...)
}
func (e *encoder) compactArrayLen(n int) { e.uvarint(uint64(n) + 1) }
func (e *encoder) nullCompactArray()     { e.uvarint(0) }
func (e *encoder) emptyTags()            { e.uvarint(0) }

// decoder reads Kafka primitive types; the first error sticks and later reads return zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("response truncated reading %s", what)
	}
}

func (d *decoder) take(n int, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || len(d.b) < n {
		d.fail(what)
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *decoder) int8() int8 {
	b := d.take(1, "int8")
	if b == nil {
		return 0
	}
	return int8(b[0])
}

func (d *decoder) int16() int16 {
	b := d.take(2, "int16")
	if b == nil {
		return 0
	}
	return int16(binary.BigEndian.Uint16(b))
}

func (d *decoder) int32() int32 {
	b := d.take(4, "int32")
	if b == nil {
		return 0
	}
	return int32(binary.BigEndian.Uint32(b))
}

func (d *decoder) int64() int64 {
	b := d.take(8, "int64")
	if b == nil {
		return 0
	}
	return int64(binary.BigEndian.Uint64(b))
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bool() bool { return d.int8() != 0 }

// compactString returns "" for a null string too.
func (d *decoder) compactString() string {
	n := d.uvarint()
	if n == 0 {
		return ""
	}
	return string(d.take(int(n-1), "string"))
}

// compactArrayLen returns the element count (0 for a null array).
func (d *decoder) compactArrayLen() int {
	n := d.uvarint()
	if n == 0 {
		return 0
	}
	if n-1 > uint64(len(d.b)) { // every element takes at least one byte
		d.fail("array length")
		return 0
	}
	return int(n - 1)
}

func (d *decoder) int32Array() []int32 {
	n := d.compactArrayLen()
	out := make([]int32, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		out = append(out, d.int32())
	}
	return out
}

func (d *decoder) uuid() { d.take(16, "uuid") }

// skipTags skips a tagged-field section.
func (d *decoder) skipTags() {
	n := d.uvarint()
	for i := uint64(0); i < n && d.err == nil; i++ {
		d.uvarint() // tag
		size := d.uvarint()
		d.take(int(size), "tagged field")
	}
}

// requestFrame builds a size-prefixed request with header v2 (flexible requests).
func requestFrame(apiKey, version int16, correlationID int32, body []byte) []byte {
	var h encoder
	h.int16(apiKey)
	h.int16(version)
	h.int32(correlationID)
	h.nullableString(clientID)
	h.emptyTags()
	frame := binary.BigEndian.AppendUint32(nil, uint32(len(h.b)+len(body)))
	frame = append(frame, h.b...)
	return append(frame, body...)
}

// roundTrip sends one request on a fresh connection and returns the response body (after the
// header v1: correlation id and tagged fields).
func roundTrip(addr string, timeout time.Duration, apiKey, version int16, body []byte) ([]byte, error) {
	deadline := time.Now().Add(timeout)
	var conn net.Conn
	var err error
	if tlsConfig != nil {
		cfg := tlsConfig.Clone()
		cfg.ServerName, _, _ = net.SplitHostPort(addr)
		conn, err = tls.DialWithDialer(&net.Dialer{Timeout: timeout}, "tcp", addr, cfg)
	} else {
		conn, err = net.DialTimeout("tcp", addr, timeout)
	}
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, err
	}
	const correlationID = 1
	if _, err := conn.Write(requestFrame(apiKey, version, correlationID, body)); err != nil {
		return nil, fmt.Errorf("send: %w", err)
	}
	r := bufio.NewReader(conn)
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	n := binary.BigEndian.Uint32(size[:])
	if n > maxResponse {
		return nil, fmt.Errorf("response of %d bytes is larger than %d", n, maxResponse)
	}
	resp := make([]byte, n)
	if _, err := io.ReadFull(r, resp); err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	d := &decoder{b: resp}
	if got := d.int32(); got != correlationID {
		return nil, fmt.Errorf("response correlation id %d, want %d", got, correlationID)
	}
	// ApiVersions answers with response header v0 (no tagged fields) at every version, so that a
	// client that does not know the broker's versions yet can read it.
	if apiKey != apiApiVersions {
		d.skipTags()
	}
	if d.err != nil {
		return nil, d.err
	}
	return d.b, nil
}

// Broker is one broker of a Metadata response.
type Broker struct {
	ID   int32
	Host string
	Port int32
}

// Partition is one partition of a Metadata response.
type Partition struct {
	Topic     string
	Index     int32
	ErrorCode int16
	Leader    int32
	Replicas  []int32
	ISR       []int32
}

// Metadata is the part of a Metadata response the check needs.
type Metadata struct {
	Brokers    []Broker
	Controller int32
	Partitions []Partition
}

func encodeMetadataRequest() []byte {
	var e encoder
	e.nullCompactArray() // topics: null = every topic
	e.bool(false)        // allow_auto_topic_creation
	e.bool(false)        // include_topic_authorized_operations
	e.emptyTags()
	return e.b
}

func decodeMetadataResponse(b []byte) (*Metadata, error) {
	d := &decoder{b: b}
	md := &Metadata{}
	d.int32() // throttle_time_ms
	for i, n := 0, d.compactArrayLen(); i < n && d.err == nil; i++ {
		var br Broker
		br.ID = d.int32()
		br.Host = d.compactString()
		br.Port = d.int32()
		d.compactString() // rack
		d.skipTags()
		md.Brokers = append(md.Brokers, br)
	}
	d.compactString() // cluster_id
	md.Controller = d.int32()
	for i, n := 0, d.compactArrayLen(); i < n && d.err == nil; i++ {
		d.int16() // topic error_code
		name := d.compactString()
		d.uuid()
		d.bool() // is_internal
		for j, m := 0, d.compactArrayLen(); j < m && d.err == nil; j++ {
			p := Partition{Topic: name}
			p.ErrorCode = d.int16()
			p.Index = d.int32()
			p.Leader = d.int32()
			d.int32() // leader_epoch
			p.Replicas = d.int32Array()
			p.ISR = d.int32Array()
			d.int32Array() // offline_replicas
			d.skipTags()
			md.Partitions = append(md.Partitions, p)
		}
		d.int32() // topic_authorized_operations
		d.skipTags()
	}
	d.skipTags()
	if d.err != nil {
		return nil, fmt.Errorf("metadata v%d: %w", metadataVersion, d.err)
	}
	return md, nil
}

// Voter is one replica of the metadata quorum.
type Voter struct {
	ID           int32
	LogEndOffset int64
}

// Quorum is the part of a DescribeQuorum response the check needs.
type Quorum struct {
	Leader        int32
	LeaderEpoch   int32
	HighWatermark int64
	Voters        []Voter
}

// errNotAnswered marks an answer with an error code.
var errNotAnswered = errors.New("error code")

const (
	metadataTopic = "__cluster_metadata"
)

func encodeDescribeQuorumRequest() []byte {
	var e encoder
	e.compactArrayLen(1)
	e.compactString(metadataTopic)
	e.compactArrayLen(1)
	e.int32(0) // partition_index
	e.emptyTags()
	e.emptyTags()
	e.emptyTags()
	return e.b
}

func decodeDescribeQuorumResponse(b []byte) (*Quorum, error) {
	d := &decoder{b: b}
	if code := d.int16(); code != 0 && d.err == nil {
		return nil, fmt.Errorf("describe quorum: %w %d (%s)", errNotAnswered, code, errorName(code))
	}
	var q *Quorum
	for i, n := 0, d.compactArrayLen(); i < n && d.err == nil; i++ {
		topic := d.compactString()
		for j, m := 0, d.compactArrayLen(); j < m && d.err == nil; j++ {
			d.int32() // partition_index
			code := d.int16()
			p := Quorum{}
			p.Leader = d.int32()
			p.LeaderEpoch = d.int32()
			p.HighWatermark = d.int64()
			readReplicas := func() []Voter {
				var out []Voter
				for k, c := 0, d.compactArrayLen(); k < c && d.err == nil; k++ {
					var v Voter
					v.ID = d.int32()
					v.LogEndOffset = d.int64()
					d.int64() // last_fetch_timestamp
					d.int64() // last_caught_up_timestamp
					d.skipTags()
					out = append(out, v)
				}
				return out
			}
			p.Voters = readReplicas()
			readReplicas() // observers
			d.skipTags()
			if topic == metadataTopic && d.err == nil {
				if code != 0 {
					return nil, fmt.Errorf("describe quorum: partition %w %d (%s)", errNotAnswered, code, errorName(code))
				}
				q = &p
			}
		}
		d.skipTags()
	}
	d.skipTags()
	if d.err != nil {
		return nil, fmt.Errorf("describe quorum v%d: %w", describeQuorumVersion, d.err)
	}
	if q == nil {
		return nil, fmt.Errorf("describe quorum: the answer has no %s partition", metadataTopic)
	}
	return q, nil
}

// errorName names the error codes a probe is likely to see.
func errorName(code int16) string {
	switch code {
	case 6:
		return "NOT_LEADER_OR_FOLLOWER"
	case 7:
		return "REQUEST_TIMED_OUT"
	case 15:
		return "COORDINATOR_NOT_AVAILABLE"
	case 31:
		return "CLUSTER_AUTHORIZATION_FAILED"
	case 35:
		return "UNSUPPORTED_VERSION"
	case 41:
		return "NOT_CONTROLLER"
	case 57:
		return "BROKER_NOT_AVAILABLE"
	default:
		return "see Kafka's protocol error codes"
	}
}
