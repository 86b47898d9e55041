package smoke

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
)

// The produce path. kafka-go's Writer closes a partition's batch when linger
// expires and queues it behind the request in flight, one request at a time
// per partition: at a steady rate below saturation every acks=all request
// slower than linger leaves a queue of tiny batches behind it, and the queue
// only grows (measured, issue 15: p50 2.1 s at 1,000 msg/s where Kafka's
// Java producer sees 11 ms). The producer below keeps the Java producer's
// behaviour instead: records accumulate per partition while a request is in
// flight, and when it completes everything accumulated so far (up to
// maxBatchBytes) goes out as the next request. Ordering per partition holds
// because there is never more than one request in flight per partition, and
// a failed request is retried as the same batch before anything after it.
//
// It sends through kafka.Client.Produce, which routes each request to the
// partition's leader from the transport's metadata cache.
const (
	// maxBatchBytes bounds one produce request, below Kafka's default
	// message.max.bytes (1 MiB plus a little) with room for framing: each
	// record of a v2 batch adds up to 21 bytes besides its value.
	maxBatchBytes = 1000000
	// recordOverhead is an upper bound of the framing bytes of one record
	// without key or headers.
	recordOverhead = 21
	// DefaultDeliveryTimeout bounds the time from handing a record to the
	// producer to its acknowledgement or failure, retries included, as the
	// Java producer's delivery.timeout.ms (default 120 s). It is long enough
	// to ride over a broker that died without a word: KRaft fences it after
	// broker.session.timeout.ms (9 s) and elects new leaders.
	DefaultDeliveryTimeout = 2 * time.Minute
)

// pending is one record handed to the producer.
type pending struct {
	seq   uint64
	value []byte
	// enqueued is when the record was handed to the producer, on the
	// producer's clock (time since its base).
	enqueued time.Duration
}

// batchResult is what the producer reports for each batch it is done with.
type batchResult struct {
	partition int
	records   []*pending
	// at is when the answer arrived (time since the producer's base).
	at time.Duration
	// err is nil when the batch was acknowledged by every in-sync replica.
	err error
	// attempts is how many produce requests carried the batch; more than
	// one means the broker may hold more than one copy (kafka-go has no
	// idempotent producer).
	attempts int
}

// producerConfig configures a producer.
type producerConfig struct {
	// client returns the client to send with; it may change between attempts (reconnect).
	client          func() *kafka.Client
	topic           string
	partitions      int
	linger          time.Duration
	requestTimeout  time.Duration
	deliveryTimeout time.Duration
	// bufferBytes bounds the values handed over but not yet answered, as
	// the Java producer's buffer.memory; send blocks while it is full.
	bufferBytes int
	base        time.Time
	// onResult is called once per batch, from the partition's goroutine
	// (so in order per partition, concurrently across partitions).
	onResult func(batchResult)
	// onRetry is called before a batch is sent again.
	onRetry func(partition int, err error)
	// reconnect, when set, is called after reconnectAfter attempts in a row of one batch failed on
	// the connection itself (EOF, reset, refused, no answer): it replaces the transport, its pooled
	// connections and its metadata cache.
	reconnect func()
}

// reconnectAfter is how many connection failures in a row of one batch make the producer reconnect.
// Seen on Kubernetes: after a broker behind a NodePort was replaced, produce requests for one
// partition kept failing with "unexpected EOF" for half a minute while the others went through.
const reconnectAfter = 3

// producer accumulates records per partition and keeps one acks=all produce
// request in flight per partition.
type producer struct {
	cfg   producerConfig
	parts []*partitionQueue
	wg    sync.WaitGroup

	// Buffer accounting (bytes handed over and not answered yet).
	bufMu   sync.Mutex
	bufCond *sync.Cond
	buffer  int
}

type partitionQueue struct {
	p    *producer
	id   int
	wake chan struct{}

	mu     sync.Mutex
	recs   []*pending
	bytes  int
	closed bool
}

func newProducer(ctx context.Context, cfg producerConfig) *producer {
	p := &producer{cfg: cfg}
	p.bufCond = sync.NewCond(&p.bufMu)
	for i := range cfg.partitions {
		q := &partitionQueue{p: p, id: i, wake: make(chan struct{}, 1)}
		p.parts = append(p.parts, q)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			q.run(ctx)
		}()
	}
	// A cancelled context must also wake a send blocked on a full buffer.
	go func() {
		<-ctx.Done()
		p.bufMu.Lock()
		p.bufCond.Broadcast()
		p.bufMu.Unlock()
	}()
	return p
}

// now is the producer's clock.
func (p *producer) now() time.Duration { return time.Since(p.cfg.base) }

// send hands one record to partition's queue. It blocks while the buffer is
// full and returns ctx's error if ctx ends first. The record's latency
// starts now.
func (p *producer) send(ctx context.Context, partition int, seq uint64, value []byte) error {
	if err := ctx.Err(); err != nil {
		return err // the partition senders may be gone: nothing would ever answer
	}
	size := len(value)
	p.bufMu.Lock()
	for p.buffer > 0 && p.buffer+size > p.cfg.bufferBytes {
		if err := ctx.Err(); err != nil {
			p.bufMu.Unlock()
			return err
		}
		p.bufCond.Wait()
	}
	p.buffer += size
	p.bufMu.Unlock()

	q := p.parts[partition]
	rec := &pending{seq: seq, value: value, enqueued: p.now()}
	q.mu.Lock()
	q.recs = append(q.recs, rec)
	q.bytes += size + recordOverhead
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return nil
}

// release returns answered records' bytes to the buffer.
func (p *producer) release(recs []*pending) {
	n := 0
	for _, r := range recs {
		n += len(r.value)
	}
	p.bufMu.Lock()
	p.buffer -= n
	p.bufCond.Broadcast()
	p.bufMu.Unlock()
}

// close sends what is still queued and waits until every batch has been
// answered (acknowledged, failed for good, or expired) or ctx ends.
func (p *producer) close() {
	for _, q := range p.parts {
		q.mu.Lock()
		q.closed = true
		q.mu.Unlock()
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
	p.wg.Wait()
}

// run is the partition's sender loop: wait for records, linger while the
// batch is not full and no request is in flight, send, repeat.
func (q *partitionQueue) run(ctx context.Context) {
	cfg := &q.p.cfg
	var timer *time.Timer
	for {
		q.mu.Lock()
		n, bytes, closed := len(q.recs), q.bytes, q.closed
		var oldest time.Duration
		if n > 0 {
			oldest = q.recs[0].enqueued
		}
		q.mu.Unlock()

		if ctx.Err() != nil {
			q.failQueued(ctx.Err())
			return
		}
		if n == 0 {
			if closed {
				return
			}
			select {
			case <-q.wake:
			case <-ctx.Done():
			}
			continue
		}
		// Linger only applies to a batch that is neither full nor the last
		// one: records that waited behind a request in flight are already
		// older than linger and go out at once.
		if !closed && bytes < maxBatchBytes {
			if wait := cfg.linger - (q.p.now() - oldest); wait > 0 {
				if timer == nil {
					timer = time.NewTimer(wait)
				} else {
					timer.Reset(wait)
				}
				select {
				case <-timer.C:
				case <-q.wake:
					if !timer.Stop() {
						<-timer.C
					}
				case <-ctx.Done():
				}
				continue
			}
		}
		q.sendBatch(ctx, q.take())
	}
}

// take removes the next batch from the queue: at least one record, then as
// many as fit in maxBatchBytes.
func (q *partitionQueue) take() []*pending {
	q.mu.Lock()
	defer q.mu.Unlock()
	n, bytes := 0, 0
	for n < len(q.recs) {
		size := len(q.recs[n].value) + recordOverhead
		if n > 0 && bytes+size > maxBatchBytes {
			break
		}
		bytes += size
		n++
	}
	batch := make([]*pending, n)
	copy(batch, q.recs[:n])
	clear(q.recs[:n])
	q.recs = q.recs[n:]
	q.bytes -= bytes
	return batch
}

// failQueued answers every queued record with err (the run is over).
func (q *partitionQueue) failQueued(err error) {
	q.mu.Lock()
	recs := q.recs
	q.recs, q.bytes = nil, 0
	q.mu.Unlock()
	if len(recs) > 0 {
		q.finish(recs, fmt.Errorf("not sent: %w", err), 0)
	}
}

func (q *partitionQueue) finish(batch []*pending, err error, attempts int) {
	q.p.cfg.onResult(batchResult{partition: q.id, records: batch, at: q.p.now(), err: err, attempts: attempts})
	q.p.release(batch)
}

// sendBatch sends one batch until it is acknowledged, fails with an error
// that will not go away, or its oldest record has waited the delivery
// timeout. Retries back off exponentially; the transport refreshes the
// partition's leader from metadata meanwhile.
func (q *partitionQueue) sendBatch(ctx context.Context, batch []*pending) {
	cfg := &q.p.cfg
	wait := backoffMin
	connFailures := 0
	// A batch that waited its whole delivery timeout behind a retried one expires unsent, as the
	// Java producer's do: sending it would cost another request timeout per batch.
	if age := q.p.now() - batch[0].enqueued; age >= cfg.deliveryTimeout {
		q.finish(batch, fmt.Errorf("delivery timeout of %s expired before the batch could be sent", cfg.deliveryTimeout), 0)
		return
	}
	for attempt := 1; ; attempt++ {
		// Fresh records each attempt: their readers are consumed, and a timed-out attempt may still
		// be writing the previous ones.
		records := make([]kafka.Record, len(batch))
		for i, r := range batch {
			records[i] = kafka.Record{Value: kafka.NewBytes(r.value)}
		}
		rctx, cancel := context.WithTimeout(ctx, cfg.requestTimeout)
		resp, err := cfg.client().Produce(rctx, &kafka.ProduceRequest{
			Topic:        cfg.topic,
			Partition:    q.id,
			RequiredAcks: kafka.RequireAll,
			Records:      kafka.NewRecordReader(records...),
		})
		cancel()
		if err == nil && resp.Error != nil {
			err = resp.Error
		}
		if err == nil {
			q.finish(batch, nil, attempt)
			return
		}
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			err = fmt.Errorf("no answer within %s: %w", cfg.requestTimeout, err)
		}
		age := q.p.now() - batch[0].enqueued
		switch {
		case ctx.Err() != nil:
			q.finish(batch, fmt.Errorf("%w (run ended: %w)", err, ctx.Err()), attempt)
			return
		case !retriableProduce(err):
			q.finish(batch, err, attempt)
			return
		case age >= cfg.deliveryTimeout:
			q.finish(batch, fmt.Errorf("delivery timeout of %s expired after %d attempts: %w", cfg.deliveryTimeout, attempt, err), attempt)
			return
		}
		if cfg.onRetry != nil {
			cfg.onRetry(q.id, err)
		}
		if connectionError(err) {
			connFailures++
			if connFailures >= reconnectAfter && cfg.reconnect != nil {
				cfg.reconnect()
				connFailures = 0
			}
		} else {
			connFailures = 0
		}
		// The last attempt goes out when the delivery timeout is reached.
		if sleep(ctx, min(wait, cfg.deliveryTimeout-age)) != nil {
			continue // the next round trip sees ctx done and ends the batch
		}
		wait = min(2*wait, backoffMax)
	}
}

// connectionError reports an error of the connection itself rather than an answer of the broker,
// or no answer at all. A hung broker (a stopped JVM, a node cut off) keeps its connections open and
// answers nothing; when kafka-go's transport happened to hold its metadata connection to that
// broker, it kept the stale leader for as long as the broker hung (80 s, seen in the e2e tier with
// a SIGSTOPped JVM), so timeouts in a row replace the transport too.
func connectionError(err error) bool {
	// A broker's answer is not a connection failure: kafka-go's kafka.Error is a net.Error whose
	// Timeout() is true for REQUEST_TIMED_OUT, which a healthy leader answers while it waits for a
	// follower to leave the ISR.
	var kerr kafka.Error
	if errors.As(err, &kerr) {
		return false
	}
	var nerr net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &nerr) && nerr.Timeout())
}

// retriableProduce reports whether a produce error may go away: what
// retryable accepts, plus the ways a dead or restarting broker refuses a
// connection. The Java producer retries these too (until
// delivery.timeout.ms); kafka-go's Writer gives up after MaxAttempts.
func retriableProduce(err error) bool {
	// kafka-go's transport says BrokerNotAvailable when a broker left its cached layout (a roll);
	// retryable would take it for a final answer (kafka-go does not mark the code temporary).
	if errors.Is(err, kafka.BrokerNotAvailable) {
		return true
	}
	if retryable(err) {
		return true
	}
	// A name that does not resolve for a moment (a pod being recreated, a host-name externalHost)
	// and a failed dial are the same outage as a refused connection.
	var dnsErr *net.DNSError
	var opErr *net.OpError
	if errors.As(err, &dnsErr) || (errors.As(err, &opErr) && opErr.Op == "dial") || errors.Is(err, syscall.ECONNABORTED) {
		return true
	}
	var nerr net.Error
	// kafka-go's transport answers from its metadata cache, which says "no leader" while a
	// partition's only replica restarts or a new leader is being elected (seen growing a one-node
	// cluster): wait for the next refresh like for NotLeaderForPartition.
	return errors.Is(err, protocol.ErrNoLeader) || errors.Is(err, protocol.ErrNoPartition) || errors.Is(err, protocol.ErrNoTopic) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) ||
		errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, net.ErrClosed) ||
		(errors.As(err, &nerr) && nerr.Timeout())
}
