package scaledown

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/kafka-kraft/kafka-kraft/internal/clientauth"
)

// throttleRateKeys are per-broker configs and throttleReplicaKeys topic configs that Run
// sets while it moves replicas and deletes afterwards. "*" marks every replica of a moved topic, but
// Kafka throttles only replicas outside the ISR: the copies, never live replication.
var (
	throttleRateKeys    = []string{"leader.replication.throttled.rate", "follower.replication.throttled.rate"}
	throttleReplicaKeys = []string{"leader.replication.throttled.replicas", "follower.replication.throttled.replicas"}
)

// Options configures Run.
type Options struct {
	// Brokers are bootstrap addresses of the running cluster (host:port).
	Brokers []string
	// Keep is the broker count that remains: node ids 0..Keep-1 stay, every higher id is emptied.
	Keep int
	// Throttle is the copy rate in bytes per second per broker (0: unthrottled).
	Throttle int64
	// DryRun only reads: it refuses as Run would and reports the moves it would start.
	DryRun bool
	// Timeout bounds the whole run (default 20 minutes); Poll is the interval between checks
	// (default 1 s).
	Timeout, Poll time.Duration
	// Log receives progress lines (at most one every 5 s while waiting).
	Log func(string)
	// Auth is how to reach the brokers (TLS and SCRAM with security on).
	Auth clientauth.Auth
}

// Refused is returned, before anything is changed, when topics have more replicas than brokers
// would remain.
type Refused struct {
	Keep   int
	Topics map[string]int // topic -> replication factor
}

func (r *Refused) Error() string {
	var topics []string
	for t, rf := range r.Topics {
		topics = append(topics, fmt.Sprintf("%s (replication factor %d)", t, rf))
	}
	sort.Strings(topics)
	return fmt.Sprintf("%d brokers would remain, fewer than the replicas of %s; lower those topics' replication factor (kafka-reassign-partitions) or keep more brokers",
		r.Keep, strings.Join(topics, ", "))
}

// Report says what Run did.
type Report struct {
	// Planned is how many partitions had a replica on a removed broker when Run started (those an
	// interrupted earlier run was moving included).
	Planned int
	// Moved is how many reassignments Run started (an interrupted earlier run may have started others).
	Moved int
	// Took is the time from the start to the last moved partition fully in sync.
	Took time.Duration
}

// Run moves every replica off the brokers with id >= Keep and waits until every moved partition is
// fully in sync (see the package comment). With DryRun it only checks and reports.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Keep < 1 || len(o.Brokers) == 0 {
		return nil, errors.New("scaledown: Keep (at least 1) and Brokers are required")
	}
	if o.Timeout == 0 {
		o.Timeout = 20 * time.Minute
	}
	if o.Poll == 0 {
		o.Poll = time.Second
	}
	if o.Log == nil {
		o.Log = func(string) {}
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	start := time.Now()
	tr, err := o.Auth.Transport(10 * time.Second)
	if err != nil {
		return nil, err
	}
	defer tr.CloseIdleConnections()
	// kafka-go answers Metadata from its transport's cache, refreshed every MetadataTTL (6 s by
	// default), while ListPartitionReassignments always goes to the cluster. With the default the
	// re-reads below saw a reassignment already finished (no longer listed) beside the cached
	// replicas it had while running, for all five polls, and refused a safe scale-down (e2e 6c
	// after an interrupted one). A TTL well under the poll interval makes every poll fresh.
	tr.MetadataTTL = max(10*time.Millisecond, min(o.Poll/4, 250*time.Millisecond))
	r := &runner{o: o, c: &kafka.Client{Addr: kafka.TCP(o.Brokers...), Timeout: 15 * time.Second, Transport: tr}}

	parts, removing, err := r.state(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the cluster at %s: %w", strings.Join(o.Brokers, ","), err)
	}
	_, wide := Plan(Settled(parts, removing), o.Keep, nil)
	// A reassignment that ends while the state is read can show its old and new replicas together
	// for a moment: the reassignments come from the controller, the replicas from a broker's
	// metadata, which follows it. One that ended just before the read is no longer listed while
	// the broker may still show its old replicas (seen in the e2e tier right after an interrupted
	// scale-down). Look again for a few polls before refusing, whether or not any is listed.
	for tries := 0; len(wide) > 0 && tries < 5; tries++ {
		time.Sleep(o.Poll)
		if parts, removing, err = r.state(ctx); err != nil {
			return nil, fmt.Errorf("reading the cluster at %s: %w", strings.Join(o.Brokers, ","), err)
		}
		_, wide = Plan(Settled(parts, removing), o.Keep, nil)
	}
	if len(wide) > 0 {
		return nil, &Refused{Keep: o.Keep, Topics: wide}
	}
	// Replicas only go to brokers that run: a reassignment to a stopped broker would never end.
	if down := r.missing(ctx, o.Keep); down != "" {
		return nil, fmt.Errorf("broker(s) %s of the %d that remain are not running; bring them back before removing brokers", down, o.Keep)
	}
	all, _ := Plan(Settled(parts, removing), o.Keep, nil)
	// What is left to do: partitions to move, and those an interrupted run started moving.
	pending := len(all)
	for _, p := range parts {
		if len(removing[p.Key()]) > 0 && OnRemoved(removing[p.Key()], o.Keep) && !inMoves(all, p) {
			pending++
		}
	}
	rep := &Report{Planned: pending}
	if pending == 0 {
		o.Log(fmt.Sprintf("brokers %d and up hold no partition replica: nothing to move", o.Keep))
		rep.Took = time.Since(start)
		return rep, nil
	}
	if o.DryRun {
		o.Log(fmt.Sprintf("would move %d partitions off brokers %d and up: %s", pending, o.Keep, describe(all, 5)))
		return rep, nil
	}
	touched := map[string]bool{}
	for _, m := range all {
		touched[m.Topic] = true
	}
	for k := range removing {
		touched[k[:strings.LastIndex(k, "-")]] = true
	}
	o.Log(fmt.Sprintf("moving %d partitions off brokers %d and up (%d reassignments already in progress), throttled at %d bytes/s per broker",
		len(all), o.Keep, len(removing), o.Throttle))
	// A run that fails or times out clears its throttles too (on a context of its own: ctx may be
	// what ended): a throttle left behind would slow every follower that catches up later. Only a
	// killed process leaves them, and the next run (or one that resumes) clears them at its end.
	cleared := false
	defer func() {
		if o.Throttle > 0 && !cleared {
			cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer ccancel()
			if err := r.clearThrottles(cctx, touched); err != nil {
				o.Log(fmt.Sprintf("could not clear the throttles (%v); clear leader/follower.replication.throttled.rate on the brokers and .throttled.replicas on %v with kafka-configs", err, sortedTopics(touched)))
			}
		}
	}()
	// started remembers each target this run asked for: the brokers' metadata follows the
	// controller, and a reassignment that has just ended can still show its old and new replicas
	// together there (a superset of the target), which must not be planned again (it would add a
	// replica to a partition that has fewer than the remaining brokers).
	started := map[string][]int{}
	lastLog := time.Now()
	for {
		if o.Throttle > 0 {
			if err := r.setThrottles(ctx, touched); err != nil {
				return rep, err
			}
		}
		parts, removing, err = r.state(ctx)
		if err != nil {
			return rep, err
		}
		skip := map[string]bool{}
		for k := range removing {
			skip[k] = true
		}
		for _, p := range parts {
			if target, ok := started[p.Key()]; ok && len(p.Replicas) > len(target) && supersetOf(p.Replicas, target) {
				skip[p.Key()] = true // not settled in this broker's metadata yet
			}
		}
		// Partitions that look wider than the remaining brokers are ones whose reassignment has
		// just ended (see above): Plan leaves them out, and the next round sees them settled.
		moves, _ := Plan(Settled(parts, removing), o.Keep, skip)
		if len(moves) > 0 {
			for _, m := range moves {
				touched[m.Topic] = true
			}
			if err := r.alter(ctx, moves); err != nil {
				return rep, err
			}
			for _, m := range moves {
				started[key(m.Topic, m.Partition)] = m.Replicas
			}
			rep.Moved += len(moves)
			o.Log(fmt.Sprintf("reassigning %d partitions: %s", len(moves), describe(moves, 5)))
		}
		left, unsynced := 0, 0
		for _, p := range parts {
			if OnRemoved(p.Replicas, o.Keep) {
				left++
			} else if touched[p.Topic] && len(p.ISR) < len(p.Replicas) {
				unsynced++
			}
		}
		if len(moves) == 0 && left == 0 && len(removing) == 0 && unsynced == 0 {
			break
		}
		if time.Since(lastLog) >= 5*time.Second {
			o.Log(fmt.Sprintf("%d of %d partitions still on brokers %d and up, %d reassignments in progress, %d moved partitions not fully in sync (%s)",
				left, pending, o.Keep, len(removing), unsynced, time.Since(start).Round(time.Second)))
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			return rep, fmt.Errorf("moving replicas off brokers %d and up: %w (%d partitions left, %d in progress)", o.Keep, ctx.Err(), left, len(removing))
		case <-time.After(o.Poll):
		}
	}
	rep.Took = time.Since(start)
	if o.Throttle > 0 {
		cleared = true
		if err := r.clearThrottles(ctx, touched); err != nil {
			return rep, err
		}
	}
	o.Log(fmt.Sprintf("done: brokers %d and up hold no replica; %d partitions moved in %s", o.Keep, pending, rep.Took.Round(100*time.Millisecond)))
	return rep, nil
}

// supersetOf reports whether have holds every id of want.
func supersetOf(have, want []int) bool {
	for _, id := range want {
		if !contains(have, id) {
			return false
		}
	}
	return true
}

func sortedTopics(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for t := range m {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// missing lists the brokers 0..keep-1 that the metadata does not show running ("" when all run).
func (r *runner) missing(ctx context.Context, keep int) string {
	md, err := r.c.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{}})
	if err != nil {
		return fmt.Sprintf("(unknown: %v)", err)
	}
	up := map[int]bool{}
	for _, b := range md.Brokers {
		up[b.ID] = true
	}
	var down []string
	for id := range keep {
		if !up[id] {
			down = append(down, strconv.Itoa(id))
		}
	}
	return strings.Join(down, ", ")
}

// inMoves reports whether p is among moves.
func inMoves(moves []Move, p Partition) bool {
	for _, m := range moves {
		if m.Topic == p.Topic && m.Partition == p.ID {
			return true
		}
	}
	return false
}

type runner struct {
	o Options
	c *kafka.Client
}

// state reads every partition's replicas and ISR, and the reassignments in progress (Key -> the
// replicas they remove). The reassignments are read before the replicas: a reassignment that ends
// in between then shows its final replicas, never the union of old and new ones without the
// replicas it removes (which would look like a partition with too many replicas).
func (r *runner) state(ctx context.Context) ([]Partition, map[string][]int, error) {
	md, err := r.c.Metadata(ctx, &kafka.MetadataRequest{})
	if err != nil {
		return nil, nil, err
	}
	// kafka-go cannot ask for "every reassignment" (a null topic list): name every partition.
	topics := map[string]kafka.ListPartitionReassignmentsRequestTopic{}
	for _, t := range md.Topics {
		var ids []int
		for _, p := range t.Partitions {
			ids = append(ids, p.ID)
		}
		topics[t.Name] = kafka.ListPartitionReassignmentsRequestTopic{PartitionIndexes: ids}
	}
	removing := map[string][]int{}
	if len(topics) == 0 {
		return nil, removing, nil
	}
	lr, err := r.c.ListPartitionReassignments(ctx, &kafka.ListPartitionReassignmentsRequest{Topics: topics, Timeout: 10 * time.Second})
	if err != nil {
		return nil, nil, fmt.Errorf("list partition reassignments: %w", err)
	}
	if lr.Error != nil {
		return nil, nil, fmt.Errorf("list partition reassignments: %w", lr.Error)
	}
	for name, t := range lr.Topics {
		for _, p := range t.Partitions {
			removing[key(name, p.PartitionIndex)] = append([]int{}, p.RemovingReplicas...)
		}
	}
	if md, err = r.c.Metadata(ctx, &kafka.MetadataRequest{}); err != nil {
		return nil, nil, err
	}
	var parts []Partition
	for _, t := range md.Topics {
		if t.Error != nil {
			return nil, nil, fmt.Errorf("metadata of %s: %w", t.Name, t.Error)
		}
		for _, p := range t.Partitions {
			parts = append(parts, Partition{Topic: t.Name, ID: p.ID, Replicas: brokerIDs(p.Replicas), ISR: brokerIDs(p.Isr)})
		}
	}
	return parts, removing, nil
}

func (r *runner) alter(ctx context.Context, moves []Move) error {
	req := &kafka.AlterPartitionReassignmentsRequest{Timeout: 10 * time.Second}
	for _, m := range moves {
		req.Assignments = append(req.Assignments, kafka.AlterPartitionReassignmentsRequestAssignment{Topic: m.Topic, PartitionID: m.Partition, BrokerIDs: m.Replicas})
	}
	resp, err := r.c.AlterPartitionReassignments(ctx, req)
	if err == nil {
		err = resp.Error
	}
	if err != nil {
		return fmt.Errorf("alter partition reassignments: %w", err)
	}
	var errs []error
	for _, pr := range resp.PartitionResults {
		if pr.Error != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key(pr.Topic, pr.PartitionID), pr.Error))
		}
	}
	return errors.Join(errs...)
}

func (r *runner) setThrottles(ctx context.Context, topics map[string]bool) error {
	rate := strconv.FormatInt(r.o.Throttle, 10)
	return r.configs(ctx, kafka.ConfigOperationSet, rate, topics)
}

func (r *runner) clearThrottles(ctx context.Context, topics map[string]bool) error {
	if err := r.configs(ctx, kafka.ConfigOperationDelete, "", topics); err != nil {
		return fmt.Errorf("clearing the throttles: %w", err)
	}
	r.o.Log("throttles cleared")
	return nil
}

// configs sets (or deletes) the throttle rates on every broker and "*" as the throttled replicas
// of topics. One request per broker: kafka-go sends a broker resource to that broker.
func (r *runner) configs(ctx context.Context, op kafka.ConfigOperation, rate string, topics map[string]bool) error {
	entries := func(keys []string, value string) []kafka.IncrementalAlterConfigsRequestConfig {
		var out []kafka.IncrementalAlterConfigsRequestConfig
		for _, k := range keys {
			out = append(out, kafka.IncrementalAlterConfigsRequestConfig{Name: k, Value: value, ConfigOperation: op})
		}
		return out
	}
	md, err := r.c.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{}})
	if err != nil {
		return fmt.Errorf("throttles: %w", err)
	}
	var requests []*kafka.IncrementalAlterConfigsRequest
	for _, b := range md.Brokers {
		requests = append(requests, &kafka.IncrementalAlterConfigsRequest{Resources: []kafka.IncrementalAlterConfigsRequestResource{
			{ResourceType: kafka.ResourceTypeBroker, ResourceName: strconv.Itoa(b.ID), Configs: entries(throttleRateKeys, rate)}}})
	}
	names := make([]string, 0, len(topics))
	for t := range topics {
		names = append(names, t)
	}
	sort.Strings(names)
	value := "*"
	if op == kafka.ConfigOperationDelete {
		value = ""
	}
	topicReq := &kafka.IncrementalAlterConfigsRequest{}
	for _, t := range names {
		topicReq.Resources = append(topicReq.Resources, kafka.IncrementalAlterConfigsRequestResource{ResourceType: kafka.ResourceTypeTopic, ResourceName: t, Configs: entries(throttleReplicaKeys, value)})
	}
	if len(topicReq.Resources) > 0 {
		requests = append(requests, topicReq)
	}
	var errs []error
	for _, req := range requests {
		resp, err := r.c.IncrementalAlterConfigs(ctx, req)
		if err != nil {
			errs = append(errs, fmt.Errorf("throttles: %w", err))
			continue
		}
		for _, res := range resp.Resources {
			if res.Error != nil {
				errs = append(errs, fmt.Errorf("throttles of %s %q: %w", res.ResourceType, res.ResourceName, res.Error))
			}
		}
	}
	return errors.Join(errs...)
}

func brokerIDs(bs []kafka.Broker) []int {
	ids := make([]int, 0, len(bs))
	for _, b := range bs {
		ids = append(ids, b.ID)
	}
	return ids
}

// describe prints the first n moves.
func describe(moves []Move, n int) string {
	var parts []string
	for i, m := range moves {
		if i == n {
			parts = append(parts, fmt.Sprintf("and %d more", len(moves)-n))
			break
		}
		parts = append(parts, fmt.Sprintf("%s -> %v", key(m.Topic, m.Partition), m.Replicas))
	}
	return strings.Join(parts, ", ")
}
