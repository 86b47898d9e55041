package smoke

import (
	"fmt"
	"strings"
)

// seen is what the consumer found at one offset of one partition.
type seen struct {
	Partition int
	Offset    int64
	// Seq is the sequence number of a message of this run, or one of
	// seqForeign (a record of another producer or run: ignored) and
	// seqCorrupt (a smoke record whose checksum does not match).
	Seq int64
}

const (
	seqForeign = -1
	seqCorrupt = -2
)

// VerifyError reports what the consume side found wrong. Counts are of
// messages; each First* field locates the first problem of its kind so a
// human can look at it (e.g. with kcat -o OFFSET -p PARTITION). verify fills
// it for every run; it is an error only when failed() says so.
type VerifyError struct {
	// Messages is the number of messages handed to the producer.
	Messages int
	// Acknowledged is how many of them the cluster acknowledged (acks=all).
	Acknowledged int

	// Lost counts acknowledged messages that were not read back.
	Lost int
	// FirstLostSeq and FirstLostPartition locate the lowest lost sequence
	// number and the partition that acknowledged it.
	FirstLostSeq       int64
	FirstLostPartition int

	// Duplicated counts extra copies of messages that only one produce
	// request ever carried: no retry explains them.
	Duplicated int
	// FirstDuplicateSeq, FirstDuplicatePartition and FirstDuplicateOffset
	// locate the first extra copy.
	FirstDuplicateSeq       int64
	FirstDuplicatePartition int
	FirstDuplicateOffset    int64

	// Corrupt counts records of this run whose checksum did not match or
	// whose sequence number was out of range.
	Corrupt int
	// FirstCorruptPartition and FirstCorruptOffset locate the first one.
	FirstCorruptPartition int
	FirstCorruptOffset    int64

	// Misplaced counts messages read from a partition other than the one
	// they were sent to.
	Misplaced int
	// FirstMisplacedSeq is the first such message; FirstMisplacedFound and
	// FirstMisplacedAcked are the partition it was read from and the one
	// it was sent to.
	FirstMisplacedSeq   int64
	FirstMisplacedFound int
	FirstMisplacedAcked int

	// OutOfOrder counts messages read after a message with a higher
	// sequence number in the same partition (the producer keeps one request
	// in flight per partition, so order within a partition must be kept).
	OutOfOrder int
	// FirstOutOfOrderSeq, FirstOutOfOrderPartition and FirstOutOfOrderOffset
	// locate the first one; FirstOutOfOrderAfter is the sequence number read
	// just before it.
	FirstOutOfOrderSeq       int64
	FirstOutOfOrderPartition int
	FirstOutOfOrderOffset    int64
	FirstOutOfOrderAfter     int64

	// Not failures, reported for the record:

	// UnacknowledgedWritten counts messages that were never acknowledged
	// (the producer gave up on them) but are in the log anyway: the broker
	// wrote them and the answer was lost. A producer cannot know; a lost
	// unacknowledged message is not a failure either.
	UnacknowledgedWritten int
	// RetryDuplicates counts extra copies of messages whose batch was sent
	// more than once: the first request was written but its answer lost (a
	// timeout, a dropped connection during a failover). kafka-go has no
	// idempotent producer, so these are the at-least-once duplicates any
	// non-idempotent producer makes.
	RetryDuplicates int
}

// Error names every kind of problem found, e.g. "lost 17 of 10000 acknowledged
// messages (first missing seq 42, partition 1)".
func (e *VerifyError) Error() string {
	var parts []string
	if e.Lost > 0 {
		parts = append(parts, fmt.Sprintf("lost %d of %d acknowledged messages (first missing seq %d, partition %d)",
			e.Lost, e.Acknowledged, e.FirstLostSeq, e.FirstLostPartition))
	}
	if e.Duplicated > 0 {
		parts = append(parts, fmt.Sprintf("duplicated %d messages that no retry explains (first seq %d, partition %d offset %d)",
			e.Duplicated, e.FirstDuplicateSeq, e.FirstDuplicatePartition, e.FirstDuplicateOffset))
	}
	if e.Corrupt > 0 {
		parts = append(parts, fmt.Sprintf("%d corrupt messages (checksum mismatch; first at partition %d offset %d)",
			e.Corrupt, e.FirstCorruptPartition, e.FirstCorruptOffset))
	}
	if e.Misplaced > 0 {
		parts = append(parts, fmt.Sprintf("%d messages in the wrong partition (first seq %d found in partition %d, sent to partition %d)",
			e.Misplaced, e.FirstMisplacedSeq, e.FirstMisplacedFound, e.FirstMisplacedAcked))
	}
	if e.OutOfOrder > 0 {
		parts = append(parts, fmt.Sprintf("%d messages out of order (first seq %d after seq %d, partition %d offset %d)",
			e.OutOfOrder, e.FirstOutOfOrderSeq, e.FirstOutOfOrderAfter, e.FirstOutOfOrderPartition, e.FirstOutOfOrderOffset))
	}
	if len(parts) == 0 {
		return "verify: passed"
	}
	return "verify: " + strings.Join(parts, "; ")
}

func (e *VerifyError) failed() bool {
	return e.Lost+e.Duplicated+e.Corrupt+e.Misplaced+e.OutOfOrder > 0
}

// verify checks the records read back against what the producer knows of
// each message (outcomes, indexed by sequence number). records must be in
// offset order within each partition (partitions may interleave). The
// result's failed() is false when every acknowledged message was read,
// intact, from its partition, in order, and every extra copy is explained
// by a retry.
//
// When a message was read more than once, the copy in the partition it was
// sent to is the original and the others are duplicates, whatever order
// the partitions were read in.
func verify(outcomes []outcome, records []seen) *VerifyError {
	n := len(outcomes)
	e := &VerifyError{Messages: n}
	ours := func(r seen) bool { return r.Seq >= 0 && r.Seq < int64(n) }

	original := make([]int, n) // seq -> index in records of its original, -1 = none
	for i := range original {
		original[i] = -1
	}
	for i, r := range records {
		if ours(r) && original[r.Seq] < 0 && int(outcomes[r.Seq].partition) == r.Partition {
			original[r.Seq] = i
		}
	}

	last := map[int]int64{} // partition -> seq of the last original read
	for i, r := range records {
		if r.Seq == seqForeign {
			continue
		}
		if !ours(r) {
			if e.Corrupt == 0 {
				e.FirstCorruptPartition, e.FirstCorruptOffset = r.Partition, r.Offset
			}
			e.Corrupt++
			continue
		}
		o := outcomes[r.Seq]
		if original[r.Seq] < 0 {
			// Not found in the partition it was sent to: the first copy
			// read stands in as the original.
			original[r.Seq] = i
			if e.Misplaced == 0 {
				e.FirstMisplacedSeq, e.FirstMisplacedFound, e.FirstMisplacedAcked = r.Seq, r.Partition, int(o.partition)
			}
			e.Misplaced++
		}
		if original[r.Seq] != i {
			if o.attempts > 1 && int(o.partition) == r.Partition {
				e.RetryDuplicates++
				continue
			}
			if e.Duplicated == 0 {
				e.FirstDuplicateSeq, e.FirstDuplicatePartition, e.FirstDuplicateOffset = r.Seq, r.Partition, r.Offset
			}
			e.Duplicated++
			continue
		}
		// Order is promised for acknowledged records only: a batch the producer gave up on may still
		// be appended later by a broker that was slow to answer.
		if o.state != stateAcked {
			continue
		}
		if prev, ok := last[r.Partition]; ok && r.Seq < prev {
			if e.OutOfOrder == 0 {
				e.FirstOutOfOrderSeq, e.FirstOutOfOrderPartition, e.FirstOutOfOrderOffset, e.FirstOutOfOrderAfter = r.Seq, r.Partition, r.Offset, prev
			}
			e.OutOfOrder++
		}
		last[r.Partition] = r.Seq
	}
	for seq, idx := range original {
		acked := outcomes[seq].state == stateAcked
		if acked {
			e.Acknowledged++
		}
		switch {
		case idx >= 0 && !acked:
			e.UnacknowledgedWritten++
		case idx < 0 && acked:
			if e.Lost == 0 {
				e.FirstLostSeq, e.FirstLostPartition = int64(seq), int(outcomes[seq].partition)
			}
			e.Lost++
		}
	}
	return e
}
