package smoke

import (
	"context"
	"errors"
	"fmt"
	"github.com/kafka-kraft/kafka-kraft/internal/clientauth"
	"io"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
)

// Load is a live acks=all producer for chaos and change tests: started
// before a change (a roll, a killed broker, a lost node), it keeps producing
// numbered, checksummed records at a fixed rate through the same producer as
// Run, riding over leader failovers (retries until DeliveryTimeout); Stop
// then reads everything back and checks that every acknowledged record is
// in the log, intact and in order. Records the producer gave up on are
// counted apart from lost ones: a producer may give up on a record the
// cluster wrote, and the cluster may drop a record it never acknowledged.
type Load struct {
	r       *runner
	led     *ledger
	p       *producer
	base    time.Time
	start   map[int]int64
	stopped chan struct{}
	fed     chan error
	// stopProducing cancels the producer's context; cancel does that and releases the transport.
	stopProducing context.CancelFunc
	cancel        context.CancelFunc

	stopOnce sync.Once
	report   *LoadReport
	stopErr  error
}

// LoadConfig configures a Load. Zero values select defaults.
type LoadConfig struct {
	// Brokers are the bootstrap addresses, "host:port" each. Required.
	Brokers []string
	// Auth is how to connect (Config.Auth).
	Auth clientauth.Auth
	// Topic is created when missing (Partitions, ReplicationFactor and
	// MinInsyncReplicas apply then) and reused when present. Default
	// "kafka-kraft-load".
	Topic string
	// Partitions and ReplicationFactor of a topic Load creates: 0 fits
	// them to the cluster as Config does (one partition per broker,
	// min(3, brokers) replicas).
	Partitions, ReplicationFactor int
	// MinInsyncReplicas, when not 0, is set as the created topic's
	// min.insync.replicas; 0 keeps the cluster's default.
	MinInsyncReplicas int
	// Rate is the produce rate in records per second. Default 1000;
	// allowed 1 to MaxRate.
	Rate int
	// MessageSize is the record value size. Default DefaultMessageSize.
	MessageSize int
	// RequestTimeout bounds each request. Default DefaultRequestTimeout.
	RequestTimeout time.Duration
	// DeliveryTimeout bounds how long a record is retried. Default
	// DefaultDeliveryTimeout (2m), as the Java producer.
	DeliveryTimeout time.Duration
	// Progress receives progress lines; nil keeps the load quiet.
	Progress io.Writer
}

// DefaultLoadTopic is the topic of a Load by default.
const DefaultLoadTopic = "kafka-kraft-load"

// DefaultLoadRate is a Load's rate by default (records per second).
const DefaultLoadRate = 1000

// LoadStats is a Load's state at one moment.
type LoadStats struct {
	// Sent counts records handed to the producer; Acked those acknowledged
	// by every in-sync replica; Unacknowledged those the producer gave up
	// on. The rest are still being sent or retried.
	Sent, Acked, Unacknowledged int
	// LongestAckGap is the longest time without an acknowledgement so far.
	LongestAckGap time.Duration
	// Retries counts produce requests sent again after a failure.
	Retries int64
	// LastError is the last error a batch failed with for good, if any.
	LastError error
}

// LoadReport is what Stop found.
type LoadReport struct {
	LoadStats
	// Topic, Partitions and ReplicationFactor describe the topic used.
	Topic                         string
	Partitions, ReplicationFactor int
	// Elapsed runs from the first record handed over to Stop's end of
	// producing.
	Elapsed time.Duration
	// Verify holds the read-back check: lost, duplicated, corrupt,
	// misplaced and reordered records, plus the unacknowledged records
	// found written and the duplicates explained by retries.
	Verify *VerifyError
}

// String is a one-line summary for logs.
func (r *LoadReport) String() string {
	lost, written, dups := 0, 0, 0
	if r.Verify != nil {
		lost, written, dups = r.Verify.Lost, r.Verify.UnacknowledgedWritten, r.Verify.RetryDuplicates
	}
	s := fmt.Sprintf("%d records sent in %s, %d acknowledged, %d unacknowledged (%d of them written anyway), %d lost, %d duplicates from %d retried requests, longest wait between acknowledgements %s",
		r.Sent, round(r.Elapsed), r.Acked, r.Unacknowledged, written, lost, dups, r.Retries, round(r.LongestAckGap))
	if r.Unacknowledged > 0 && r.LastError != nil {
		s += fmt.Sprintf(" (the producer gave up on a batch with: %v)", r.LastError)
	}
	return s
}

// StartLoad checks the cluster's metadata, creates or reuses the topic and
// starts producing in the background. The load runs until Stop or until
// ctx ends.
func StartLoad(ctx context.Context, cfg LoadConfig) (*Load, error) {
	if cfg.Topic == "" {
		cfg.Topic = DefaultLoadTopic
	}
	if cfg.Rate == 0 {
		cfg.Rate = DefaultLoadRate
	}
	if cfg.Rate < 1 || cfg.Rate > MaxRate {
		return nil, fmt.Errorf("smoke: LoadConfig.Rate = %d: must be between 1 and %d records per second (0 = default %d)", cfg.Rate, MaxRate, DefaultLoadRate)
	}
	if cfg.MinInsyncReplicas < 0 {
		return nil, fmt.Errorf("smoke: LoadConfig.MinInsyncReplicas = %d: must be 0 (cluster default) or at least 1", cfg.MinInsyncReplicas)
	}
	sc := Config{
		Brokers: cfg.Brokers, Auth: cfg.Auth, Topic: cfg.Topic, Partitions: cfg.Partitions, ReplicationFactor: cfg.ReplicationFactor,
		MessageSize: cfg.MessageSize, Rate: cfg.Rate, RequestTimeout: cfg.RequestTimeout, DeliveryTimeout: cfg.DeliveryTimeout,
		Messages: 1, Progress: cfg.Progress,
		// The load runs until Stop; ctx bounds it.
		Timeout: 100 * 365 * 24 * time.Hour,
	}
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	sc = sc.withDefaults()
	r, cleanup, err := newRunner(sc)
	if err != nil {
		return nil, err
	}
	r.topicConfigs = nil
	if cfg.MinInsyncReplicas > 0 {
		r.topicConfigs = []kafka.ConfigEntry{{ConfigName: "min.insync.replicas", ConfigValue: fmt.Sprint(cfg.MinInsyncReplicas)}}
	}
	fail := func(err error) (*Load, error) {
		cleanup()
		return nil, fmt.Errorf("smoke: load: %w", err)
	}
	if err := r.checkMetadata(ctx); err != nil {
		return fail(fmt.Errorf("metadata: %w", err))
	}
	if err := r.ensureTopic(ctx); err != nil {
		return fail(fmt.Errorf("topic %s: %w", sc.Topic, err))
	}
	if err := r.waitTopicReady(ctx); err != nil {
		return fail(fmt.Errorf("topic %s: %w", sc.Topic, err))
	}
	start, err := r.listOffsets(ctx, kafka.LastOffset)
	if err != nil {
		return fail(fmt.Errorf("topic %s: end offsets before producing: %w", sc.Topic, err))
	}

	lctx, cancel := context.WithCancel(ctx)
	l := &Load{
		r: r, led: newLedger(1 << 16), base: time.Now(), start: start,
		stopped: make(chan struct{}), fed: make(chan error, 1),
		stopProducing: cancel,
		cancel:        func() { cancel(); cleanup() },
	}
	r.prog.setPhase(fmt.Sprintf("producing at %d msg/s", cfg.Rate), 0)
	l.p = r.startProducer(lctx, l.led, l.base)
	go func() { l.fed <- r.feedUntil(lctx, l.p, l.led, l.base, -1, l.stopped) }()
	return l, nil
}

// Stats returns the load's state now.
func (l *Load) Stats() LoadStats {
	sent, acked, failed := l.led.counts()
	l.led.mu.Lock()
	gap, last := l.led.longestGap, l.led.lastErr
	if len(l.led.ackTimes) > 0 {
		// The wait since the last acknowledgement counts too while the load
		// runs: a stall shows before it ends.
		gap = max(gap, time.Since(l.base)-l.led.lastAck)
	}
	l.led.mu.Unlock()
	return LoadStats{Sent: sent, Acked: acked, Unacknowledged: failed, LongestAckGap: gap, Retries: l.r.retries.Load(), LastError: last}
}

// AckedBetween counts the records acknowledged in [from, to).
func (l *Load) AckedBetween(from, to time.Time) int {
	return l.led.ackedBetween(from.Sub(l.base), to.Sub(l.base))
}

// WaitAcked waits until at least n more records than now are acknowledged,
// or ctx ends: proof that the cluster takes writes at this moment.
func (l *Load) WaitAcked(ctx context.Context, n int) error {
	_, from, _ := l.led.counts()
	for {
		_, acked, _ := l.led.counts()
		if acked-from >= n {
			return nil
		}
		if err := sleep(ctx, 20*time.Millisecond); err != nil {
			return fmt.Errorf("smoke: load: %d of %d more acknowledgements: %w", acked-from, n, err)
		}
	}
}

// Stop stops producing, waits for every record in flight to be answered
// (acknowledged, failed, or expired after the delivery timeout), reads the
// topic back and verifies it. The error is non-nil when an acknowledged
// record is missing, corrupt or out of order, when a duplicate is not
// explained by a retry, when nothing was acknowledged at all, or when the
// read-back fails; records the producer gave up on are reported in the
// LoadReport, not as an error.
func (l *Load) Stop(ctx context.Context) (*LoadReport, error) {
	l.stopOnce.Do(func() { l.report, l.stopErr = l.stop(ctx) })
	return l.report, l.stopErr
}

func (l *Load) stop(ctx context.Context) (*LoadReport, error) {
	defer l.cancel()
	// ctx bounds the stop too: when it ends before every record in flight was answered, the
	// producer gives up on them (they count as unacknowledged).
	drained := make(chan struct{})
	defer close(drained)
	go func() {
		select {
		case <-ctx.Done():
			l.stopProducing()
		case <-drained:
		}
	}()
	close(l.stopped)
	feedErr := <-l.fed
	elapsed := time.Since(l.base)
	l.p.close()

	rep := &LoadReport{LoadStats: l.Stats(), Topic: l.r.cfg.Topic, Partitions: l.r.res.Partitions, ReplicationFactor: l.r.res.ReplicationFactor, Elapsed: elapsed}
	rep.LongestAckGap = l.led.longestGap
	if feedErr != nil {
		return rep, fmt.Errorf("smoke: load: %w", feedErr)
	}
	outcomes := l.led.snapshotOutcomes()
	l.r.cfg.Messages = len(outcomes) // classify's range of sequence numbers
	sum, err := l.r.readBack(ctx, l.start, outcomes)
	rep.Verify = sum
	var verr *VerifyError
	if errors.As(err, &verr) {
		return rep, fmt.Errorf("smoke: load: %w (%s)", err, rep)
	}
	if err != nil {
		return rep, fmt.Errorf("smoke: load: read back: %w", err)
	}
	if rep.Acked == 0 {
		if rep.LastError == nil {
			return rep, fmt.Errorf("smoke: load: no record was acknowledged (%s)", rep)
		}
		return rep, fmt.Errorf("smoke: load: no record was acknowledged (%s; last error: %w)", rep, rep.LastError)
	}
	return rep, nil
}
