package smoke

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	produceapi "github.com/segmentio/kafka-go/protocol/produce"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Client tier: the produce path against kfake, with the failures a real
// cluster shows during a roll or a broker loss injected into the answers.

// produceErrorResponse answers a produce request with code on every
// partition that match selects.
func produceErrorResponse(req kmsg.Request, code int16, match func(partition int32) bool) (kmsg.Response, bool) {
	r := req.(*kmsg.ProduceRequest)
	resp := r.ResponseKind().(*kmsg.ProduceResponse)
	hit := false
	for _, rt := range r.Topics {
		t := kmsg.NewProduceResponseTopic()
		t.Topic, t.TopicID = rt.Topic, rt.TopicID
		for _, rp := range rt.Partitions {
			if !match(rp.Partition) {
				return nil, false
			}
			p := kmsg.NewProduceResponseTopicPartition()
			p.Partition, p.ErrorCode = rp.Partition, code
			t.Partitions = append(t.Partitions, p)
			hit = true
		}
		resp.Topics = append(resp.Topics, t)
	}
	return resp, hit
}

// TestRunRidesOverALeaderFailover: for 1.5 s every produce is answered
// NotLeaderForPartition, as while KRaft fences a dead broker and elects new
// leaders. The producer must keep retrying the same batches (kafka-go's
// Writer gives up after 10 attempts) and the run must pass with every
// message acknowledged once, in order.
func TestRunRidesOverALeaderFailover(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	var refused atomic.Int32
	var until atomic.Int64 // unix nanos; 0 = not started
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		now := time.Now()
		until.CompareAndSwap(0, now.Add(1500*time.Millisecond).UnixNano())
		if now.UnixNano() >= until.Load() {
			c.DropControl()
			return nil, nil, false
		}
		refused.Add(1)
		resp, ok := produceErrorResponse(req, kerr.NotLeaderForPartition.Code, func(int32) bool { return true })
		return resp, nil, ok
	})
	cfg := testConfig(c, "failover")
	cfg.Messages = 2000
	cfg.Rate = 1000

	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if refused.Load() < 3 {
		t.Fatalf("only %d produce requests were refused: the injected outage did not happen", refused.Load())
	}
	if res.Unacknowledged != 0 || res.RetryDuplicates != 0 {
		t.Errorf("Unacknowledged %d, RetryDuplicates %d; want 0, 0", res.Unacknowledged, res.RetryDuplicates)
	}
	if res.LongestAckGap < time.Second {
		t.Errorf("LongestAckGap = %s, want at least the 1.5 s outage less the backoff", res.LongestAckGap)
	}
	if res.ProduceRetries < int64(refused.Load()) {
		t.Errorf("ProduceRetries = %d, want at least the %d refused requests", res.ProduceRetries, refused.Load())
	}
}

// TestRunCountsUnacknowledgedApartFromLost: partition 1 refuses every
// produce with a retriable error (NotEnoughReplicas). Its records expire
// after the delivery timeout; the run fails saying so, but it still reads
// back and verifies the acknowledged records of the other partitions, and
// reports no loss.
func TestRunCountsUnacknowledgedApartFromLost(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		resp, ok := produceErrorResponse(req, kerr.NotEnoughReplicas.Code, func(p int32) bool { return p == 1 })
		return resp, nil, ok
	})
	cfg := testConfig(c, "unacked")
	cfg.Messages = 300 // 100 per partition
	cfg.DeliveryTimeout = time.Second

	start := time.Now()
	res, err := Run(context.Background(), cfg)
	t.Logf("error: %v", err)
	if err == nil {
		t.Fatal("Run passed although partition 1 never acknowledged anything")
	}
	var verr *VerifyError
	if errors.As(err, &verr) {
		t.Errorf("the acknowledged records failed verification: %v", verr)
	}
	if res.Unacknowledged != 100 {
		t.Errorf("Unacknowledged = %d, want the 100 records of partition 1", res.Unacknowledged)
	}
	for _, want := range []string{"100 of 300 messages were not acknowledged", "partition 1", "delivery timeout of 1s expired", "Not Enough Replicas"} {
		if !strings.Contains(strings.ToUpper(err.Error()), strings.ToUpper(want)) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if res.ConsumeElapsed == 0 {
		t.Error("the acknowledged records were not read back")
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("took %s; the delivery timeout is 1s", took)
	}
}

// TestRunExplainsDuplicatesOfRetriedRequests: the first produce request is
// held past the client's request timeout and then written, as when a
// leader answers too late. The producer retries the batch, so the log holds
// two copies: an at-least-once duplicate that the run reports and does not
// count as a failure. A duplicate no retry explains still fails a run
// (TestRunDetectsDuplicates).
func TestRunExplainsDuplicatesOfRetriedRequests(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	var held atomic.Bool
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		if held.CompareAndSwap(false, true) {
			c.SleepControl(func() { time.Sleep(400 * time.Millisecond) })
		}
		return nil, nil, false
	})
	cfg := testConfig(c, "late-answer")
	// Paced over a second, so that the held request is written while the
	// run still produces: the records read back end where producing ends.
	cfg.Messages = 1000
	cfg.Rate = 1000
	cfg.RequestTimeout = 300 * time.Millisecond

	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.ProduceRetries < 1 {
		t.Fatalf("ProduceRetries = %d: the held request was not retried", res.ProduceRetries)
	}
	t.Logf("retries %d, retry duplicates %d", res.ProduceRetries, res.RetryDuplicates)
	if res.RetryDuplicates < 1 {
		t.Errorf("RetryDuplicates = %d, want the copies written by the held request", res.RetryDuplicates)
	}
}

// kfakeOpts keeps the import used when no test needs options.
var _ = kfake.NumBrokers

// TestRunReconnectsAfterDroppedConnections: the broker drops the connection of the first produce
// requests without an answer (as a replaced pod behind a NodePort did). After a few in a row the
// producer replaces its transport, and the run passes.
func TestRunReconnectsAfterDroppedConnections(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	var dropped atomic.Int32
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		if dropped.Add(1) <= 12 { // about four per partition: more than reconnectAfter in a row
			c.KeepControl()
			return nil, errors.New("dropped by the test"), true
		}
		c.DropControl()
		return nil, nil, false
	})
	cfg := testConfig(c, "dropped")
	cfg.Messages = 300
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.ProduceReconnects < 1 {
		t.Errorf("ProduceReconnects = %d after %d dropped connections, want at least 1", res.ProduceReconnects, dropped.Load())
	}
}

func TestRetriableProduce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"not leader", kafka.NotLeaderForPartition, true},
		{"not enough replicas", kafka.NotEnoughReplicas, true},
		{"no leader in the transport's metadata", fmt.Errorf("kafka.(*Client).Produce: %w", produceapi.NewError(protocol.ErrNoLeader)), true},
		{"connection refused", fmt.Errorf("dial: %w", syscall.ECONNREFUSED), true},
		{"unexpected EOF", fmt.Errorf("kafka.(*Client).Produce: %w", io.ErrUnexpectedEOF), true},
		{"request timed out", context.DeadlineExceeded, true},
		{"broker left the transport's layout", fmt.Errorf("kafka.(*Client).Produce: %w", kafka.BrokerNotAvailable), true},
		{"name does not resolve for a moment", &net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "kafka-1.example"}}, true},
		{"message too large", kafka.MessageSizeTooLarge, false},
		{"authorization", kafka.TopicAuthorizationFailed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := retriableProduce(tt.err); got != tt.want {
				t.Errorf("retriableProduce(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestConnectionError(t *testing.T) {
	t.Parallel()
	timeout := &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"unexpected EOF", io.ErrUnexpectedEOF, true},
		{"reset", fmt.Errorf("write: %w", syscall.ECONNRESET), true},
		{"read timeout (a hung broker)", fmt.Errorf("produce: %w", timeout), true},
		{"request deadline (a hung broker)", fmt.Errorf("no answer within 10s: %w", context.DeadlineExceeded), true},
		{"not leader (an answer)", kafka.NotLeaderForPartition, false},
		{"not enough replicas (an answer)", kafka.NotEnoughReplicas, false},
		{"request timed out (an answer: the leader waits for a slow follower)", fmt.Errorf("produce: %w", kafka.RequestTimedOut), false},
	}
	for _, tt := range tests {
		if got := connectionError(tt.err); got != tt.want {
			t.Errorf("%s: connectionError(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}
