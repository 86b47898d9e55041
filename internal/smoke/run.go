package smoke

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"
)

// Producer and consumer tuning (see producer.go for the produce path).
const (
	linger = 5 * time.Millisecond // Kafka 4.0's default linger.ms
	// bufferBytes bounds the values handed to the producer but not yet
	// answered, like the Java producer's buffer.memory.
	bufferBytes   = 64 << 20
	fetchMaxBytes = 8 << 20
	fetchMaxWait  = 200 * time.Millisecond
	backoffMin    = 50 * time.Millisecond
	backoffMax    = time.Second
)

// Run executes one smoke run against the cluster at cfg.Brokers: metadata
// checks, topic setup, produce with acks=all, consume and verify. It returns
// an error naming what failed (and where) on any failure, together with the
// Result as far as the run got; a *VerifyError (use errors.As) when the
// messages read back do not match the ones produced. Run returns within
// cfg.Timeout (plus at most one RequestTimeout of teardown).
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	r, cleanup, err := newRunner(cfg)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	err = r.do(ctx)
	r.res.Elapsed = time.Since(start)
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded && !errors.Is(err, context.Canceled) {
			err = fmt.Errorf("%w (the run's deadline of %s passed)", err, cfg.Timeout)
		}
		return r.res, fmt.Errorf("smoke: %w", err)
	}
	return r.res, nil
}

// newTransport is the transport of a run: background goroutines bound to ctx.
func newTransport(ctx context.Context, cfg Config) *kafka.Transport {
	tr := &kafka.Transport{
		DialTimeout: cfg.RequestTimeout / 2,
		// A short metadata TTL keeps the cached layout that routes produce
		// and fetch requests fresh right after the topic is created or a
		// leader moves; the transport serves Metadata calls from that
		// cache.
		MetadataTTL:    time.Second,
		MetadataTopics: []string{cfg.Topic},
		ClientID:       "kafka-kraft-smoke",
		Context:        ctx,
	}
	// Validate checked the credentials: Apply cannot fail on them here.
	if err := cfg.Auth.Apply(tr); err != nil {
		panic(fmt.Sprintf("smoke: credentials passed Validate but not Apply: %v", err))
	}
	return tr
}

// newRunner sets up the client side of a run for cfg (defaults applied);
// cleanup stops the progress lines and the transport.
func newRunner(cfg Config) (*runner, func(), error) {
	run, err := newRunID()
	if err != nil {
		return nil, nil, err
	}
	// The transport's background goroutines (metadata refresh, connection
	// reads) live until the run ends, not until the caller's context does.
	tctx, tcancel := context.WithCancel(context.Background())
	tr := newTransport(tctx, cfg)
	r := &runner{
		cfg:    cfg,
		run:    run,
		tr:     tr,
		client: &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Transport: tr, Timeout: cfg.RequestTimeout},
		prog:   startProgress(cfg.Progress),
		res: &Result{
			RunID:        run.String(),
			Bootstrap:    append([]string(nil), cfg.Brokers...),
			ControllerID: -1,
			Topic:        cfg.Topic,
			MessageSize:  cfg.MessageSize,
			Rate:         cfg.Rate,
		},
	}
	cleanup := func() {
		r.prog.stop()
		tcancel()
		tr.CloseIdleConnections()
		r.closeProducerTransport()
	}
	return r, cleanup, nil
}

type runner struct {
	cfg    Config
	run    runID
	tr     *kafka.Transport
	client *kafka.Client
	prog   *progress
	res    *Result
	// topicConfigs are set on a topic the run creates.
	topicConfigs []kafka.ConfigEntry

	metadata *kafka.MetadataResponse
	leaders  map[int]kafka.Broker // partition -> leader
	// retries counts produce requests sent again after a failure.
	retries atomic.Int64
	// reconnects counts transports replaced after connection failures.
	reconnects atomic.Int64

	// The producer's client, replaced by reconnect (guarded by prodMu).
	prodMu        sync.Mutex
	prodClient    *kafka.Client
	prodTr        *kafka.Transport
	lastReconnect time.Time
}

// producerClient returns the client the producer sends with.
func (r *runner) producerClient() *kafka.Client {
	r.prodMu.Lock()
	defer r.prodMu.Unlock()
	if r.prodClient == nil {
		r.prodTr = newTransport(r.tr.Context, r.cfg)
		r.prodClient = &kafka.Client{Addr: kafka.TCP(r.cfg.Brokers...), Transport: r.prodTr, Timeout: r.cfg.RequestTimeout}
	}
	return r.prodClient
}

// reconnect replaces the producer's transport (connections and metadata cache), at most once a
// second however many partitions ask.
func (r *runner) reconnect() {
	r.prodMu.Lock()
	defer r.prodMu.Unlock()
	if time.Since(r.lastReconnect) < time.Second {
		return
	}
	r.lastReconnect = time.Now()
	r.reconnects.Add(1)
	old := r.prodTr
	r.prodTr = newTransport(r.tr.Context, r.cfg)
	r.prodClient = &kafka.Client{Addr: kafka.TCP(r.cfg.Brokers...), Transport: r.prodTr, Timeout: r.cfg.RequestTimeout}
	if old != nil {
		old.CloseIdleConnections()
	}
}

// closeProducerTransport releases the producer's connections.
func (r *runner) closeProducerTransport() {
	r.prodMu.Lock()
	defer r.prodMu.Unlock()
	if r.prodTr != nil {
		r.prodTr.CloseIdleConnections()
	}
}

func (r *runner) do(ctx context.Context) error {
	r.prog.setPhase("checking metadata", 0)
	if err := r.checkMetadata(ctx); err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	r.prog.setPhase("checking advertised broker addresses", 0)
	if err := r.checkBrokersAnswer(ctx); err != nil {
		return fmt.Errorf("brokers: %w", err)
	}
	r.prog.setPhase("setting up topic "+r.cfg.Topic, 0)
	if err := r.ensureTopic(ctx); err != nil {
		return fmt.Errorf("topic %s: %w", r.cfg.Topic, err)
	}
	if err := r.waitTopicReady(ctx); err != nil {
		return fmt.Errorf("topic %s: %w", r.cfg.Topic, err)
	}
	startOffsets, err := r.listOffsets(ctx, kafka.LastOffset)
	if err != nil {
		return fmt.Errorf("topic %s: end offsets before producing: %w", r.cfg.Topic, err)
	}

	r.prog.setPhase("producing", int64(r.cfg.Messages))
	led, produceErr := r.produce(ctx)
	r.res.ProduceRetries = r.retries.Load()
	r.res.ProduceReconnects = r.reconnects.Load()
	if led == nil {
		return fmt.Errorf("produce to %s: %w", r.cfg.Topic, produceErr)
	}
	if produceErr != nil {
		// Some records were not acknowledged: the run fails, but the
		// acknowledged ones are still checked, so the report tells a
		// slow or failed-over cluster from one that loses data.
		produceErr = fmt.Errorf("produce to %s: %w", r.cfg.Topic, produceErr)
	}
	r.res.Messages = r.cfg.Messages
	r.res.Bytes = int64(r.cfg.Messages) * int64(r.cfg.MessageSize)

	if r.cfg.afterProduce != nil {
		if err := r.cfg.afterProduce(ctx, hookInfo{RunID: r.run, MessageSize: r.cfg.MessageSize, Topic: r.cfg.Topic}); err != nil {
			return fmt.Errorf("after produce: %w", err)
		}
	}
	if _, verr := r.readBack(ctx, startOffsets, led.snapshotOutcomes()); verr != nil {
		return errors.Join(produceErr, verr)
	}
	return produceErr
}

// readBack reads the topic from startOffsets to its current end offsets and
// verifies the records against outcomes. It returns the verification
// summary once the records were read, and as the error too (a *VerifyError)
// when the log does not hold what was acknowledged; otherwise the error
// that stopped the read.
func (r *runner) readBack(ctx context.Context, startOffsets map[int]int64, outcomes []outcome) (*VerifyError, error) {
	endOffsets, err := r.listOffsets(ctx, kafka.LastOffset)
	if err != nil {
		return nil, fmt.Errorf("topic %s: end offsets after producing: %w", r.cfg.Topic, err)
	}
	r.prog.setPhase("consuming", int64(len(outcomes)))
	records, err := r.consume(ctx, startOffsets, endOffsets)
	if err != nil {
		return nil, fmt.Errorf("consume from %s: %w", r.cfg.Topic, err)
	}
	sum := verify(outcomes, records)
	r.res.UnacknowledgedWritten, r.res.RetryDuplicates = sum.UnacknowledgedWritten, sum.RetryDuplicates
	if sum.failed() {
		return sum, sum
	}
	return sum, nil
}

// call bounds one network call.
func (r *runner) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.cfg.RequestTimeout)
}

// callErr explains a call that ran out of time.
func (r *runner) callErr(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no answer within %s: %w", r.cfg.RequestTimeout, err)
	}
	return err
}

// retryable reports whether err may go away by itself: a Kafka error code
// marked retriable (LeaderNotAvailable, UnknownTopicOrPartition,
// NotLeaderForPartition, ...), a call that timed out, or a dropped
// connection.
func retryable(err error) bool {
	var kerr kafka.Error
	if errors.As(err, &kerr) {
		return kerr.Temporary()
	}
	return errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// retry calls fn until it succeeds or fails for good, backing off
// exponentially, until ctx ends. fn reports whether its error is worth
// retrying. The last error is returned; the progress lines show the one
// being retried.
func (r *runner) retry(ctx context.Context, fn func(ctx context.Context) (again bool, err error)) error {
	wait := backoffMin
	for attempt := 1; ; attempt++ {
		again, err := fn(ctx)
		if err == nil {
			r.prog.setNote("")
			return nil
		}
		if !again {
			return err
		}
		r.prog.setNote(fmt.Sprintf("retrying (attempt %d): %v", attempt, err))
		if ctx.Err() != nil {
			return fmt.Errorf("%w (gave up after %d attempts)", err, attempt)
		}
		if sleep(ctx, wait) != nil {
			return fmt.Errorf("%w (gave up after %d attempts)", err, attempt)
		}
		wait = min(2*wait, backoffMax)
	}
}

// sleep waits d (nothing when d <= 0) or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// checkMetadata asks every bootstrap address for metadata (each must
// answer: a dead one fails the run at once, no retry), then waits for the
// expected broker count and a controller.
func (r *runner) checkMetadata(ctx context.Context) error {
	for _, addr := range r.cfg.Brokers {
		cctx, cancel := r.call(ctx)
		_, err := r.client.Metadata(cctx, &kafka.MetadataRequest{Addr: kafka.TCP(addr), Topics: []string{r.cfg.Topic}})
		cancel()
		if err != nil {
			return fmt.Errorf("bootstrap address %s does not answer a metadata request: %w", addr, r.callErr(err))
		}
	}
	bootstrap := strings.Join(r.cfg.Brokers, ",")
	err := r.retry(ctx, func(ctx context.Context) (bool, error) {
		cctx, cancel := r.call(ctx)
		defer cancel()
		md, err := r.client.Metadata(cctx, &kafka.MetadataRequest{Topics: []string{r.cfg.Topic}})
		if err != nil {
			return retryable(err), fmt.Errorf("from %s: %w", bootstrap, r.callErr(err))
		}
		r.recordMetadata(md)
		if want := r.cfg.ExpectedBrokers; want > 0 && len(md.Brokers) != want {
			return true, fmt.Errorf("expected %d brokers, the metadata from %s lists %d (%s)",
				want, bootstrap, len(md.Brokers), strings.Join(r.res.BrokerAddrs, " "))
		}
		if md.Controller.Host == "" {
			return true, fmt.Errorf("the metadata from %s names no controller", bootstrap)
		}
		return false, nil
	})
	return err
}

func (r *runner) recordMetadata(md *kafka.MetadataResponse) {
	r.metadata = md
	brokers := append([]kafka.Broker(nil), md.Brokers...)
	sort.Slice(brokers, func(i, j int) bool { return brokers[i].ID < brokers[j].ID })
	r.res.ClusterID = md.ClusterID
	r.res.Brokers = len(brokers)
	r.res.BrokerAddrs = r.res.BrokerAddrs[:0]
	for _, b := range brokers {
		r.res.BrokerAddrs = append(r.res.BrokerAddrs, fmt.Sprintf("%d=%s", b.ID, brokerAddr(b)))
	}
	r.res.ControllerID = -1
	if md.Controller.Host != "" {
		r.res.ControllerID = md.Controller.ID
	}
}

func brokerAddr(b kafka.Broker) string {
	return net.JoinHostPort(b.Host, strconv.Itoa(b.Port))
}

// checkBrokersAnswer makes sure every advertised broker address answers:
// clients reach bootstrap addresses first but produce to and fetch from the
// advertised ones, the usual casualty of a wrong listener setup.
func (r *runner) checkBrokersAnswer(ctx context.Context) error {
	brokers := append([]kafka.Broker(nil), r.metadata.Brokers...)
	sort.Slice(brokers, func(i, j int) bool { return brokers[i].ID < brokers[j].ID })
	for _, b := range brokers {
		addr := brokerAddr(b)
		cctx, cancel := r.call(ctx)
		_, err := r.client.ApiVersions(cctx, &kafka.ApiVersionsRequest{Addr: kafka.TCP(addr)})
		cancel()
		if err != nil {
			return fmt.Errorf("broker %d advertises %s, which does not answer (check its advertised listener): %w", b.ID, addr, r.callErr(err))
		}
	}
	return nil
}

// ensureTopic reuses the topic if it exists and otherwise creates it with
// the partition count and replication factor fitted to the cluster.
func (r *runner) ensureTopic(ctx context.Context) error {
	for _, t := range r.metadata.Topics {
		if t.Name == r.cfg.Topic && t.Error == nil && len(t.Partitions) > 0 {
			return nil
		}
	}
	partitions, rf, err := fitTopic(r.cfg.Partitions, r.cfg.ReplicationFactor, len(r.metadata.Brokers))
	if err != nil {
		return err
	}
	return r.retry(ctx, func(ctx context.Context) (bool, error) {
		cctx, cancel := r.call(ctx)
		defer cancel()
		resp, err := r.client.CreateTopics(cctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
			Topic: r.cfg.Topic, NumPartitions: partitions, ReplicationFactor: rf, ConfigEntries: r.topicConfigs,
		}}})
		if err != nil {
			return retryable(err), fmt.Errorf("create with %d partitions, replication factor %d: %w", partitions, rf, r.callErr(err))
		}
		terr := resp.Errors[r.cfg.Topic]
		switch {
		case terr == nil:
			r.res.TopicCreated = true
			return false, nil
		case errors.Is(terr, kafka.TopicAlreadyExists):
			return false, nil
		default:
			return retryable(terr), fmt.Errorf("create with %d partitions, replication factor %d: %w", partitions, rf, terr)
		}
	})
}

// waitTopicReady waits until the metadata shows every partition of the
// topic with a leader. Right after creation brokers answer
// UnknownTopicOrPartition or LeaderNotAvailable for a while.
func (r *runner) waitTopicReady(ctx context.Context) error {
	return r.retry(ctx, func(ctx context.Context) (bool, error) {
		cctx, cancel := r.call(ctx)
		defer cancel()
		md, err := r.client.Metadata(cctx, &kafka.MetadataRequest{Topics: []string{r.cfg.Topic}})
		if err != nil {
			return retryable(err), fmt.Errorf("metadata: %w", r.callErr(err))
		}
		var topic *kafka.Topic
		for i := range md.Topics {
			if md.Topics[i].Name == r.cfg.Topic {
				topic = &md.Topics[i]
			}
		}
		switch {
		case topic == nil:
			return true, fmt.Errorf("not in the metadata yet")
		case topic.Error != nil:
			return retryable(topic.Error), fmt.Errorf("waiting for the topic: %w", topic.Error)
		case len(topic.Partitions) == 0:
			return true, fmt.Errorf("no partitions in the metadata yet")
		}
		leaders := make(map[int]kafka.Broker, len(topic.Partitions))
		for _, p := range topic.Partitions {
			if p.Error != nil && !errors.Is(p.Error, kafka.ReplicaNotAvailable) {
				return retryable(p.Error), fmt.Errorf("partition %d: %w", p.ID, p.Error)
			}
			if p.Leader.Host == "" {
				return true, fmt.Errorf("partition %d has no leader yet", p.ID)
			}
			leaders[p.ID] = p.Leader
		}
		r.leaders = leaders
		r.res.Partitions = len(topic.Partitions)
		r.res.ReplicationFactor = len(topic.Partitions[0].Replicas)
		return false, nil
	})
}

// leaderOf names the leader of partition p for error messages.
func (r *runner) leaderOf(p int) string {
	b, ok := r.leaders[p]
	if !ok {
		return "leader unknown"
	}
	return fmt.Sprintf("leader broker %d at %s", b.ID, brokerAddr(b))
}

// listOffsets returns, per partition, the first (kafka.FirstOffset) or the
// next (kafka.LastOffset) offset.
func (r *runner) listOffsets(ctx context.Context, which int64) (map[int]int64, error) {
	reqs := make([]kafka.OffsetRequest, r.res.Partitions)
	for p := range reqs {
		reqs[p] = kafka.OffsetRequest{Partition: p, Timestamp: which}
	}
	var out map[int]int64
	err := r.retry(ctx, func(ctx context.Context) (bool, error) {
		cctx, cancel := r.call(ctx)
		defer cancel()
		resp, err := r.client.ListOffsets(cctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{r.cfg.Topic: reqs}})
		if err != nil {
			return retryable(err), r.callErr(err)
		}
		out = make(map[int]int64, len(reqs))
		for _, po := range resp.Topics[r.cfg.Topic] {
			if po.Error != nil {
				// Reading offsets changes nothing, so an UNKNOWN_SERVER_ERROR is asked again too:
				// a broker answered it once for a partition it leads right after an upgrade's
				// metadata.version was raised (e2e, 27 Nov 2026), and the next ask succeeds.
				again := retryable(po.Error) || errors.Is(po.Error, kafka.Unknown)
				return again, fmt.Errorf("partition %d (%s): %w", po.Partition, r.leaderOf(po.Partition), po.Error)
			}
			if which == kafka.FirstOffset {
				out[po.Partition] = po.FirstOffset
			} else {
				out[po.Partition] = po.LastOffset
			}
		}
		if len(out) != len(reqs) {
			return true, fmt.Errorf("the answer covers %d of %d partitions", len(out), len(reqs))
		}
		return false, nil
	})
	return out, err
}

// produce writes cfg.Messages messages with acks=all through the producer
// and returns the ledger of their outcomes. A non-nil error with a non-nil
// ledger means some records were not acknowledged (failed for good or
// expired after the delivery timeout) while the run itself goes on: the
// acknowledged ones are still to be verified. A nil ledger means the run
// cannot go on (its deadline passed).
//
// Latency is per record and honest with batching: it runs from the moment
// the record is handed to the producer to the moment the produce request
// that carried it is acknowledged by all in-sync replicas, so it includes
// lingering, waiting behind the request in flight and retries, as
// kafka-producer-perf-test's send-to-callback latency does.
func (r *runner) produce(ctx context.Context) (*ledger, error) {
	n, size := r.cfg.Messages, r.cfg.MessageSize
	led := newLedger(n)
	base := time.Now()
	p := r.startProducer(ctx, led, base)
	sendErr := r.feed(ctx, p, led, base, n)
	p.close()

	sent, acked, failed := led.counts()
	if sendErr != nil || ctx.Err() != nil {
		err := sendErr
		if err == nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("%w; %d of %d messages acknowledged, %d not: %s",
			err, acked, n, sent-acked, r.notAcknowledged(led))
	}

	lat := summarizeLatencies(led.latencies)
	r.res.ProduceElapsed = led.lastAck
	r.res.ProduceMsgsPerSec = rate(float64(acked), led.lastAck)
	r.res.ProduceMBPerSec = rate(float64(acked)*float64(size)/mib, led.lastAck)
	r.res.ProduceLatencyP50, r.res.ProduceLatencyP95, r.res.ProduceLatencyP99 = lat.P50, lat.P95, lat.P99
	r.res.ProduceLatencyP999, r.res.ProduceLatencyMax, r.res.ProduceLatencyAvg = lat.P999, lat.Max, lat.Avg
	r.res.LongestAckGap = led.longestGap
	r.res.Unacknowledged = failed
	if failed > 0 {
		return led, fmt.Errorf("%d of %d messages were not acknowledged (each retried until the delivery timeout of %s or an error that does not go away): %s",
			failed, n, r.cfg.DeliveryTimeout, r.notAcknowledged(led))
	}
	return led, nil
}

// startProducer starts the producer of a run, booking answers in led.
func (r *runner) startProducer(ctx context.Context, led *ledger, base time.Time) *producer {
	return newProducer(ctx, producerConfig{
		// The producer has a transport of its own, which it replaces when connections go bad; the
		// checks, topic setup and read-back use r.client.
		client:          r.producerClient,
		reconnect:       r.reconnect,
		topic:           r.cfg.Topic,
		partitions:      r.res.Partitions,
		linger:          linger,
		requestTimeout:  r.cfg.RequestTimeout,
		deliveryTimeout: r.cfg.DeliveryTimeout,
		bufferBytes:     bufferBytes,
		base:            base,
		onResult: func(b batchResult) {
			led.record(b)
			if b.attempts > 1 {
				r.retries.Add(int64(b.attempts - 1))
			}
			r.prog.add(int64(len(b.records)))
		},
		onRetry: func(p int, err error) {
			r.prog.setNote(fmt.Sprintf("retrying a produce to partition %d (%s): %v", p, r.leaderOf(p), err))
		},
	})
}

// feed hands messages first, first+1, ... to p, round-robin over the
// partitions, paced at cfg.Rate when set, until n messages (n < 0: until
// stop is closed). It returns ctx's error if ctx ends first.
func (r *runner) feed(ctx context.Context, p *producer, led *ledger, base time.Time, n int) error {
	return r.feedUntil(ctx, p, led, base, n, nil)
}

func (r *runner) feedUntil(ctx context.Context, p *producer, led *ledger, base time.Time, n int, stop <-chan struct{}) error {
	size, parts := r.cfg.MessageSize, r.res.Partitions
	// Values are cut from slabs of slabRecords messages: one allocation per
	// slab instead of one per message.
	const slabRecords = 64
	var slab []byte
	for seq := 0; n < 0 || seq < n; seq++ {
		if stop != nil {
			select {
			case <-stop:
				return nil
			default:
			}
		}
		if r.cfg.Rate > 0 {
			// Sleep only when more than a millisecond ahead: the timer
			// cannot do finer, and a burst of a millisecond's worth of
			// records is what any paced producer sends.
			due := time.Duration(float64(seq) / float64(r.cfg.Rate) * float64(time.Second))
			if ahead := due - time.Since(base); ahead > time.Millisecond {
				if stop != nil {
					t := time.NewTimer(ahead)
					select {
					case <-t.C:
					case <-stop:
						t.Stop()
						return nil
					case <-ctx.Done():
						t.Stop()
						return fmt.Errorf("pacing at %d msg/s: %w", r.cfg.Rate, ctx.Err())
					}
				} else if err := sleep(ctx, ahead); err != nil {
					return fmt.Errorf("pacing at %d msg/s: %w", r.cfg.Rate, err)
				}
			}
		}
		if len(slab) < size {
			slab = make([]byte, slabRecords*size)
		}
		v := slab[:size:size]
		slab = slab[size:]
		encodeMessage(v, r.run, uint64(seq))
		partition := seq % parts
		led.add(uint64(seq), partition)
		if err := p.send(ctx, partition, uint64(seq), v); err != nil {
			// Never handed over: not a record of this run after all.
			led.record(batchResult{partition: partition, records: []*pending{{seq: uint64(seq), value: v}}, err: err})
			return fmt.Errorf("waiting for room in the producer's buffer: %w", err)
		}
	}
	return nil
}

// notAcknowledged says which partitions hold records without an
// acknowledgement, and why, naming their leaders.
func (r *runner) notAcknowledged(led *ledger) string {
	var parts []string
	if s := led.failureSummary(r.leaderOf); s != "" {
		parts = append(parts, s)
	}
	pending := led.pendingByPartition()
	ids := make([]int, 0, len(pending))
	for p := range pending {
		ids = append(ids, p)
	}
	sort.Ints(ids)
	for _, p := range ids {
		parts = append(parts, fmt.Sprintf("partition %d (%s): %d without an answer", p, r.leaderOf(p), pending[p]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}

// consume reads every partition from its start offset to its end offset,
// partitions in parallel, and classifies each record.
func (r *runner) consume(ctx context.Context, start, end map[int]int64) ([]seen, error) {
	base := time.Now()
	results := make([][]seen, r.res.Partitions)
	errs := make([]error, r.res.Partitions)
	var wg sync.WaitGroup
	for p := range r.res.Partitions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[p], errs[p] = r.consumePartition(ctx, p, start[p], end[p])
		}()
	}
	wg.Wait()
	elapsed := time.Since(base)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var all []seen
	ours, foreign := 0, 0
	for _, recs := range results {
		all = append(all, recs...)
		for _, s := range recs {
			if s.Seq == seqForeign {
				foreign++
			} else {
				ours++
			}
		}
	}
	r.res.ForeignRecords = foreign
	r.res.ConsumeElapsed = elapsed
	r.res.ConsumeMsgsPerSec = rate(float64(ours), elapsed)
	r.res.ConsumeMBPerSec = rate(float64(ours)*float64(r.cfg.MessageSize)/mib, elapsed)
	return all, nil
}

func (r *runner) consumePartition(ctx context.Context, p int, off, end int64) ([]seen, error) {
	var out []seen
	var buf []byte
	wait := backoffMin
	pause := func() error {
		d := wait
		wait = min(2*wait, backoffMax)
		return sleep(ctx, d)
	}
	where := func() string { return fmt.Sprintf("partition %d offset %d (%s)", p, off, r.leaderOf(p)) }

	for off < end {
		cctx, cancel := r.call(ctx)
		resp, err := r.client.Fetch(cctx, &kafka.FetchRequest{
			Topic: r.cfg.Topic, Partition: p, Offset: off,
			MinBytes: 1, MaxBytes: fetchMaxBytes, MaxWait: fetchMaxWait,
		})
		if err != nil {
			cancel()
			if ctx.Err() == nil && retryable(err) {
				if perr := pause(); perr == nil {
					continue
				}
			}
			return out, fmt.Errorf("fetch %s: %w", where(), r.callErr(err))
		}
		if resp.Error != nil {
			cancel()
			if errors.Is(resp.Error, kafka.OffsetOutOfRange) {
				// Records this run produced are gone (deleted or the
				// log truncated): carry on from the log start, the
				// verification counts what is missing.
				first, err := r.partitionOffset(ctx, p, kafka.FirstOffset)
				if err != nil {
					return out, fmt.Errorf("fetch %s: %w; then: %w", where(), resp.Error, err)
				}
				if first > off {
					off = first
					continue
				}
				last, err := r.partitionOffset(ctx, p, kafka.LastOffset)
				if err != nil {
					return out, fmt.Errorf("fetch %s: %w; then: %w", where(), resp.Error, err)
				}
				if last <= off {
					return out, nil
				}
				return out, fmt.Errorf("fetch %s: %w (log spans %d to %d)", where(), resp.Error, first, last)
			}
			if retryable(resp.Error) {
				if perr := pause(); perr == nil {
					continue
				}
			}
			return out, fmt.Errorf("fetch %s: %w", where(), resp.Error)
		}
		progressed := false
		for {
			rec, err := resp.Records.ReadRecord()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				cancel()
				return out, fmt.Errorf("fetch %s: read records: %w", where(), err)
			}
			if rec.Offset < off {
				continue // a batch may start before the offset asked for
			}
			if rec.Offset >= end {
				break
			}
			var value []byte
			if rec.Value != nil {
				n := rec.Value.Len()
				if cap(buf) < n {
					buf = make([]byte, n)
				}
				value = buf[:n]
				if _, err := io.ReadFull(rec.Value, value); err != nil {
					cancel()
					return out, fmt.Errorf("fetch %s: read record value: %w", where(), err)
				}
			}
			s := seen{Partition: p, Offset: rec.Offset, Seq: r.classify(value)}
			if s.Seq != seqForeign {
				r.prog.add(1)
			}
			out = append(out, s)
			off = rec.Offset + 1
			progressed = true
		}
		cancel()
		if progressed {
			wait = backoffMin
			continue
		}
		if resp.HighWatermark >= 0 && resp.HighWatermark <= off {
			return out, nil // the log ends before the end offset: truncated
		}
		if err := pause(); err != nil {
			return out, fmt.Errorf("fetch %s: no records below the high watermark %d: %w", where(), resp.HighWatermark, err)
		}
	}
	return out, nil
}

// classify returns the sequence number of a message of this run, seqForeign
// for anything else and seqCorrupt for a smoke record that was altered.
func (r *runner) classify(value []byte) int64 {
	run, seq, err := decodeMessage(value)
	switch {
	case errors.Is(err, errBadCRC):
		return seqCorrupt
	case err != nil, run != r.run:
		return seqForeign
	case len(value) != r.cfg.MessageSize, seq >= uint64(r.cfg.Messages):
		return seqCorrupt
	default:
		return int64(seq)
	}
}

// partitionOffset returns the first or next offset of one partition.
func (r *runner) partitionOffset(ctx context.Context, p int, which int64) (int64, error) {
	var off int64
	err := r.retry(ctx, func(ctx context.Context) (bool, error) {
		cctx, cancel := r.call(ctx)
		defer cancel()
		resp, err := r.client.ListOffsets(cctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{
			r.cfg.Topic: {{Partition: p, Timestamp: which}},
		}})
		if err != nil {
			return retryable(err), fmt.Errorf("list offsets of partition %d: %w", p, r.callErr(err))
		}
		for _, po := range resp.Topics[r.cfg.Topic] {
			if po.Partition != p {
				continue
			}
			if po.Error != nil {
				return retryable(po.Error), fmt.Errorf("list offsets of partition %d: %w", p, po.Error)
			}
			off = po.FirstOffset
			if which == kafka.LastOffset {
				off = po.LastOffset
			}
			return false, nil
		}
		return true, fmt.Errorf("list offsets of partition %d: not in the answer", p)
	})
	return off, err
}
