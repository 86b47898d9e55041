// Package scaledown moves every partition replica off the brokers a scale-down removes, before the
// StatefulSet shrinks. The program runs it during `up` (and checks it during preview) through the
// running cluster's external listener, before it registers any resource: a refusal (a topic with
// more replicas than brokers would remain) then changes nothing, and the StatefulSet is only
// updated once the removed brokers hold nothing.
//
// The moves are Kafka partition reassignments, throttled (the copies only: Kafka never throttles an
// in-sync replica, so clients are not slowed). Each round plans only the partitions that still have
// a replica on a removed broker and no reassignment in progress, and waits for those in progress: an
// `up` that was interrupted mid-move finishes the work when it runs again.
package scaledown

import (
	"fmt"
	"sort"
)

// Partition is one partition's replica assignment as the metadata reports it.
type Partition struct {
	Topic    string
	ID       int
	Replicas []int
	ISR      []int
}

// Key names a partition: topic-id.
func (p Partition) Key() string { return key(p.Topic, p.ID) }

func key(topic string, id int) string { return fmt.Sprintf("%s-%d", topic, id) }

// Move is the target replica list of one partition.
type Move struct {
	Topic     string
	Partition int
	Replicas  []int
}

// Plan returns, for every partition with a replica on a removed broker (id >= keep), its replica
// list with each removed replica replaced by a remaining broker not in the list yet: the least loaded
// one (replicas it would hold over the whole cluster so far), ties to the lowest id. The replacement
// takes the removed replica's position, so a removed preferred leader is replaced as preferred leader
// and the others keep theirs. Partitions in skip (Key) are left out. Topics with more replicas than
// brokers would remain cannot shrink: they are returned in tooWide with their replication factor and
// none of their partitions is planned. Moves are sorted by topic and partition.
func Plan(parts []Partition, keep int, skip map[string]bool) (moves []Move, tooWide map[string]int) {
	sorted := append([]Partition(nil), parts...)
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i].Topic != sorted[j].Topic {
			return sorted[i].Topic < sorted[j].Topic
		}
		return sorted[i].ID < sorted[j].ID
	})
	load := make([]int, keep)
	tooWide = map[string]int{}
	for _, p := range sorted {
		for _, id := range p.Replicas {
			if id >= 0 && id < keep {
				load[id]++
			}
		}
		if len(p.Replicas) > keep {
			tooWide[p.Topic] = max(tooWide[p.Topic], len(p.Replicas))
		}
	}
	for _, p := range sorted {
		if tooWide[p.Topic] > 0 || skip[p.Key()] || !OnRemoved(p.Replicas, keep) {
			continue
		}
		target := append([]int(nil), p.Replicas...)
		for i, id := range target {
			if id < keep {
				continue
			}
			best := -1
			for cand := range keep {
				if contains(target, cand) {
					continue
				}
				if best < 0 || load[cand] < load[best] {
					best = cand
				}
			}
			target[i] = best // never -1: len(target) <= keep
			load[best]++
		}
		moves = append(moves, Move{Topic: p.Topic, Partition: p.ID, Replicas: target})
	}
	return moves, tooWide
}

// OnRemoved reports whether any of ids is a removed broker (id >= keep).
func OnRemoved(ids []int, keep int) bool {
	for _, id := range ids {
		if id >= keep {
			return true
		}
	}
	return false
}

// Settled returns parts with each ongoing reassignment's removing replicas left out (removing maps
// Key to them): the replicas each partition ends with.
func Settled(parts []Partition, removing map[string][]int) []Partition {
	out := make([]Partition, 0, len(parts))
	for _, p := range parts {
		if r := removing[p.Key()]; len(r) > 0 {
			var kept []int
			for _, id := range p.Replicas {
				if !contains(r, id) {
					kept = append(kept, id)
				}
			}
			p.Replicas = kept
		}
		out = append(out, p)
	}
	return out
}

func contains(ids []int, id int) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
