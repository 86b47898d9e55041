package main

// `kafka-ready cluster` brings the settings that a running cluster does not take from
// server.properties to what the stack says. KraftCluster runs it as a Job after every change of
// them, once the StatefulSet is Ready:
//
//   - brokers removed by a scale-down (node ids -brokers and up) are unregistered once their pods
//     have stopped (unregister.go; the program moved their replicas away before).
//   - cluster-wide dynamic defaults. Kafka 4.x (eligible leader replicas, KIP-966) stores
//     min.insync.replicas as a cluster-level dynamic config when storage is formatted; from then on
//     it wins over every broker's server.properties. A cluster formatted with one node keeps 1 after
//     growing to three, so acks=all would be acknowledged by a single replica. The command sets each
//     given key as the cluster default (IncrementalAlterConfigs on the broker resource "") and reads
//     it back (DescribeConfigs).
//   - internal topics created on a smaller cluster (__consumer_offsets, __transaction_state) keep
//     the replication factor they were created with. The command adds replicas by partition
//     reassignment, leaders untouched, and waits until every new replica is in the ISR.

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"
)

// internalTopics are the topics whose replication factor follows the cluster's size.
var internalTopics = []string{"__consumer_offsets", "__transaction_state"}

// planReplicationFactor returns, for every partition of topics with fewer than rf replicas, the
// replica list with replicas added from brokers (sorted ids): current replicas first, in their order,
// so the leader and the preferred leader stay; new ones chosen round-robin from the partition index
// so that they spread over the brokers. rf is capped at the broker count. The result is sorted by
// topic and partition.
func planReplicationFactor(parts []Partition, topics []string, brokers []int32, rf int) []Reassignment {
	rf = min(rf, len(brokers))
	ids := append([]int32(nil), brokers...)
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	want := map[string]bool{}
	for _, t := range topics {
		want[t] = true
	}
	var plan []Reassignment
	for _, p := range parts {
		if !want[p.Topic] || len(p.Replicas) >= rf {
			continue
		}
		target := append([]int32(nil), p.Replicas...)
		var candidates []int32
		for _, id := range ids {
			if !contains(target, id) {
				candidates = append(candidates, id)
			}
		}
		for k := 0; len(target) < rf && k < len(candidates); k++ {
			target = append(target, candidates[(int(p.Index)+k)%len(candidates)])
		}
		// A pick can repeat when it wraps around: take the candidates in order instead.
		target = dedupeFill(target, candidates, rf)
		plan = append(plan, Reassignment{Topic: p.Topic, Partition: p.Index, Replicas: target})
	}
	sort.Slice(plan, func(i, j int) bool {
		if plan[i].Topic != plan[j].Topic {
			return plan[i].Topic < plan[j].Topic
		}
		return plan[i].Partition < plan[j].Partition
	})
	return plan
}

// dedupeFill drops repeated ids from target and fills it up to rf from candidates.
func dedupeFill(target, candidates []int32, rf int) []int32 {
	var out []int32
	for _, id := range target {
		if !contains(out, id) {
			out = append(out, id)
		}
	}
	for _, id := range candidates {
		if len(out) >= rf {
			break
		}
		if !contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// reassignmentDone reports how many planned partitions have exactly their target replicas, all in
// the ISR.
func reassignmentDone(plan []Reassignment, md *Metadata) int {
	have := map[string]Partition{}
	for _, p := range md.Partitions {
		have[fmt.Sprintf("%s-%d", p.Topic, p.Index)] = p
	}
	done := 0
	for _, r := range plan {
		p, ok := have[fmt.Sprintf("%s-%d", r.Topic, r.Partition)]
		if !ok || len(p.Replicas) != len(r.Replicas) || len(p.ISR) != len(r.Replicas) {
			continue
		}
		all := true
		for _, id := range r.Replicas {
			all = all && contains(p.Replicas, id) && contains(p.ISR, id)
		}
		if all {
			done++
		}
	}
	return done
}

// keyValues is a repeatable -set key=value flag.
type keyValues map[string]string

func (kv keyValues) String() string { return fmt.Sprint(map[string]string(kv)) }
func (kv keyValues) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("want key=value, got %q", s)
	}
	kv[strings.TrimSpace(k)] = strings.TrimSpace(v)
	return nil
}

// clusterCommand is `kafka-ready cluster`; it returns the exit code.
func clusterCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kafka-ready cluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	set := keyValues{}
	var (
		bootstrap  = fs.String("bootstrap", "", "broker addresses host:port,... (required)")
		brokers    = fs.Int("brokers", 0, "number of brokers to wait for before changing anything (required, at least 1)")
		internalRF = fs.Int("internal-rf", 0, "replication factor of the internal topics (capped at -brokers); 0 leaves them alone")
		timeout    = fs.Duration("timeout", 10*time.Minute, "deadline of the whole command")
		request    = fs.Duration("request-timeout", 10*time.Second, "deadline of each request")
		tlsCADir   = fs.String("tls-ca-dir", "", "speak TLS with a client certificate issued from ca.crt/ca.key in this directory")
		usersFile  = fs.String("users", "", "JSON file of SCRAM users and their ACLs to make the cluster's (see users.go)")
	)
	fs.Var(set, "set", "cluster-wide broker config default key=value (repeatable)")
	features := featureTargets{}
	fs.Var(features, "feature", "finalized feature level name=level to raise to once every broker supports it (repeatable; never lowered)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: kafka-ready cluster -bootstrap host:port,... -brokers N [-set key=value ...] [-internal-rf N]\n\n"+
			"Sets cluster-wide broker config defaults and raises the internal topics' replication factor,\n"+
			"then reads both back. Idempotent: what is already right is left alone.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *bootstrap == "" || *brokers < 1 {
		fmt.Fprintln(stderr, "kafka-ready cluster: -bootstrap and -brokers (at least 1) are required")
		return 2
	}
	c := &clusterRun{
		addrs: strings.Split(*bootstrap, ","), brokers: *brokers, request: *request,
		deadline: time.Now().Add(*timeout), out: stdout, name: "cluster",
	}
	if *tlsCADir != "" {
		cfg, err := selfIssuedTLS(*tlsCADir, 24*time.Hour)
		if err != nil {
			fmt.Fprintf(stdout, "kafka-ready cluster: FAILED: client certificate: %v\n", err)
			return 1
		}
		tlsConfig = cfg
	}
	if *usersFile != "" {
		users, err := readUsers(*usersFile)
		if err != nil {
			fmt.Fprintf(stdout, "kafka-ready cluster: FAILED: %v\n", err)
			return 1
		}
		c.users = users
	}
	if err := c.run(set, *internalRF, features); err != nil {
		fmt.Fprintf(stdout, "kafka-ready cluster: FAILED: %v\n", err)
		return 1
	}
	return 0
}

type clusterRun struct {
	name     string // subcommand, in log lines
	addrs    []string
	brokers  int
	request  time.Duration
	deadline time.Time
	out      io.Writer
	start    time.Time
	// users, when set, are made the cluster's SCRAM users and ACLs (users.go).
	users map[string]UserSpec
}

func (c *clusterRun) logf(format string, args ...any) {
	fmt.Fprintf(c.out, "[kafka-ready %s +%4.1fs] %s\n", c.name, time.Since(c.start).Seconds(), fmt.Sprintf(format, args...))
}

// call sends one request to the first bootstrap address that answers.
func (c *clusterRun) call(apiKey, version int16, body []byte) ([]byte, error) {
	var errs []string
	for _, addr := range c.addrs {
		resp, err := roundTrip(strings.TrimSpace(addr), c.request, apiKey, version, body)
		if err == nil {
			return resp, nil
		}
		errs = append(errs, fmt.Sprintf("%s: %v", addr, err))
	}
	return nil, fmt.Errorf("no broker answered: %s", strings.Join(errs, "; "))
}

// callController sends one request to the broker the metadata names as controller: the requests
// that change the metadata (SCRAM credentials, ACLs) are forwarded from there to the active KRaft
// controller, and kfake answers them only there. Falls back to call when it names none.
func (c *clusterRun) callController(apiKey, version int16, body []byte) ([]byte, error) {
	md, err := c.metadata()
	if err != nil {
		return nil, err
	}
	for _, b := range md.Brokers {
		if b.ID == md.Controller {
			return roundTrip(net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port))), c.request, apiKey, version, body)
		}
	}
	return c.call(apiKey, version, body)
}

func (c *clusterRun) metadata() (*Metadata, error) {
	b, err := c.call(apiMetadata, metadataVersion, encodeMetadataRequest())
	if err != nil {
		return nil, err
	}
	return decodeMetadataResponse(b)
}

// until polls fn every interval until it reports done or the deadline passes.
func (c *clusterRun) until(what string, every time.Duration, fn func() (bool, string, error)) error {
	last := time.Time{}
	for {
		done, state, err := fn()
		if err == nil && done {
			return nil
		}
		if err != nil {
			state = err.Error()
		}
		if time.Now().After(c.deadline) {
			return fmt.Errorf("%s: gave up at the deadline: %s", what, state)
		}
		if time.Since(last) >= 5*time.Second {
			c.logf("%s: %s", what, state)
			last = time.Now()
		}
		time.Sleep(every)
	}
}

func (c *clusterRun) run(set map[string]string, internalRF int, features featureTargets) error {
	c.start = time.Now()
	var md *Metadata
	if err := c.until(fmt.Sprintf("waiting for %d brokers", c.brokers), time.Second, func() (bool, string, error) {
		m, err := c.metadata()
		if err != nil {
			return false, "", err
		}
		md = m
		return len(m.Brokers) >= c.brokers, fmt.Sprintf("%d registered", len(m.Brokers)), nil
	}); err != nil {
		return err
	}
	c.logf("%d brokers registered", len(md.Brokers))
	// Brokers a scale-down removed stay registered (fenced) until unregistered.
	if err := c.unregisterRemoved(int32(c.brokers)); err != nil {
		return err
	}

	// Features first: a newer metadata.version may be what the settings below need.
	if len(features) > 0 {
		if err := c.raiseFeatures(features); err != nil {
			return err
		}
	}

	// Internal topics first: __consumer_offsets at RF 1 under a cluster default of
	// min.insync.replicas 2 would refuse every offset commit.
	if internalRF > 0 {
		if err := c.raiseInternalRF(md, internalRF); err != nil {
			return err
		}
	}
	if v, ok := set["min.insync.replicas"]; ok {
		if err := c.keepSmallTopicsWritable(md, v); err != nil {
			return err
		}
	}
	if len(set) > 0 {
		if err := c.applyDefaults(set); err != nil {
			return err
		}
	}
	if c.users != nil {
		if err := c.syncUsers(c.users); err != nil {
			return err
		}
	}
	c.logf("done")
	return nil
}

// applyDefaults sets the cluster-wide defaults that differ and reads every one back.
func (c *clusterRun) applyDefaults(set map[string]string) error {
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	describe := func() (map[string]ConfigValue, error) {
		b, err := c.call(apiDescribeConfigs, describeConfigsVersion, encodeDescribeConfigsRequest(resourceBroker, "", keys))
		if err != nil {
			return nil, err
		}
		vals, err := decodeDescribeConfigsResponse(b)
		if err != nil {
			return nil, err
		}
		out := map[string]ConfigValue{}
		for _, v := range vals {
			out[v.Name] = v
		}
		return out, nil
	}
	have, err := describe()
	if err != nil {
		return fmt.Errorf("read cluster defaults: %w", err)
	}
	var change []string
	for _, k := range keys {
		h, ok := have[k]
		if !ok || h.Null || h.Value != set[k] {
			was := "unset"
			if ok && !h.Null {
				was = fmt.Sprintf("%s (%s)", h.Value, configSourceName(h.Source))
			}
			c.logf("cluster default %s: %s -> %s", k, was, set[k])
			change = append(change, k)
		} else {
			c.logf("cluster default %s = %s already", k, h.Value)
		}
	}
	if len(change) > 0 {
		b, err := c.call(apiIncrementalAlterConfigs, incrementalAlterConfigsVersion, encodeIncrementalAlterConfigsRequest(resourceBroker, "", set, change))
		if err != nil {
			return fmt.Errorf("set cluster defaults %v: %w", change, err)
		}
		if err := decodeIncrementalAlterConfigsResponse(b); err != nil {
			return err
		}
	}
	// Read back: the defaults in force are the ones asked for.
	return c.until("reading the cluster defaults back", time.Second, func() (bool, string, error) {
		have, err := describe()
		if err != nil {
			return false, "", err
		}
		var wrong []string
		for _, k := range keys {
			if h := have[k]; h.Null || h.Value != set[k] {
				wrong = append(wrong, fmt.Sprintf("%s=%q", k, h.Value))
			}
		}
		if len(wrong) > 0 {
			return false, "still " + strings.Join(wrong, ", "), nil
		}
		for _, k := range keys {
			c.logf("cluster default %s = %s (%s) in force", k, have[k].Value, configSourceName(have[k].Source))
		}
		return true, "", nil
	})
}

// pinnedTopics returns the topics (not the internal topics raiseInternalRF handles, nor the
// metadata log) that have fewer replicas than minISR, with their replication factor: under a
// cluster default of minISR they would refuse every acks=all write.
func pinnedTopics(md *Metadata, minISR int) map[string]int {
	rf := map[string]int{}
	for _, p := range md.Partitions {
		if containsString(internalTopics, p.Topic) || p.Topic == metadataTopic {
			continue
		}
		if n := len(p.Replicas); n > 0 && (rf[p.Topic] == 0 || n < rf[p.Topic]) {
			rf[p.Topic] = n
		}
	}
	for t, n := range rf {
		if n >= minISR {
			delete(rf, t)
		}
	}
	return rf
}

// keepSmallTopicsWritable gives every topic with fewer replicas than the new min.insync.replicas a
// topic-level min.insync.replicas equal to its replication factor, unless it has its own setting
// already: existing topics keep taking acks=all writes with the durability they were created with.
// Raising their replication factor (partition reassignment) is the user's call.
func (c *clusterRun) keepSmallTopicsWritable(md *Metadata, value string) error {
	minISR, err := strconv.Atoi(value)
	if err != nil {
		return fmt.Errorf("min.insync.replicas %q is not a number", value)
	}
	small := pinnedTopics(md, minISR)
	names := make([]string, 0, len(small))
	for t := range small {
		names = append(names, t)
	}
	sort.Strings(names)
	for _, topic := range names {
		b, err := c.call(apiDescribeConfigs, describeConfigsVersion, encodeDescribeConfigsRequest(resourceTopic, topic, []string{"min.insync.replicas"}))
		if err != nil {
			return fmt.Errorf("topic %s: %w", topic, err)
		}
		vals, err := decodeDescribeConfigsResponse(b)
		if err != nil {
			return fmt.Errorf("topic %s: %w", topic, err)
		}
		if len(vals) == 1 && vals[0].Source == 1 { // DYNAMIC_TOPIC_CONFIG: the user decided
			c.logf("topic %s (replication factor %d) has its own min.insync.replicas=%s; left alone", topic, small[topic], vals[0].Value)
			continue
		}
		pin := strconv.Itoa(small[topic])
		b, err = c.call(apiIncrementalAlterConfigs, incrementalAlterConfigsVersion,
			encodeIncrementalAlterConfigsRequest(resourceTopic, topic, map[string]string{"min.insync.replicas": pin}, []string{"min.insync.replicas"}))
		if err != nil {
			return fmt.Errorf("topic %s: %w", topic, err)
		}
		if err := decodeIncrementalAlterConfigsResponse(b); err != nil {
			return err
		}
		c.logf("topic %s has replication factor %d < min.insync.replicas %d: set its own min.insync.replicas=%s so acks=all writes keep working (raise its replication factor to get the cluster's durability)",
			topic, small[topic], minISR, pin)
	}
	return nil
}

// raiseInternalRF reassigns internal-topic partitions that have fewer replicas than rf.
func (c *clusterRun) raiseInternalRF(md *Metadata, rf int) error {
	ids := make([]int32, 0, len(md.Brokers))
	for _, b := range md.Brokers {
		ids = append(ids, b.ID)
	}
	plan := planReplicationFactor(md.Partitions, internalTopics, ids, rf)
	if len(plan) == 0 {
		// A reassignment an earlier attempt started may still be running: its target replicas are
		// listed already, but not all in the ISR. Wait for them before min.insync.replicas rises.
		return c.until("waiting for the internal topics' replicas to be in sync", time.Second, func() (bool, string, error) {
			m, err := c.metadata()
			if err != nil {
				return false, "", err
			}
			behind := 0
			for _, p := range m.Partitions {
				if containsString(internalTopics, p.Topic) && len(p.ISR) < len(p.Replicas) {
					behind++
				}
			}
			if behind == 0 {
				c.logf("internal topics have replication factor %d, all in sync (or are not created yet)", min(rf, len(ids)))
				return true, "", nil
			}
			return false, fmt.Sprintf("%d partitions with replicas outside the ISR", behind), nil
		})
	}
	c.logf("raising the replication factor of %d internal-topic partitions to %d (first: %s-%d -> %v)",
		len(plan), min(rf, len(ids)), plan[0].Topic, plan[0].Partition, plan[0].Replicas)
	b, err := c.call(apiAlterPartitionReassignment, alterReassignmentsVersion, encodeAlterReassignmentsRequest(int32(c.request/time.Millisecond), plan))
	if err != nil {
		return fmt.Errorf("reassign internal topics: %w", err)
	}
	if err := decodeAlterReassignmentsResponse(b); err != nil {
		return err
	}
	return c.until("waiting for the new replicas to join the ISR", time.Second, func() (bool, string, error) {
		m, err := c.metadata()
		if err != nil {
			return false, "", err
		}
		done := reassignmentDone(plan, m)
		if done == len(plan) {
			c.logf("all %d partitions have %d in-sync replicas", len(plan), min(rf, len(ids)))
			return true, "", nil
		}
		return false, strconv.Itoa(done) + "/" + strconv.Itoa(len(plan)) + " partitions done", nil
	})
}

// containsString reports whether list holds s.
func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
