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
// human can look at it (e.g. with kcat -o OFFSET -p PARTITION).
type VerifyError struct {
	// Messages is the number of messages produced and acknowledged.
	Messages int

	// Lost counts acknowledged messages that were not read back.
	Lost int
	// FirstLostSeq and FirstLostPartition locate the lowest lost sequence
	// number and the partition that acknowledged it.
	FirstLostSeq       int64
	FirstLostPartition int

	// Duplicated counts extra copies of messages that were read more than
	// once.
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
	// that acknowledged them.
	Misplaced int
	// FirstMisplacedSeq is the first such message; FirstMisplacedFound and
	// FirstMisplacedAcked are the partition it was read from and the one
	// that acknowledged it.
	FirstMisplacedSeq   int64
	FirstMisplacedFound int
	FirstMisplacedAcked int

	// OutOfOrder counts messages read after a message with a higher
	// sequence number in the same partition (the writer sends one batch at a
	// time per partition, so order within a partition must be kept).
	OutOfOrder int
	// FirstOutOfOrderSeq, FirstOutOfOrderPartition and FirstOutOfOrderOffset
	// locate the first one; FirstOutOfOrderAfter is the sequence number read
	// just before it.
	FirstOutOfOrderSeq       int64
	FirstOutOfOrderPartition int
	FirstOutOfOrderOffset    int64
	FirstOutOfOrderAfter     int64
}

// Error names every kind of problem found, e.g. "lost 17 of 10000 messages
// (first missing seq 42, partition 1)".
func (e *VerifyError) Error() string {
	var parts []string
	if e.Lost > 0 {
		parts = append(parts, fmt.Sprintf("lost %d of %d messages (first missing seq %d, partition %d)",
			e.Lost, e.Messages, e.FirstLostSeq, e.FirstLostPartition))
	}
	if e.Duplicated > 0 {
		parts = append(parts, fmt.Sprintf("duplicated %d messages (first seq %d, partition %d offset %d)",
			e.Duplicated, e.FirstDuplicateSeq, e.FirstDuplicatePartition, e.FirstDuplicateOffset))
	}
	if e.Corrupt > 0 {
		parts = append(parts, fmt.Sprintf("%d corrupt messages (checksum mismatch; first at partition %d offset %d)",
			e.Corrupt, e.FirstCorruptPartition, e.FirstCorruptOffset))
	}
	if e.Misplaced > 0 {
		parts = append(parts, fmt.Sprintf("%d messages in the wrong partition (first seq %d found in partition %d, acknowledged by partition %d)",
			e.Misplaced, e.FirstMisplacedSeq, e.FirstMisplacedFound, e.FirstMisplacedAcked))
	}
	if e.OutOfOrder > 0 {
		parts = append(parts, fmt.Sprintf("%d messages out of order (first seq %d after seq %d, partition %d offset %d)",
			e.OutOfOrder, e.FirstOutOfOrderSeq, e.FirstOutOfOrderAfter, e.FirstOutOfOrderPartition, e.FirstOutOfOrderOffset))
	}
	return "verify: " + strings.Join(parts, "; ")
}

func (e *VerifyError) failed() bool {
	return e.Lost+e.Duplicated+e.Corrupt+e.Misplaced+e.OutOfOrder > 0
}

// verify checks the records read back against the acknowledgements.
// ackPartition[seq] is the partition that acknowledged message seq. records
// must be in offset order within each partition (partitions may
// interleave). It returns nil when every message was read exactly once,
// intact, from its partition, in order.
//
// When a message was read more than once, the copy in the partition that
// acknowledged it is the original and the others are duplicates, whatever
// order the partitions were read in.
func verify(ackPartition []int32, records []seen) *VerifyError {
	n := len(ackPartition)
	e := &VerifyError{Messages: n}
	ours := func(r seen) bool { return r.Seq >= 0 && r.Seq < int64(n) }

	original := make([]int, n) // seq -> index in records of its original, -1 = none
	for i := range original {
		original[i] = -1
	}
	for i, r := range records {
		if ours(r) && original[r.Seq] < 0 && int(ackPartition[r.Seq]) == r.Partition {
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
		if original[r.Seq] < 0 {
			// Not found in the partition that acknowledged it: the first
			// copy read stands in as the original.
			original[r.Seq] = i
			if e.Misplaced == 0 {
				e.FirstMisplacedSeq, e.FirstMisplacedFound, e.FirstMisplacedAcked = r.Seq, r.Partition, int(ackPartition[r.Seq])
			}
			e.Misplaced++
		}
		if original[r.Seq] != i {
			if e.Duplicated == 0 {
				e.FirstDuplicateSeq, e.FirstDuplicatePartition, e.FirstDuplicateOffset = r.Seq, r.Partition, r.Offset
			}
			e.Duplicated++
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
		if idx < 0 {
			if e.Lost == 0 {
				e.FirstLostSeq, e.FirstLostPartition = int64(seq), int(ackPartition[seq])
			}
			e.Lost++
		}
	}
	if !e.failed() {
		return nil
	}
	return e
}
