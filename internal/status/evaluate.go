package status

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Evaluate applies the health rules to a report. It is pure: the same report and expectations
// give the same problems, most severe first, then in the order the rules run (brokers, quorum,
// topics by name).
//
//   - offline-partitions (critical): a partition without a leader.
//   - under-min-isr (critical): fewer in-sync replicas than the topic's effective
//     min.insync.replicas; acks=all writes fail.
//   - under-replicated (warning): fewer in-sync replicas than replicas.
//   - missing-brokers (warning): fewer brokers registered than Expect.Brokers.
//   - no-active-controller (critical): the quorum has no leader, or did not answer DescribeQuorum
//     in a way that says so (no answer: a broker forwards it to the active controller).
//   - missing-voters (warning): fewer voters than Expect.Controllers.
//   - voter-lagging (warning): a voter more than Expect.MaxVoterLag records behind the leader, or
//     whose last fetch is older than Expect.MaxFetchAge.
//   - quorum-unknown, min-isr-unknown, topic-error (warning): something could not be checked.
//
// A partition counts once, under its worst rule: an offline partition is not also
// under-replicated. Consumer group lag is information, never a problem.
func Evaluate(r Report, e Expect) []Problem {
	e = e.withDefaults()
	var ps []Problem
	ps = append(ps, brokerProblems(r.Brokers, e)...)
	ps = append(ps, quorumProblems(r.Quorum, e)...)
	ps = append(ps, topicProblems(r.Topics)...)
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Severity == Critical && ps[j].Severity != Critical })
	return ps
}

func brokerProblems(brokers []Broker, e Expect) []Problem {
	if e.Brokers == 0 || len(brokers) >= e.Brokers {
		return nil
	}
	registered := make([]int32, 0, len(brokers))
	for _, b := range brokers {
		registered = append(registered, b.ID)
	}
	missing := missingOrdinals(registered, e.Brokers)
	msg := fmt.Sprintf("%d of %d brokers registered", len(brokers), e.Brokers)
	if len(missing) > 0 {
		msg += fmt.Sprintf(": %s %s missing (not running, or fenced by the controller)", plural(len(missing), "broker", "brokers"), join(missing))
	}
	return []Problem{{Severity: Warning, Kind: KindMissingBrokers, Nodes: missing, Message: msg}}
}

// missingOrdinals are the ids 0..n-1 not in ids: kafka-kraft's node ids are the pods' ordinals.
// nil when ids are not all ordinals (another numbering: the missing ones cannot be named).
func missingOrdinals(ids []int32, n int) []int32 {
	for _, id := range ids {
		if id < 0 || int(id) >= n {
			return nil
		}
	}
	var missing []int32
	for i := range int32(n) {
		if !slices.Contains(ids, i) {
			missing = append(missing, i)
		}
	}
	return missing
}

func quorumProblems(q Quorum, e Expect) []Problem {
	if !q.Known() && q.Leaderless {
		// Without an active controller the metadata is frozen (dead brokers stay unfenced,
		// leaders do not move), so the rest of the report may look healthy: this is the finding.
		return []Problem{{Severity: Critical, Kind: KindNoLeader,
			Message: "the quorum did not answer (" + q.Error + "): most likely it has no leader, so no active controller, and the metadata shown is frozen"}}
	}
	if !q.Known() {
		return []Problem{{Severity: Warning, Kind: KindQuorumUnknown,
			Message: "the quorum could not be read (" + q.Error + "): the active controller and the voters were not checked"}}
	}
	var ps []Problem
	if q.LeaderID < 0 {
		ps = append(ps, Problem{Severity: Critical, Kind: KindNoLeader,
			Message: "the metadata quorum has no leader, so no active controller: topic changes and broker registrations wait until one is elected"})
	}
	voters := make([]int32, 0, len(q.Voters))
	for _, v := range q.Voters {
		voters = append(voters, v.ID)
	}
	if e.Controllers > 0 && len(voters) < e.Controllers {
		missing := missingOrdinals(voters, e.Controllers)
		msg := fmt.Sprintf("the quorum has %d of %d voters", len(voters), e.Controllers)
		if len(missing) > 0 {
			msg += fmt.Sprintf(": %s %s not among them", plural(len(missing), "controller", "controllers"), join(missing))
		}
		ps = append(ps, Problem{Severity: Warning, Kind: KindMissingVoters, Nodes: missing, Message: msg})
	}
	if q.LeaderID < 0 {
		return ps
	}
	leaderEnd, now := q.HighWatermark, referenceTime(q)
	for _, v := range q.Voters {
		if v.ID == q.LeaderID {
			leaderEnd = max(leaderEnd, v.LogEndOffset)
		}
	}
	maxAge := e.MaxFetchAge.Milliseconds()
	for _, v := range q.Voters {
		if v.ID == q.LeaderID {
			continue
		}
		var why []string
		switch behind := leaderEnd - v.LogEndOffset; {
		case v.LogEndOffset < 0:
			why = append(why, fmt.Sprintf("has not fetched from leader %d since it was elected", q.LeaderID))
		case behind > e.MaxVoterLag:
			why = append(why, fmt.Sprintf("is %d records behind leader %d (log end offset %d of %d; limit %d)", behind, q.LeaderID, v.LogEndOffset, leaderEnd, e.MaxVoterLag))
		}
		if now > 0 && v.LastFetchTimestamp >= 0 && now-v.LastFetchTimestamp > maxAge {
			why = append(why, fmt.Sprintf("last fetched %s before the leader's latest timestamp (limit %s)", millis(now-v.LastFetchTimestamp), e.MaxFetchAge))
		}
		if len(why) > 0 {
			ps = append(ps, Problem{Severity: Warning, Kind: KindVoterLagging, Nodes: []int32{v.ID},
				Message: fmt.Sprintf("voter %d %s", v.ID, strings.Join(why, " and "))})
		}
	}
	return ps
}

// referenceTime is "now" on the leader's clock: the latest timestamp in its answer. The leader
// reports itself as fetching and caught up at the time of the answer, so this compares the
// voters' fetch times with the leader's own clock, never with this machine's.
func referenceTime(q Quorum) int64 {
	now := int64(-1)
	for _, r := range append(slices.Clone(q.Voters), q.Observers...) {
		now = max(now, r.LastFetchTimestamp, r.LastCaughtUpTimestamp)
	}
	return now
}

func topicProblems(topics []Topic) []Problem {
	var ps []Problem
	unknown := map[string][]string{} // min.insync.replicas read error -> topics
	var errs []string
	for _, t := range topics {
		if t.Error != "" {
			ps = append(ps, Problem{Severity: Warning, Kind: KindTopicError, Topic: t.Name,
				Message: fmt.Sprintf("topic %s: the metadata answers %s", t.Name, t.Error)})
		}
		if t.MinInsyncReplicas <= 0 {
			why := t.ConfigError
			if why == "" {
				why = "not reported"
			}
			if _, seen := unknown[why]; !seen {
				errs = append(errs, why)
			}
			unknown[why] = append(unknown[why], t.Name)
		}
		ps = append(ps, partitionProblems(t)...)
	}
	for _, why := range errs {
		names := unknown[why]
		ps = append(ps, Problem{Severity: Warning, Kind: KindMinISRUnknown,
			Message: fmt.Sprintf("min.insync.replicas of %s %s unknown (%s): under-min-ISR not checked",
				plural(len(names), "topic", "topics"), strings.Join(names, ", "), why)})
	}
	return ps
}

// classify sorts t's partitions under their worst rule: offline (no leader), under
// min.insync.replicas, under-replicated; healthy ones are left out.
func classify(t Topic) (offline, underMin, underRep []Partition) {
	for _, p := range t.Partitions {
		switch {
		case p.Leader < 0:
			offline = append(offline, p)
		case t.MinInsyncReplicas > 0 && len(p.ISR) < t.MinInsyncReplicas:
			underMin = append(underMin, p)
		case len(p.ISR) < len(p.Replicas):
			underRep = append(underRep, p)
		}
	}
	return offline, underMin, underRep
}

func partitionProblems(t Topic) []Problem {
	offline, underMin, underRep := classify(t)
	var ps []Problem
	of := fmt.Sprintf("%%d of %d", len(t.Partitions))
	if len(offline) > 0 {
		nodes := union(offline, func(p Partition) []int32 { return p.Replicas })
		ps = append(ps, Problem{Severity: Critical, Kind: KindOffline, Topic: t.Name, Partitions: ids(offline), Nodes: nodes,
			Message: fmt.Sprintf("topic %s: %s offline, no leader ("+of+"); replicas on %s %s",
				t.Name, partitionList(offline), len(offline), plural(len(nodes), "broker", "brokers"), join(nodes))})
	}
	if len(underMin) > 0 {
		nodes := union(underMin, outOfISR)
		ps = append(ps, Problem{Severity: Critical, Kind: KindUnderMinISR, Topic: t.Name, Partitions: ids(underMin), Nodes: nodes,
			Message: fmt.Sprintf("topic %s: %s below min.insync.replicas=%d ("+of+"), acks=all writes fail; out of the ISR: %s %s",
				t.Name, partitionList(underMin), t.MinInsyncReplicas, len(underMin), plural(len(nodes), "broker", "brokers"), join(nodes))})
	}
	if len(underRep) > 0 {
		nodes := union(underRep, outOfISR)
		ps = append(ps, Problem{Severity: Warning, Kind: KindUnderReplicated, Topic: t.Name, Partitions: ids(underRep), Nodes: nodes,
			Message: fmt.Sprintf("topic %s: %s under-replicated ("+of+"); out of the ISR: %s %s",
				t.Name, partitionList(underRep), len(underRep), plural(len(nodes), "broker", "brokers"), join(nodes))})
	}
	return ps
}

func outOfISR(p Partition) []int32 {
	var out []int32
	for _, r := range p.Replicas {
		if !slices.Contains(p.ISR, r) {
			out = append(out, r)
		}
	}
	return out
}

func union(ps []Partition, of func(Partition) []int32) []int32 {
	var out []int32
	for _, p := range ps {
		for _, id := range of(p) {
			if !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	slices.Sort(out)
	return out
}

func ids(ps []Partition) []int32 {
	out := make([]int32, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return out
}

// maxListed bounds the partitions a message names; the JSON report lists them all.
const maxListed = 10

// partitionList names the partitions: "partition 1", "partitions 0, 2" or the first ten and a count.
func partitionList(ps []Partition) string {
	list := ids(ps)
	word := plural(len(list), "partition", "partitions")
	if len(list) > maxListed {
		return fmt.Sprintf("%s %s, ... (%d more)", word, join(list[:maxListed]), len(list)-maxListed)
	}
	return word + " " + join(list)
}

func join(ids []int32) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.Itoa(int(id))
	}
	return strings.Join(s, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// millis renders a duration in milliseconds rounded to what a reader needs.
func millis(ms int64) string {
	d := time.Duration(ms) * time.Millisecond
	if d >= time.Second {
		d = d.Round(100 * time.Millisecond)
	}
	return d.String()
}
