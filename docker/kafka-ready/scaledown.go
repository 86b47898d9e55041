package main

// `kafka-ready scale-down` empties the brokers that a shrinking StatefulSet is about to remove.
// KraftCluster runs it as a Job before the StatefulSet is updated, when `replicas` goes down:
//
//   - refuses, changing nothing, when a topic's replication factor exceeds the brokers that would
//     remain (its partitions could not keep all their replicas);
//   - moves every replica held by a removed broker (node id >= -keep) to a remaining one, by
//     partition reassignment, throttled (the copy traffic, not the in-sync replicas serving
//     clients), and waits until every moved partition is fully in sync;
//   - clears the throttles it set.
//
// It is idempotent and resumable: each round plans only the partitions that still have a replica on
// a removed broker and no reassignment in progress, and waits for those in progress, so a Job that
// was interrupted (or an `up` that was) finishes the work when run again.
//
// Unregistering the removed broker ids happens after the StatefulSet has shrunk, in
// `kafka-ready cluster` (a running broker would register itself again).

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

const (
	apiListPartitionReassignments = 46
	apiDescribeCluster            = 60
	apiUnregisterBroker           = 64

	listReassignmentsVersion = 0
	describeClusterVersion   = 2
	unregisterBrokerVersion  = 0

	opDelete = 1

	// errBrokerIDNotRegistered answers UnregisterBroker for an id that is not (or no longer) registered.
	errBrokerIDNotRegistered = 102
)

// throttleKeys are the configs scale-down sets while it moves replicas and clears afterwards. The
// rates are cluster-wide broker defaults; the throttled replicas are "*" on the topics it moves:
// Kafka throttles only replicas that are not in the ISR, so live replication is never slowed.
var (
	throttleRateKeys     = []string{"leader.replication.throttled.rate", "follower.replication.throttled.rate"}
	throttleReplicasKeys = []string{"leader.replication.throttled.replicas", "follower.replication.throttled.replicas"}
)

// planScaleDown returns, for every partition with a replica on a removed broker (id >= keep), its
// replica list with each removed replica replaced by a remaining broker not in the list yet: the
// least loaded one (replicas it would hold over the whole cluster so far), ties to the lowest id.
// The replacement takes the removed replica's position, so a removed preferred leader is replaced
// as preferred leader and the others keep theirs. Partitions in skip ("topic-partition") are left
// out. Topics with more replicas than brokers would remain cannot shrink: they are returned in
// tooWide with their replication factor, and none of their partitions is planned. The plan is
// sorted by topic and partition.
func planScaleDown(parts []Partition, keep int32, skip map[string]bool) (plan []Reassignment, tooWide map[string]int) {
	sorted := append([]Partition(nil), parts...)
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i].Topic != sorted[j].Topic {
			return sorted[i].Topic < sorted[j].Topic
		}
		return sorted[i].Index < sorted[j].Index
	})
	load := make([]int, keep)
	tooWide = map[string]int{}
	for _, p := range sorted {
		for _, id := range p.Replicas {
			if id >= 0 && id < keep {
				load[id]++
			}
		}
		if len(p.Replicas) > int(keep) && hasRemoved(p.Replicas, keep) {
			tooWide[p.Topic] = max(tooWide[p.Topic], len(p.Replicas))
		}
	}
	for _, p := range sorted {
		if tooWide[p.Topic] > 0 || skip[partitionKey(p.Topic, p.Index)] || !hasRemoved(p.Replicas, keep) {
			continue
		}
		target := append([]int32(nil), p.Replicas...)
		for i, id := range target {
			if id < keep {
				continue
			}
			best := int32(-1)
			for cand := int32(0); cand < keep; cand++ {
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
		plan = append(plan, Reassignment{Topic: p.Topic, Partition: p.Index, Replicas: target})
	}
	return plan, tooWide
}

func hasRemoved(ids []int32, keep int32) bool {
	for _, id := range ids {
		if id >= keep {
			return true
		}
	}
	return false
}

func partitionKey(topic string, p int32) string { return fmt.Sprintf("%s-%d", topic, p) }

// scaleDownCommand is `kafka-ready scale-down`; it returns the exit code.
func scaleDownCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kafka-ready scale-down", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		bootstrap = fs.String("bootstrap", "", "broker addresses host:port,... (required)")
		keep      = fs.Int("keep", 0, "brokers that remain: node ids 0..keep-1 stay, every higher id is emptied (required, at least 1)")
		throttle  = fs.Int64("throttle", 0, "bytes per second per broker for the copies (0: unthrottled)")
		timeout   = fs.Duration("timeout", 20*time.Minute, "deadline of the whole command")
		request   = fs.Duration("request-timeout", 10*time.Second, "deadline of each request")
	)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: kafka-ready scale-down -bootstrap host:port,... -keep N [-throttle BYTES]\n\n"+
			"Moves every partition replica off the brokers with node id N and up, throttled, and waits\n"+
			"until the moved partitions are fully in sync. Refuses (changing nothing) when a topic has\n"+
			"more replicas than N. Idempotent and resumable.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *bootstrap == "" || *keep < 1 || *throttle < 0 {
		fmt.Fprintln(stderr, "kafka-ready scale-down: -bootstrap and -keep (at least 1) are required; -throttle must not be negative")
		return 2
	}
	c := &clusterRun{
		addrs: strings.Split(*bootstrap, ","), request: *request,
		deadline: time.Now().Add(*timeout), out: stdout, name: "scale-down",
	}
	if err := c.scaleDown(int32(*keep), *throttle); err != nil {
		fmt.Fprintf(stdout, "kafka-ready scale-down: FAILED: %v\n", err)
		return 1
	}
	return 0
}

// ongoingReassignment is one partition reassignment in progress (ListPartitionReassignments).
type ongoingReassignment struct {
	Topic     string
	Partition int32
	Replicas  []int32
	Adding    []int32
	Removing  []int32
}

// scaleDown runs the command (see the package comment of this file).
func (c *clusterRun) scaleDown(keep int32, throttle int64) error {
	c.start = time.Now()
	var md *Metadata
	var ongoing []ongoingReassignment
	if err := c.until("reading the cluster", time.Second, func() (bool, string, error) {
		var err error
		if md, err = c.metadata(); err != nil {
			return false, "", err
		}
		ongoing, err = c.listReassignments()
		return err == nil, "", err
	}); err != nil {
		return err
	}
	// The refusal counts the replicas each partition ends with (an ongoing reassignment's removing
	// replicas are on their way out).
	_, tooWide := planScaleDown(settledPartitions(md.Partitions, ongoing), keep, nil)
	if len(tooWide) > 0 {
		var topics []string
		for t, rf := range tooWide {
			topics = append(topics, fmt.Sprintf("%s (replication factor %d)", t, rf))
		}
		sort.Strings(topics)
		return fmt.Errorf("refused, nothing was moved: %d brokers would remain, fewer than the replicas of %s; "+
			"lower those topics' replication factor or keep more brokers", keep, strings.Join(topics, ", "))
	}
	total, _ := planScaleDown(md.Partitions, keep, nil)
	c.logf("brokers %d and up are removed: %d partitions have replicas on them, %d reassignments already in progress",
		keep, len(total), len(ongoing))

	touched := map[string]bool{}
	for _, r := range total {
		touched[r.Topic] = true
	}
	for _, o := range ongoing {
		touched[o.Topic] = true
	}
	if throttle > 0 && len(touched) > 0 {
		if err := c.setThrottles(throttle, touched); err != nil {
			return err
		}
	}
	moved := 0
	err := c.until("moving replicas off the removed brokers", time.Second, func() (bool, string, error) {
		m, err := c.metadata()
		if err != nil {
			return false, "", err
		}
		on, err := c.listReassignments()
		if err != nil {
			return false, "", err
		}
		skip := map[string]bool{}
		for _, o := range on {
			skip[partitionKey(o.Topic, o.Partition)] = true
		}
		plan, wide := planScaleDown(settledPartitions(m.Partitions, on), keep, skip)
		if len(wide) > 0 {
			return false, "", fmt.Errorf("a topic grew past the remaining brokers meanwhile: %v", wide)
		}
		if len(plan) > 0 {
			for _, r := range plan {
				touched[r.Topic] = true
			}
			if throttle > 0 {
				if err := c.setThrottles(throttle, touched); err != nil {
					return false, "", err
				}
			}
			if err := c.alterReassignments(plan); err != nil {
				return false, "", err
			}
			moved += len(plan)
			c.logf("reassigning %d partitions: %s", len(plan), describePlan(plan, 5))
			return false, fmt.Sprintf("%d reassignments started", len(plan)), nil
		}
		left, unsynced := 0, 0
		for _, p := range m.Partitions {
			if hasRemoved(p.Replicas, keep) {
				left++
			} else if len(p.ISR) < len(p.Replicas) && touched[p.Topic] {
				unsynced++
			}
		}
		state := fmt.Sprintf("%d of %d partitions still on removed brokers, %d reassignments in progress, %d moved partitions not fully in sync",
			left, len(total), len(on), unsynced)
		return left == 0 && len(on) == 0 && unsynced == 0, state, nil
	})
	if err != nil {
		return err
	}
	if throttle > 0 && len(touched) > 0 {
		if err := c.clearThrottles(touched); err != nil {
			return err
		}
	}
	c.logf("done: %d partitions moved off brokers %d and up in %.1fs", moved, keep, time.Since(c.start).Seconds())
	return nil
}

// settledPartitions returns parts with each ongoing reassignment's removing replicas left out: the
// replicas the partition ends with.
func settledPartitions(parts []Partition, ongoing []ongoingReassignment) []Partition {
	removing := map[string][]int32{}
	for _, o := range ongoing {
		removing[partitionKey(o.Topic, o.Partition)] = o.Removing
	}
	out := make([]Partition, 0, len(parts))
	for _, p := range parts {
		if r := removing[partitionKey(p.Topic, p.Index)]; len(r) > 0 {
			var keepIDs []int32
			for _, id := range p.Replicas {
				if !contains(r, id) {
					keepIDs = append(keepIDs, id)
				}
			}
			p.Replicas = keepIDs
		}
		out = append(out, p)
	}
	return out
}

// describePlan prints the first n reassignments of a plan.
func describePlan(plan []Reassignment, n int) string {
	var parts []string
	for i, r := range plan {
		if i == n {
			parts = append(parts, fmt.Sprintf("and %d more", len(plan)-n))
			break
		}
		parts = append(parts, fmt.Sprintf("%s -> %v", partitionKey(r.Topic, r.Partition), r.Replicas))
	}
	return strings.Join(parts, ", ")
}

func (c *clusterRun) listReassignments() ([]ongoingReassignment, error) {
	b, err := c.call(apiListPartitionReassignments, listReassignmentsVersion, encodeListReassignmentsRequest(int32(c.request.Milliseconds())))
	if err != nil {
		return nil, err
	}
	return decodeListReassignmentsResponse(b)
}

func (c *clusterRun) alterReassignments(plan []Reassignment) error {
	b, err := c.call(apiAlterPartitionReassignment, alterReassignmentsVersion, encodeAlterReassignmentsRequest(int32(c.request.Milliseconds()), plan))
	if err != nil {
		return err
	}
	return decodeAlterReassignmentsResponse(b)
}

// setThrottles sets the cluster-wide throttle rates and marks every replica of topics throttled
// (only replicas outside the ISR are slowed: the copies).
func (c *clusterRun) setThrottles(rate int64, topics map[string]bool) error {
	rates := map[string]string{}
	for _, k := range throttleRateKeys {
		rates[k] = fmt.Sprint(rate)
	}
	if err := c.alterConfigs(resourceBroker, "", configOps(opSet, rates)); err != nil {
		return fmt.Errorf("throttle rate: %w", err)
	}
	for _, t := range sortedKeys(topics) {
		all := map[string]string{}
		for _, k := range throttleReplicasKeys {
			all[k] = "*"
		}
		if err := c.alterConfigs(resourceTopic, t, configOps(opSet, all)); err != nil {
			return fmt.Errorf("throttled replicas of %s: %w", t, err)
		}
	}
	return nil
}

// clearThrottles removes what setThrottles set.
func (c *clusterRun) clearThrottles(topics map[string]bool) error {
	del := func(keys []string) []configOp {
		m := map[string]string{}
		for _, k := range keys {
			m[k] = ""
		}
		return configOps(opDelete, m)
	}
	if err := c.alterConfigs(resourceBroker, "", del(throttleRateKeys)); err != nil {
		return fmt.Errorf("clearing the throttle rate: %w", err)
	}
	for _, t := range sortedKeys(topics) {
		if err := c.alterConfigs(resourceTopic, t, del(throttleReplicasKeys)); err != nil {
			return fmt.Errorf("clearing the throttled replicas of %s: %w", t, err)
		}
	}
	c.logf("throttles cleared")
	return nil
}

func (c *clusterRun) alterConfigs(resourceType int8, name string, ops []configOp) error {
	b, err := c.call(apiIncrementalAlterConfigs, incrementalAlterConfigsVersion, encodeAlterConfigOpsRequest(resourceType, name, ops))
	if err != nil {
		return err
	}
	return decodeIncrementalAlterConfigsResponse(b)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// registeredBroker is one broker of a DescribeCluster response.
type registeredBroker struct {
	ID     int32
	Fenced bool
}

// unregisterRemoved unregisters every registered broker with an id of brokers or more (ordinals a
// scale-down removed), once it is fenced (its pod has stopped): a removed broker stays registered
// (fenced) in the metadata otherwise, and its id would look like a broker that is down.
func (c *clusterRun) unregisterRemoved(brokers int32) error {
	return c.until(fmt.Sprintf("unregistering removed brokers (ids %d and up)", brokers), time.Second, func() (bool, string, error) {
		b, err := c.call(apiDescribeCluster, describeClusterVersion, encodeDescribeClusterRequest())
		if err != nil {
			return false, "", err
		}
		regs, err := decodeDescribeClusterResponse(b)
		if err != nil {
			return false, "", err
		}
		var running []string
		for _, r := range regs {
			if r.ID < brokers {
				continue
			}
			if !r.Fenced {
				running = append(running, fmt.Sprint(r.ID))
				continue
			}
			b, err := c.call(apiUnregisterBroker, unregisterBrokerVersion, encodeUnregisterBrokerRequest(r.ID))
			if err != nil {
				return false, "", err
			}
			if err := decodeUnregisterBrokerResponse(b); err != nil {
				return false, "", fmt.Errorf("unregister broker %d: %w", r.ID, err)
			}
			c.logf("broker %d unregistered", r.ID)
		}
		if len(running) > 0 {
			return false, fmt.Sprintf("broker(s) %s still running (not fenced yet)", strings.Join(running, ", ")), nil
		}
		return true, "", nil
	})
}

// --- wire: ListPartitionReassignments v0, DescribeCluster v2, UnregisterBroker v0 (all flexible) ---

func encodeListReassignmentsRequest(timeoutMs int32) []byte {
	var e encoder
	e.int32(timeoutMs)
	e.nullCompactArray() // topics: null = every reassignment in progress
	e.emptyTags()
	return e.b
}

func decodeListReassignmentsResponse(b []byte) ([]ongoingReassignment, error) {
	d := &decoder{b: b}
	d.int32() // throttle_time_ms
	code := d.int16()
	msg := d.compactString()
	if code != 0 && d.err == nil {
		return nil, fmt.Errorf("list partition reassignments: %w %d (%s): %s", errNotAnswered, code, errorName(code), msg)
	}
	var out []ongoingReassignment
	for i, n := 0, d.compactArrayLen(); i < n && d.err == nil; i++ {
		topic := d.compactString()
		for j, m := 0, d.compactArrayLen(); j < m && d.err == nil; j++ {
			o := ongoingReassignment{Topic: topic}
			o.Partition = d.int32()
			o.Replicas = d.int32Array()
			o.Adding = d.int32Array()
			o.Removing = d.int32Array()
			d.skipTags()
			out = append(out, o)
		}
		d.skipTags()
	}
	d.skipTags()
	if d.err != nil {
		return nil, fmt.Errorf("list partition reassignments v%d: %w", listReassignmentsVersion, d.err)
	}
	return out, nil
}

func encodeDescribeClusterRequest() []byte {
	var e encoder
	e.bool(false) // include_cluster_authorized_operations
	e.int8(1)     // endpoint_type: brokers
	e.bool(true)  // include_fenced_brokers
	e.emptyTags()
	return e.b
}

func decodeDescribeClusterResponse(b []byte) ([]registeredBroker, error) {
	d := &decoder{b: b}
	d.int32() // throttle_time_ms
	code := d.int16()
	msg := d.compactString()
	if code != 0 && d.err == nil {
		return nil, fmt.Errorf("describe cluster: %w %d (%s): %s", errNotAnswered, code, errorName(code), msg)
	}
	d.int8()          // endpoint_type
	d.compactString() // cluster_id
	d.int32()         // controller_id
	var out []registeredBroker
	for i, n := 0, d.compactArrayLen(); i < n && d.err == nil; i++ {
		var r registeredBroker
		r.ID = d.int32()
		d.compactString() // host
		d.int32()         // port
		d.compactString() // rack
		r.Fenced = d.bool()
		d.skipTags()
		out = append(out, r)
	}
	d.int32() // cluster_authorized_operations
	d.skipTags()
	if d.err != nil {
		return nil, fmt.Errorf("describe cluster v%d: %w", describeClusterVersion, d.err)
	}
	return out, nil
}

func encodeUnregisterBrokerRequest(id int32) []byte {
	var e encoder
	e.int32(id)
	e.emptyTags()
	return e.b
}

// decodeUnregisterBrokerResponse accepts "not registered": the id is gone either way.
func decodeUnregisterBrokerResponse(b []byte) error {
	d := &decoder{b: b}
	d.int32() // throttle_time_ms
	code := d.int16()
	msg := d.compactString()
	d.skipTags()
	if d.err != nil {
		return fmt.Errorf("unregister broker v%d: %w", unregisterBrokerVersion, d.err)
	}
	if code != 0 && code != errBrokerIDNotRegistered {
		return fmt.Errorf("%w %d (%s): %s", errNotAnswered, code, errorName(code), msg)
	}
	return nil
}
