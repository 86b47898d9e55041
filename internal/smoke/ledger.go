package smoke

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Record states in a ledger.
const (
	statePending = iota // handed to the producer, no answer yet
	stateAcked          // acknowledged by every in-sync replica
	stateFailed         // failed for good or expired: not acknowledged
)

// outcome is what the producer knows of one record, indexed by sequence
// number: where it was sent, whether it was acknowledged, and how many
// produce requests carried it (more than one: the log may hold copies).
type outcome struct {
	partition int32
	state     uint8
	attempts  uint8
}

// ledger keeps the outcome of every record of a run and the acknowledgement
// timeline. Safe for concurrent use.
type ledger struct {
	mu        sync.Mutex
	outcomes  []outcome
	latencies []time.Duration
	acked     int
	failed    int
	// ackTimes holds, per acknowledged batch, when it was acknowledged and
	// how many records it carried, in the order the answers arrived.
	ackTimes []ackEvent
	lastAck  time.Duration
	// longestGap is the longest time between two acknowledgements, the
	// start of producing counting as the first.
	longestGap time.Duration
	// failures holds the first error and the count per partition.
	failures    map[int]error
	failedCount map[int]int
	lastErr     error
}

type ackEvent struct {
	at    time.Duration
	count int
}

func newLedger(capacity int) *ledger {
	return &ledger{
		outcomes:    make([]outcome, 0, capacity),
		latencies:   make([]time.Duration, 0, capacity),
		failures:    map[int]error{},
		failedCount: map[int]int{},
	}
}

// add registers record seq, sent to partition. Sequence numbers are added in
// order, starting at 0.
func (l *ledger) add(seq uint64, partition int) {
	l.mu.Lock()
	if uint64(len(l.outcomes)) != seq {
		l.mu.Unlock()
		panic(fmt.Sprintf("smoke: ledger: record %d added after %d records", seq, len(l.outcomes)))
	}
	l.outcomes = append(l.outcomes, outcome{partition: int32(partition), state: statePending})
	l.mu.Unlock()
}

// record books the answer for one batch.
func (l *ledger) record(b batchResult) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range b.records {
		o := &l.outcomes[r.seq]
		o.attempts = uint8(min(b.attempts, 255))
		if b.err != nil {
			o.state = stateFailed
			continue
		}
		o.state = stateAcked
		l.latencies = append(l.latencies, b.at-r.enqueued)
	}
	if b.err != nil {
		l.failed += len(b.records)
		l.failedCount[b.partition] += len(b.records)
		if l.failures[b.partition] == nil {
			l.failures[b.partition] = b.err
		}
		l.lastErr = b.err
		return
	}
	l.acked += len(b.records)
	l.longestGap = max(l.longestGap, b.at-l.lastAck)
	l.lastAck = max(l.lastAck, b.at)
	l.ackTimes = append(l.ackTimes, ackEvent{at: b.at, count: len(b.records)})
}

// counts returns how many records were added, acknowledged and failed.
func (l *ledger) counts() (sent, acked, failed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.outcomes), l.acked, l.failed
}

// ackedBetween counts the records acknowledged in [from, to) (producer
// clock).
func (l *ledger) ackedBetween(from, to time.Duration) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.ackTimes {
		if e.at >= from && e.at < to {
			n += e.count
		}
	}
	return n
}

// snapshotOutcomes copies the outcomes for verification.
func (l *ledger) snapshotOutcomes() []outcome {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]outcome(nil), l.outcomes...)
}

// pendingByPartition counts the records without an answer, per partition.
func (l *ledger) pendingByPartition() map[int]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[int]int{}
	for _, o := range l.outcomes {
		if o.state == statePending {
			out[int(o.partition)]++
		}
	}
	return out
}

// failureSummary names, per partition, how many records failed and why,
// with leader naming each partition's leader.
func (l *ledger) failureSummary(leader func(int) string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	parts := make([]int, 0, len(l.failures))
	for p := range l.failures {
		parts = append(parts, p)
	}
	sort.Ints(parts)
	msgs := make([]string, 0, len(parts))
	for _, p := range parts {
		msgs = append(msgs, fmt.Sprintf("partition %d (%s): %d not acknowledged: %v", p, leader(p), l.failedCount[p], l.failures[p]))
	}
	return strings.Join(msgs, "; ")
}
