package smoke

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Result is what a run measured. Run returns it filled as far as the run
// got, also together with an error, so a failed verification still reports
// the produce figures.
type Result struct {
	// RunID is the random id carried by every message of this run (hex).
	RunID string
	// Bootstrap are the bootstrap addresses the run used.
	Bootstrap []string

	// ClusterID is the cluster id from the metadata.
	ClusterID string
	// Brokers is the number of brokers the metadata lists.
	Brokers int
	// BrokerAddrs are the advertised "id=host:port" of every broker, sorted
	// by id; the run checked that each answers.
	BrokerAddrs []string
	// ControllerID is the controller id the metadata reports. In KRaft mode
	// brokers report a random live broker here (clients cannot reach the
	// controller quorum); -1 means none.
	ControllerID int

	// Topic is the topic used.
	Topic string
	// TopicCreated is true when this run created the topic, false when it
	// reused an existing one.
	TopicCreated bool
	// Partitions and ReplicationFactor describe the topic as the cluster
	// reports it.
	Partitions, ReplicationFactor int

	// Messages is the number of messages produced, acknowledged (acks=all)
	// and read back.
	Messages int
	// MessageSize is the record value size in bytes.
	MessageSize int
	// Rate is the produce rate cap in messages per second, 0 = none.
	Rate int
	// Bytes is the total of the record values produced: Messages *
	// MessageSize.
	Bytes int64
	// ForeignRecords counts records of other producers or runs that sat
	// between this run's start and end offsets and were ignored.
	ForeignRecords int

	// ProduceElapsed runs from the first message handed to the producer to
	// the last acknowledgement.
	ProduceElapsed time.Duration
	// ProduceMsgsPerSec and ProduceMBPerSec are Messages and Bytes over
	// ProduceElapsed; MB here is MiB (2^20 bytes), as in Kafka's perf tools.
	ProduceMsgsPerSec, ProduceMBPerSec float64
	// ProduceLatencyP50 (P95, P99, P999, Max, Avg) are per-message produce
	// latencies: from the moment a message is handed to the producer to the
	// moment the request that carried it is acknowledged by all in-sync
	// replicas. They include batching (linger), waiting behind the request
	// in flight to the same partition and retries, like
	// kafka-producer-perf-test's send-to-callback latency.
	ProduceLatencyP50, ProduceLatencyP95, ProduceLatencyP99  time.Duration
	ProduceLatencyP999, ProduceLatencyMax, ProduceLatencyAvg time.Duration
	// ProduceRetries counts produce requests sent again after a failure.
	ProduceRetries int64
	// ProduceReconnects counts how often the producer replaced its connections after repeated
	// connection failures of one batch.
	ProduceReconnects int64
	// LongestAckGap is the longest time without an acknowledgement while
	// producing (from the first message handed over): how long producers
	// stalled, e.g. while a partition leader moved.
	LongestAckGap time.Duration
	// Unacknowledged counts messages the producer gave up on (an error
	// that does not go away, or the delivery timeout); the run fails then,
	// after it has verified the acknowledged ones.
	Unacknowledged int
	// UnacknowledgedWritten counts unacknowledged messages found in the log
	// anyway (written, answer lost).
	UnacknowledgedWritten int
	// RetryDuplicates counts extra copies left by produce requests that
	// were retried after their answer was lost (at-least-once delivery;
	// kafka-go has no idempotent producer). Not a failure.
	RetryDuplicates int

	// ConsumeElapsed runs from the first fetch to the last record read.
	ConsumeElapsed time.Duration
	// ConsumeMsgsPerSec and ConsumeMBPerSec are this run's records and
	// bytes read over ConsumeElapsed (MiB, as above).
	ConsumeMsgsPerSec, ConsumeMBPerSec float64

	// Elapsed is the whole run, metadata checks and topic setup included.
	Elapsed time.Duration
}

// WriteSummary writes a short human summary of r to w.
func (r *Result) WriteSummary(w io.Writer) error {
	created := "reused"
	if r.TopicCreated {
		created = "created"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "smoke OK: %d brokers (controller %d, cluster %s), topic %s (%d partitions, RF %d, %s)\n",
		r.Brokers, r.ControllerID, r.ClusterID, r.Topic, r.Partitions, r.ReplicationFactor, created)
	limit := "unlimited rate"
	if r.Rate > 0 {
		limit = fmt.Sprintf("rate capped at %d msg/s", r.Rate)
	}
	fmt.Fprintf(&b, "  produced %d msgs x %d B = %.1f MiB in %s: %.0f msg/s, %.2f MiB/s (acks=all, %s, %d retries)\n",
		r.Messages, r.MessageSize, float64(r.Bytes)/mib, round(r.ProduceElapsed), r.ProduceMsgsPerSec, r.ProduceMBPerSec, limit, r.ProduceRetries)
	fmt.Fprintf(&b, "  produce latency p50 %s, p95 %s, p99 %s, p99.9 %s, max %s; longest wait between acknowledgements %s\n",
		round(r.ProduceLatencyP50), round(r.ProduceLatencyP95), round(r.ProduceLatencyP99), round(r.ProduceLatencyP999), round(r.ProduceLatencyMax), round(r.LongestAckGap))
	dups := "none duplicated"
	if r.RetryDuplicates > 0 {
		dups = fmt.Sprintf("%d duplicates left by retried requests (at-least-once)", r.RetryDuplicates)
	}
	fmt.Fprintf(&b, "  consumed %d msgs in %s: %.0f msg/s, %.2f MiB/s; none lost, %s, checksums and per-partition order OK\n",
		r.Messages, round(r.ConsumeElapsed), r.ConsumeMsgsPerSec, r.ConsumeMBPerSec, dups)
	fmt.Fprintf(&b, "  run %s took %s\n", r.RunID, round(r.Elapsed))
	_, err := io.WriteString(w, b.String())
	return err
}

// round keeps three significant figures or so for humans.
func round(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond)
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	default:
		return d.Round(time.Microsecond)
	}
}

// LatencyMeasuredFrom says what the produce latency figures span.
const LatencyMeasuredFrom = "handed to the producer until the request that carried it is acknowledged (acks=all), batching, queueing and retries included"

// Report is the machine-readable summary printed by `smoke -json`. Durations
// are in milliseconds or seconds as their names say; MB is MiB.
type Report struct {
	// OK is true when the run passed.
	OK bool `json:"ok"`
	// Error is the reason of a failure, empty when OK.
	Error string `json:"error,omitempty"`

	// RunID to ForeignRecords mirror the Result fields of the same names.
	RunID             string   `json:"run_id,omitempty"`
	Bootstrap         []string `json:"bootstrap,omitempty"`
	ClusterID         string   `json:"cluster_id,omitempty"`
	Brokers           int      `json:"brokers"`
	ControllerID      int      `json:"controller_id"`
	Topic             string   `json:"topic,omitempty"`
	TopicCreated      bool     `json:"topic_created"`
	Partitions        int      `json:"partitions"`
	ReplicationFactor int      `json:"replication_factor"`
	Messages          int      `json:"messages"`
	MessageSize       int      `json:"message_size"`
	Rate              int      `json:"rate"`
	Bytes             int64    `json:"bytes"`
	ForeignRecords    int      `json:"foreign_records"`

	// ProduceSeconds is Result.ProduceElapsed in seconds.
	ProduceSeconds float64 `json:"produce_seconds"`
	// ProduceMsgsPerSec and ProduceMBPerSec (MiB/s) mirror Result.
	ProduceMsgsPerSec float64 `json:"produce_msgs_per_sec"`
	ProduceMBPerSec   float64 `json:"produce_mb_per_sec"`
	// ProduceLatencyP50 to ProduceLatencyAvg are Result's latencies in
	// milliseconds.
	ProduceLatencyP50  float64 `json:"produce_latency_p50_ms"`
	ProduceLatencyP95  float64 `json:"produce_latency_p95_ms"`
	ProduceLatencyP99  float64 `json:"produce_latency_p99_ms"`
	ProduceLatencyP999 float64 `json:"produce_latency_p999_ms"`
	ProduceLatencyMax  float64 `json:"produce_latency_max_ms"`
	ProduceLatencyAvg  float64 `json:"produce_latency_avg_ms"`
	// ProduceRetries mirrors Result.ProduceRetries.
	ProduceRetries int64 `json:"produce_retries"`
	// LongestAckGapMs is Result.LongestAckGap in milliseconds.
	LongestAckGapMs float64 `json:"longest_ack_gap_ms"`
	// Unacknowledged, UnacknowledgedWritten and RetryDuplicates mirror
	// Result.
	Unacknowledged        int `json:"unacknowledged"`
	UnacknowledgedWritten int `json:"unacknowledged_written"`
	RetryDuplicates       int `json:"retry_duplicates"`
	// ConsumeSeconds is Result.ConsumeElapsed in seconds.
	ConsumeSeconds float64 `json:"consume_seconds"`
	// ConsumeMsgsPerSec and ConsumeMBPerSec (MiB/s) mirror Result.
	ConsumeMsgsPerSec float64 `json:"consume_msgs_per_sec"`
	ConsumeMBPerSec   float64 `json:"consume_mb_per_sec"`
	// ElapsedSeconds is Result.Elapsed in seconds.
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	// LatencyMeasuredFrom says what the latency figures span.
	LatencyMeasuredFrom string `json:"latency_measured_from"`
}

// NewReport builds the machine-readable summary of a run from Run's results;
// res may be nil.
func NewReport(res *Result, err error) Report {
	rep := Report{OK: err == nil, ControllerID: -1}
	if err != nil {
		rep.Error = err.Error()
	}
	if res == nil {
		return rep
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	rep.RunID = res.RunID
	rep.Bootstrap = res.Bootstrap
	rep.ClusterID = res.ClusterID
	rep.Brokers = res.Brokers
	rep.ControllerID = res.ControllerID
	rep.Topic = res.Topic
	rep.TopicCreated = res.TopicCreated
	rep.Partitions = res.Partitions
	rep.ReplicationFactor = res.ReplicationFactor
	rep.Messages = res.Messages
	rep.MessageSize = res.MessageSize
	rep.Rate = res.Rate
	rep.Bytes = res.Bytes
	rep.ForeignRecords = res.ForeignRecords
	rep.ProduceSeconds = res.ProduceElapsed.Seconds()
	rep.ProduceMsgsPerSec = res.ProduceMsgsPerSec
	rep.ProduceMBPerSec = res.ProduceMBPerSec
	rep.ProduceLatencyP50 = ms(res.ProduceLatencyP50)
	rep.ProduceLatencyP95 = ms(res.ProduceLatencyP95)
	rep.ProduceLatencyP99 = ms(res.ProduceLatencyP99)
	rep.ProduceLatencyP999 = ms(res.ProduceLatencyP999)
	rep.ProduceLatencyMax = ms(res.ProduceLatencyMax)
	rep.ProduceLatencyAvg = ms(res.ProduceLatencyAvg)
	rep.ProduceRetries = res.ProduceRetries
	rep.LongestAckGapMs = ms(res.LongestAckGap)
	rep.Unacknowledged = res.Unacknowledged
	rep.UnacknowledgedWritten = res.UnacknowledgedWritten
	rep.RetryDuplicates = res.RetryDuplicates
	rep.ConsumeSeconds = res.ConsumeElapsed.Seconds()
	rep.ConsumeMsgsPerSec = res.ConsumeMsgsPerSec
	rep.ConsumeMBPerSec = res.ConsumeMBPerSec
	rep.ElapsedSeconds = res.Elapsed.Seconds()
	rep.LatencyMeasuredFrom = LatencyMeasuredFrom
	return rep
}
