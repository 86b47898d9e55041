package main

import (
	"fmt"
	"sort"
	"strings"
)

// Node is what the check needs to know about the local node (from its server.properties).
type Node struct {
	ID     int32
	Broker bool // process.roles has broker
	Voter  bool // process.roles has controller
}

// maxListed bounds the partitions a reason names.
const maxListed = 5

// evaluate decides whether node is ready, that is, whether it is safe to restart the next node of a
// roll: the broker is registered and unfenced (brokers answer Metadata with unfenced brokers
// only), it is back in the ISR of every partition it replicates, and a voter has caught up with the
// quorum leader to within maxLag records. md is required for a broker and q for a voter. The
// returned text says why, ready or not, in one line.
func evaluate(node Node, md *Metadata, q *Quorum, maxLag int64) (bool, string) {
	var ok []string
	if node.Broker {
		if md == nil {
			return false, "no metadata"
		}
		registered := false
		ids := make([]string, 0, len(md.Brokers))
		for _, b := range md.Brokers {
			registered = registered || b.ID == node.ID
			ids = append(ids, fmt.Sprint(b.ID))
		}
		if !registered {
			sort.Strings(ids)
			return false, fmt.Sprintf("broker %d is not registered or still fenced (the metadata lists brokers %s)", node.ID, strings.Join(ids, ","))
		}
		replicated, leaderless, behind := 0, 0, []string{}
		for _, p := range md.Partitions {
			if !contains(p.Replicas, node.ID) {
				continue
			}
			replicated++
			// A partition without a leader cannot take this replica back into its ISR until one of
			// its other replicas returns: waiting for it would stall a roll for good, and restarting
			// another node cannot make that partition less available than it is.
			if p.Leader < 0 {
				leaderless++
				continue
			}
			if !contains(p.ISR, node.ID) {
				behind = append(behind, fmt.Sprintf("%s-%d", p.Topic, p.Index))
			}
		}
		if n := len(behind); n > 0 {
			sort.Strings(behind)
			more := ""
			if n > maxListed {
				more = fmt.Sprintf(" and %d more", n-maxListed)
				behind = behind[:maxListed]
			}
			return false, fmt.Sprintf("broker %d is not yet in the ISR of %d of the %d partitions it replicates: %s%s",
				node.ID, n, replicated, strings.Join(behind, ", "), more)
		}
		if leaderless > 0 {
			ok = append(ok, fmt.Sprintf("broker %d registered and in the ISR of all %d partitions it replicates that have a leader (%d have none)", node.ID, replicated-leaderless, leaderless))
		} else {
			ok = append(ok, fmt.Sprintf("broker %d registered and in the ISR of all %d partitions it replicates", node.ID, replicated))
		}
	}
	if node.Voter {
		if q == nil {
			return false, "no quorum description"
		}
		if q.Leader < 0 {
			return false, "the metadata quorum has no leader"
		}
		if q.Leader == node.ID {
			ok = append(ok, fmt.Sprintf("voter %d leads the quorum (epoch %d)", node.ID, q.LeaderEpoch))
		} else {
			var self *Voter
			for i := range q.Voters {
				if q.Voters[i].ID == node.ID {
					self = &q.Voters[i]
				}
			}
			if self == nil {
				return false, fmt.Sprintf("node %d is not among the quorum's voters", node.ID)
			}
			lag := q.HighWatermark - self.LogEndOffset
			if lag > maxLag {
				return false, fmt.Sprintf("voter %d is %d records behind the quorum's high watermark %d (leader %d; at most %d allowed)",
					node.ID, lag, q.HighWatermark, q.Leader, maxLag)
			}
			ok = append(ok, fmt.Sprintf("voter %d caught up with leader %d (lag %d)", node.ID, q.Leader, max(lag, 0)))
		}
	}
	if len(ok) == 0 {
		return false, fmt.Sprintf("node %d has neither the broker nor the controller role", node.ID)
	}
	return true, strings.Join(ok, "; ")
}

func contains(ids []int32, id int32) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
