//go:build e2e

package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/segmentio/kafka-go"

	"github.com/kafka-kraft/kafka-kraft/components/kcatclient"
	"github.com/kafka-kraft/kafka-kraft/internal/delivery"
	"github.com/kafka-kraft/kafka-kraft/internal/deployer"
	"github.com/kafka-kraft/kafka-kraft/internal/kraft"
	"github.com/kafka-kraft/kafka-kraft/internal/smoke"
	"github.com/kafka-kraft/kafka-kraft/internal/stack"
)

// The change matrix of issue 8: every class of change the program accepts, applied with
// `pulumi config set` + `up` to the running cluster, most of them under a live acks=all producer
// (smoke.Load: RF 3, min.insync.replicas 2) whose every acknowledged record is read back after.

const (
	loadRate  = 500 // records per second of the live producer
	loadTopic = "e2e-load"
	// growthTopic and growthGroup are created on the one-node cluster, before it grows.
	growthTopic = "e2e-growth"
	growthGroup = "e2e-growth-group"
	// The matrix moves the stack to these ports (clear of the user defaults and of the e2e ones).
	e2eMovedNodePortBase  = 31290
	e2eMovedRegistryPort  = 31591
	stsKey                = "kubernetes:apps/v1:StatefulSet kafka"
	rollSettleTimeout     = 5 * time.Minute
	killRecoveryTimeout   = 5 * time.Minute
	loadAcksAfterRecovery = 300
)

// podState is one Kafka pod as the API server reports it.
type podState struct {
	Name, UID, Node string
	Created         time.Time
	Ready           bool
	ReadySince      time.Time // lastTransitionTime of the Ready condition
	Restarts        int
	Waiting         string // a container's waiting reason (CrashLoopBackOff, ...)
}

// kafkaPods returns the StatefulSet's pods by name.
func kafkaPods(ctx context.Context, ns string) (map[string]podState, error) {
	out, err := kubectl(ctx, "-n", ns, "get", "pods", "-l", "app.kubernetes.io/name="+kraft.StatefulSetName, "-o", "json")
	if err != nil {
		return nil, err
	}
	var list struct {
		Items []struct {
			Metadata struct {
				Name, UID         string
				CreationTimestamp time.Time
			}
			Spec   struct{ NodeName string }
			Status struct {
				Conditions []struct {
					Type, Status       string
					LastTransitionTime time.Time
				}
				ContainerStatuses []struct {
					RestartCount int
					State        struct {
						Waiting *struct{ Reason string }
					}
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		return nil, fmt.Errorf("pods of %s: %w", ns, err)
	}
	pods := map[string]podState{}
	for _, it := range list.Items {
		p := podState{Name: it.Metadata.Name, UID: it.Metadata.UID, Node: it.Spec.NodeName, Created: it.Metadata.CreationTimestamp}
		for _, c := range it.Status.Conditions {
			if c.Type == "Ready" {
				p.Ready, p.ReadySince = c.Status == "True", c.LastTransitionTime
			}
		}
		for _, cs := range it.Status.ContainerStatuses {
			p.Restarts += cs.RestartCount
			if cs.State.Waiting != nil {
				p.Waiting = cs.State.Waiting.Reason
			}
		}
		pods[p.Name] = p
	}
	return pods, nil
}

// podWatch samples the Kafka pods every half second while a change runs and remembers, per pod
// uid, when it was first seen Ready (the Ready condition's transition time at that sample): a pod
// may turn unready later (it dropped out of an ISR for a moment), and the roll check needs the time
// it first became Ready after its restart.
type podWatch struct {
	mu         sync.Mutex
	firstReady map[string]time.Time // uid -> first Ready transition seen
	cancel     context.CancelFunc
	done       chan struct{}
}

func watchPods(ctx context.Context, ns string) *podWatch {
	ctx, cancel := context.WithCancel(ctx)
	w := &podWatch{firstReady: map[string]time.Time{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for ctx.Err() == nil {
			if pods, err := kafkaPods(ctx, ns); err == nil {
				w.mu.Lock()
				for _, p := range pods {
					if _, seen := w.firstReady[p.UID]; !seen && p.Ready {
						w.firstReady[p.UID] = p.ReadySince
					}
				}
				w.mu.Unlock()
			}
			select {
			case <-ctx.Done():
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	return w
}

// stop ends the watch and returns the first Ready time per pod uid.
func (w *podWatch) stop() map[string]time.Time {
	w.cancel()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.firstReady
}

// waitPod waits until the Kafka pod name is in a state ok accepts and returns that state.
func waitPod(ctx context.Context, ns, name string, timeout time.Duration, what string, ok func(podState) bool) (podState, error) {
	var p podState
	err := eventually(ctx, timeout, time.Second, name+" "+what, func(ctx context.Context) error {
		pods, err := kafkaPods(ctx, ns)
		if err != nil {
			return err
		}
		p = pods[name]
		if !ok(p) {
			return fmt.Errorf("%s: uid %s, ready %v, %d restarts, node %s", name, p.UID, p.Ready, p.Restarts, p.Node)
		}
		return nil
	})
	return p, err
}

// rollReport checks a roll from the pods before and after an update: with roll, every pod present
// before was replaced, the next one only after the previous one was Ready (timestamps from the API
// server: a pod's creation is not before the first Ready transition of the pod replaced before it,
// firstReady from podWatch); without, no pod was replaced. Never a container restart. It returns the
// order and the roll's end.
func rollReport(t *testing.T, before, after map[string]podState, firstReady map[string]time.Time, roll bool) (order []string, end time.Time) {
	t.Helper()
	var rolled []podState
	for name, b := range before {
		a, ok := after[name]
		switch {
		case !ok:
			t.Errorf("%s is gone after the update", name)
		case a.UID != b.UID:
			rolled = append(rolled, a)
		}
	}
	for name, a := range after {
		// Restarts before the change (an earlier step's SIGKILL) are not this change's.
		restarts := a.Restarts
		if b, ok := before[name]; ok && b.UID == a.UID {
			restarts -= b.Restarts
		}
		if !a.Ready || restarts != 0 || a.Waiting != "" {
			t.Errorf("%s after the update: ready=%v, %d container restarts during the change, waiting %q; want Ready, no restart", name, a.Ready, restarts, a.Waiting)
		}
	}
	if !roll {
		if len(rolled) > 0 {
			t.Errorf("%d Kafka pods were replaced by a change that must not roll them: %v", len(rolled), names(rolled))
		}
		return nil, time.Time{}
	}
	if len(rolled) != len(before) {
		t.Errorf("%d of %d Kafka pods were replaced; a change of the shared configuration rolls every one", len(rolled), len(before))
	}
	sort.Slice(rolled, func(i, j int) bool { return rolled[i].Created.Before(rolled[j].Created) })
	ready := func(p podState) time.Time {
		if at, ok := firstReady[p.UID]; ok {
			return at
		}
		return p.ReadySince
	}
	for i := 1; i < len(rolled); i++ {
		prev, cur := rolled[i-1], rolled[i]
		// Timestamps have a resolution of one second.
		if cur.Created.Before(ready(prev)) {
			t.Errorf("%s was recreated at %s, before %s was Ready again (%s): two nodes were down at once",
				cur.Name, cur.Created.Format(time.TimeOnly), prev.Name, ready(prev).Format(time.TimeOnly))
		}
	}
	for _, p := range rolled {
		order = append(order, fmt.Sprintf("%s (up %s, Ready %s)", p.Name, p.Created.Format(time.TimeOnly), ready(p).Format(time.TimeOnly)))
		if ready(p).After(end) {
			end = ready(p)
		}
		if !p.ReadySince.Equal(ready(p)) {
			t.Logf("%s was Ready at %s and again since %s (it turned unready for a while: an ISR it had left, or a slow probe)",
				p.Name, ready(p).Format(time.TimeOnly), p.ReadySince.Format(time.TimeOnly))
		}
	}
	return order, end
}

func names(ps []podState) []string {
	var n []string
	for _, p := range ps {
		n = append(n, p.Name)
	}
	sort.Strings(n)
	return n
}

// isrWatch samples the ISR of a topic's partitions through the cluster's metadata while a change
// runs: with RF 3 and min.insync.replicas 2, a safe roll never leaves a partition with fewer than 2
// in-sync replicas.
type isrWatch struct {
	mu      sync.Mutex
	min     int
	lowAt   time.Time
	lowPart int
	samples int
	cancel  context.CancelFunc
	done    chan struct{}
}

func watchISR(ctx context.Context, brokers []string, topic string) *isrWatch {
	ctx, cancel := context.WithCancel(ctx)
	w := &isrWatch{min: 1 << 30, cancel: cancel, done: make(chan struct{})}
	c := newClient(brokers)
	go func() {
		defer close(w.done)
		for ctx.Err() == nil {
			mctx, mcancel := context.WithTimeout(ctx, 3*time.Second)
			md, err := c.Metadata(mctx, &kafka.MetadataRequest{Topics: []string{topic}})
			mcancel()
			if err == nil && len(md.Topics) == 1 {
				w.mu.Lock()
				w.samples++
				for _, p := range md.Topics[0].Partitions {
					if len(p.Isr) < w.min {
						w.min, w.lowAt, w.lowPart = len(p.Isr), time.Now(), p.ID
					}
				}
				w.mu.Unlock()
			}
			select {
			case <-ctx.Done():
			case <-time.After(300 * time.Millisecond):
			}
		}
	}()
	return w
}

func (w *isrWatch) stop() (minISR, samples int, lowAt time.Time, lowPart int) {
	w.cancel()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.min, w.samples, w.lowAt, w.lowPart
}

// previewOps plans the update as make deploy does (deployer.Stack.Plan) and returns the operation
// per resource ("type name" -> op) of the resources that change, a replacement winning over the
// other steps of the same resource. It fails the test when deployer.Disruptive finds a step that
// would stop every Kafka node at once, the warning make deploy prints.
func (s *suite) previewOps(t *testing.T, ctx context.Context) map[string]string {
	t.Helper()
	pctx, cancel := context.WithTimeout(ctx, upTimeout)
	defer cancel()
	steps, err := s.st.Plan(pctx)
	if err != nil {
		t.Fatalf("preview: %v", err)
	}
	if bad := deployer.Disruptive(steps); len(bad) > 0 {
		t.Fatalf("the plan would stop every Kafka node at once:\n%s", deployer.FormatPlan(steps))
	}
	ops := map[string]string{}
	for _, st := range steps {
		key := st.Type + " " + st.Name
		if !strings.Contains(ops[key], "replace") {
			ops[key] = st.Op
		}
	}
	return ops
}

// change is one class of change of the matrix.
type change struct {
	name       string
	key, value string // value "" removes the key
	roll       bool   // the Kafka pods roll
	load       bool   // under a live acks=all producer (through the external listeners)
	// loadTopic and loadPartitions, when set, replace loadTopic (3 partitions) for the live producer.
	loadTopic      string
	loadPartitions int
	// removed are the pods the change removes (a scale-down); the others must not roll.
	removed []string
	check   func(t *testing.T, ctx context.Context)
}

// applyChange sets one configuration key and runs `up`, asserting on the plan (never a replace of
// the StatefulSet; an update of it exactly when the pods must roll), the roll (one pod at a time,
// each Ready before the next one goes, no container restart) and, under load, on the data (every
// acknowledged record read back, the ISR never below min.insync.replicas).
func (s *suite) applyChange(t *testing.T, ctx context.Context, c change) {
	ns := s.env.Namespace
	before, err := kafkaPods(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	if c.value == "" {
		err = s.st.RemoveConfig(ctx, c.key)
	} else {
		err = s.st.SetConfig(ctx, c.key, auto.ConfigValue{Value: c.value})
	}
	if err != nil {
		t.Fatal(err)
	}
	ops := s.previewOps(t, ctx)
	t.Logf("%s: planned %v", c.name, ops)
	switch op := ops[stsKey]; {
	case strings.Contains(op, "replace"):
		t.Fatalf("%s: the plan replaces the StatefulSet (%s): every node would go down at once", c.name, op)
	case c.roll && op != "update":
		t.Errorf("%s: the plan has StatefulSet op %q, want update (a roll)", c.name, op)
	}

	var load *smoke.Load
	var watch *isrWatch
	if c.load {
		topic, partitions := loadTopic, 3
		if c.loadTopic != "" {
			topic, partitions = c.loadTopic, c.loadPartitions
		}
		load = s.startLoadOn(t, ctx, topic, partitions)
		watch = watchISR(ctx, s.brokers, topic)
	}
	pw := watchPods(ctx, ns)
	start := time.Now()
	uctx, cancel := context.WithTimeout(ctx, upTimeout)
	up, err := s.st.Up(uctx)
	cancel()
	if err != nil {
		pw.stop()
		t.Fatalf("%s: up: %v", c.name, err)
	}
	upEnd := time.Now()
	// The Kubernetes provider reports the StatefulSet updated before its roll has ended
	// (pulumi/pulumi-kubernetes#3329): follow the roll to its end, as make deploy does.
	if _, err := kubectl(ctx, "-n", ns, "rollout", "status", "statefulset/"+kraft.StatefulSetName, "--timeout="+rollSettleTimeout.String()); err != nil {
		t.Fatalf("%s: the roll did not finish: %v", c.name, err)
	}
	if err := waitPodsReady(ctx, ns, podsReadyTimeout); err != nil {
		t.Fatal(err)
	}
	s.setOutputs(t, up.Outputs)
	after, err := kafkaPods(ctx, ns)
	firstReady := pw.stop()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range c.removed {
		if _, still := after[name]; still {
			t.Errorf("%s: %s is still there after the scale-down", c.name, name)
		}
		delete(before, name)
	}
	order, rollEnd := rollReport(t, before, after, firstReady, c.roll)
	if rollEnd.IsZero() {
		rollEnd = upEnd
	}
	figure := fmt.Sprintf("up returned after %s (%s)", upEnd.Sub(start).Round(100*time.Millisecond), changeSummary(up.Summary.ResourceChanges))
	if c.roll {
		figure += fmt.Sprintf("; roll %s: %s", rollEnd.Sub(start).Round(time.Second), strings.Join(order, " -> "))
	}
	if load != nil {
		rep := s.stopLoad(t, ctx, load)
		minISR, samples, lowAt, lowPart := watch.stop()
		figure += fmt.Sprintf("; producer: %d acknowledged during the change, longest gap %s, %d unacknowledged, 0 lost; min ISR %d over %d samples",
			load.AckedBetween(start, rollEnd), rep.LongestAckGap.Round(time.Millisecond), rep.Unacknowledged, minISR, samples)
		if rep.Unacknowledged > 0 {
			t.Errorf("%s: the live producer gave up on %d records (%v); a planned change must let it ride over every leader move",
				c.name, rep.Unacknowledged, rep.LastError)
		}
		// Not a failure by itself: the roll's order is checked from the pods' timestamps above, and
		// a follower that falls behind on this loaded 2-core machine leaves an ISR on its own (seen
		// once during a heapOpts roll: writes were refused with NOT_ENOUGH_REPLICAS and retried,
		// nothing was lost, and the readiness probe marked the follower unready).
		if rep.ReplicationFactor >= 3 && minISR < 2 {
			t.Logf("%s: partition %d of %s had %d in-sync replicas at %s (min.insync.replicas 2); acks=all writes were refused meanwhile, none acknowledged",
				c.name, lowPart, loadTopic, minISR, lowAt.Format(time.TimeOnly))
		}
	}
	s.measure(t, "change "+c.name, "%s", figure)
	s.logProbeFailures(t, ctx)
	if c.check != nil {
		c.check(t, ctx)
	}
	s.expectNoPreviewChanges(t, ctx)
}

// logProbeFailures logs the readiness probe's answers that the kubelet recorded as failures
// (events with reason Unhealthy): why a node was not Ready during the change.
func (s *suite) logProbeFailures(t *testing.T, ctx context.Context) {
	t.Helper()
	out, err := kubectl(ctx, "-n", s.env.Namespace, "get", "events", "--field-selector", "reason=Unhealthy", "-o",
		`jsonpath={range .items[*]}{.lastTimestamp} {.involvedObject.name} x{.count}: {.message}{"\n"}{end}`)
	if err != nil || strings.TrimSpace(out) == "" {
		return
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) > 12 {
		lines = lines[len(lines)-12:]
	}
	t.Logf("readiness probe failures recorded so far (last %d):\n  %s", len(lines), strings.Join(lines, "\n  "))
}

// startLoad starts the live producer on loadTopic (created RF 3, min.insync.replicas 2 when missing)
// and waits for its first acknowledgements.
func (s *suite) startLoad(t *testing.T, ctx context.Context) *smoke.Load {
	t.Helper()
	return s.startLoadOn(t, ctx, loadTopic, 3)
}

// startLoadOn is startLoad on another topic (created with partitions partitions when missing).
func (s *suite) startLoadOn(t *testing.T, ctx context.Context, topic string, partitions int) *smoke.Load {
	t.Helper()
	rf := min(3, len(s.brokers))
	var l *smoke.Load
	// Every bootstrap address must answer; right after a pod moved to another k8s-local node its
	// NodePort has been seen refusing connections for a moment.
	// The load outlives this wait: it runs on the step's ctx, not on eventually's.
	err := eventually(ctx, time.Minute, 2*time.Second, "the live producer starts", func(context.Context) error {
		var err error
		l, err = smoke.StartLoad(ctx, smoke.LoadConfig{
			Brokers: s.brokers, Auth: s.auth, Topic: topic, Partitions: partitions, ReplicationFactor: rf, MinInsyncReplicas: max(1, rf-1),
			Rate: loadRate, Progress: s.progress("load.log"),
		})
		return err
	})
	if err != nil {
		t.Fatalf("live producer: %v", err)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := l.WaitAcked(wctx, loadRate/2); err != nil {
		_, _ = l.Stop(ctx)
		t.Fatalf("live producer before the change: %v", err)
	}
	return l
}

// stopLoad lets the producer show that the cluster takes writes after the change, stops it and
// reads everything back: a lost acknowledged record fails the test.
func (s *suite) stopLoad(t *testing.T, ctx context.Context, l *smoke.Load) *smoke.LoadReport {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, killRecoveryTimeout)
	err := l.WaitAcked(wctx, loadAcksAfterRecovery)
	cancel()
	rctx, rcancel := context.WithTimeout(ctx, 5*time.Minute)
	defer rcancel()
	rep, serr := l.Stop(rctx)
	if rep != nil {
		t.Logf("live producer: %s", rep)
	}
	if err != nil {
		t.Errorf("the cluster did not take writes after the change: %v", err)
	}
	if serr != nil {
		t.Fatalf("live producer: %v", serr)
	}
	return rep
}

// --- the steps ----------------------------------------------------------------------------------

// oneNodeGroup writes records to growthTopic (RF 1) on the one-node cluster and commits consumer
// group offsets for them, to be found again after the growth.
func (s *suite) oneNodeGroup(t *testing.T, ctx context.Context) {
	if err := createTopic(ctx, s.brokers, growthTopic, 3, 1); err != nil {
		t.Fatal(err)
	}
	w := &kafka.Writer{Addr: kafka.TCP(s.brokers...), Transport: transportFor(s.brokers), Topic: growthTopic, RequiredAcks: kafka.RequireAll, Balancer: &kafka.RoundRobin{}, BatchTimeout: 5 * time.Millisecond}
	defer func() { _ = w.Close() }()
	var msgs []kafka.Message
	for i := range 30 {
		msgs = append(msgs, kafka.Message{Value: []byte(fmt.Sprintf("before growth %d", i))})
	}
	// A topic just created may not be in every broker's metadata yet (UNKNOWN_TOPIC_OR_PARTITION
	// from a broker that has not caught up): retry; a retried batch at worst writes twice.
	if err := eventually(ctx, time.Minute, time.Second, "write to "+growthTopic, func(ctx context.Context) error {
		return w.WriteMessages(ctx, msgs...)
	}); err != nil {
		t.Fatal(err)
	}
	s.commitOffsets(t, ctx, 7)
}

// commitOffsets commits offset off for every partition of growthTopic in growthGroup and reads the
// commit back.
func (s *suite) commitOffsets(t *testing.T, ctx context.Context, off int64) {
	t.Helper()
	c := newClient(s.brokers)
	err := eventually(ctx, time.Minute, time.Second, "commit offsets of "+growthGroup, func(ctx context.Context) error {
		resp, err := c.OffsetCommit(ctx, &kafka.OffsetCommitRequest{GroupID: growthGroup, GenerationID: -1,
			Topics: map[string][]kafka.OffsetCommit{growthTopic: {{Partition: 0, Offset: off}, {Partition: 1, Offset: off}, {Partition: 2, Offset: off}}}})
		if err != nil {
			return err
		}
		for _, p := range resp.Topics[growthTopic] {
			if p.Error != nil {
				return fmt.Errorf("partition %d: %w", p.Partition, p.Error)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.committed(t, ctx); got != fmt.Sprint([]int64{off, off, off}) {
		t.Fatalf("committed offsets of %s read back as %s, want %d for every partition", growthGroup, got, off)
	}
}

func (s *suite) committed(t *testing.T, ctx context.Context) string {
	t.Helper()
	c := newClient(s.brokers)
	var got string
	err := eventually(ctx, time.Minute, time.Second, "fetch offsets of "+growthGroup, func(ctx context.Context) error {
		resp, err := c.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: growthGroup, Topics: map[string][]int{growthTopic: {0, 1, 2}}})
		if err != nil {
			return err
		}
		offs := make([]int64, 3)
		for _, p := range resp.Topics[growthTopic] {
			if p.Error != nil {
				return fmt.Errorf("partition %d: %w", p.Partition, p.Error)
			}
			offs[p.Partition] = p.CommittedOffset
		}
		got = fmt.Sprint(offs)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// topicConfig reads one config of a topic as the cluster reports it (DescribeConfigs): the
// effective value and its source.
func (s *suite) topicConfig(t *testing.T, ctx context.Context, typ kafka.ResourceType, name, key string) (string, int8) {
	t.Helper()
	c := newClient(s.brokers)
	var value string
	var source int8
	err := eventually(ctx, time.Minute, time.Second, fmt.Sprintf("describe %s of %s", key, name), func(ctx context.Context) error {
		resp, err := c.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{{
			ResourceType: typ, ResourceName: name, ConfigNames: []string{key}}}})
		if err != nil {
			return err
		}
		if len(resp.Resources) != 1 || resp.Resources[0].Error != nil || len(resp.Resources[0].ConfigEntries) != 1 {
			return fmt.Errorf("answer %+v", resp.Resources)
		}
		e := resp.Resources[0].ConfigEntries[0]
		value, source = e.ConfigValue, e.ConfigSource
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return value, source
}

// Config sources of DescribeConfigs.
const (
	sourceTopic          = 1
	sourceDynamicDefault = 3
	sourceStatic         = 4
)

// growTo3 is `pulumi config set replicas 3` on the one-node stack, under the live producer writing
// to the RF 1 topic created before. Afterwards the cluster itself must report the promised
// durability: a new topic's effective min.insync.replicas is 2 (the cluster default, which Kafka
// fixed at 1 when it formatted one node), __consumer_offsets has 3 in-sync replicas, the old topic
// still takes acks=all writes and the group's committed offsets survive and can be committed again.
func (s *suite) growTo3(t *testing.T, ctx context.Context) {
	if v, src := s.topicConfig(t, ctx, kafka.ResourceTypeTopic, growthTopic, "min.insync.replicas"); v != "1" {
		t.Fatalf("before the growth: %s has min.insync.replicas %s (source %d), want 1", growthTopic, v, src)
	}
	// The live producer writes to an RF 1 topic (the only kind one node has): it stalls while kafka-0
	// restarts and must ride over it.
	s.applyChange(t, ctx, change{name: "replicas 1 -> 3", key: kraft.KeyReplicas, value: "3", roll: true, load: true, check: func(t *testing.T, ctx context.Context) {
		if len(s.brokers) != 3 {
			t.Fatalf("output %s lists %v, want 3 brokers", stack.OutputExternalBootstrapServers, s.brokers)
		}
		fresh := "e2e-after-growth"
		if err := createTopic(ctx, s.brokers, fresh, 3, 3); err != nil {
			t.Fatal(err)
		}
		v, src := s.topicConfig(t, ctx, kafka.ResourceTypeTopic, fresh, "min.insync.replicas")
		if v != "2" {
			t.Errorf("a new RF 3 topic after growth 1->3 has effective min.insync.replicas %s (source %d), want 2", v, src)
		}
		t.Logf("new topic %s: min.insync.replicas %s (source %d, 3 = cluster-wide dynamic default)", fresh, v, src)
		if v, src := s.topicConfig(t, ctx, kafka.ResourceTypeTopic, growthTopic, "min.insync.replicas"); v != "1" || src != sourceTopic {
			t.Errorf("the RF 1 topic %s has min.insync.replicas %s (source %d); want its own 1 so that acks=all keeps working", growthTopic, v, src)
		}
		c := newClient(s.brokers)
		mctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		md, err := c.Metadata(mctx, &kafka.MetadataRequest{Topics: []string{"__consumer_offsets"}})
		if err != nil || len(md.Topics) != 1 {
			t.Fatalf("metadata of __consumer_offsets: %v %+v", err, md)
		}
		for _, p := range md.Topics[0].Partitions {
			if len(p.Replicas) != 3 || len(p.Isr) != 3 {
				t.Errorf("__consumer_offsets-%d has replicas %v, ISR %v; want 3 and 3", p.ID, brokerIDsOf(p.Replicas), brokerIDsOf(p.Isr))
				break
			}
		}
		if got := s.committed(t, ctx); got != "[7 7 7]" {
			t.Errorf("the offsets committed before the growth read back as %s, want [7 7 7]", got)
		}
		s.commitOffsets(t, ctx, 9)
		w := &kafka.Writer{Addr: kafka.TCP(s.brokers...), Transport: transportFor(s.brokers), Topic: growthTopic, RequiredAcks: kafka.RequireAll, Balancer: &kafka.RoundRobin{}}
		defer func() { _ = w.Close() }()
		if err := w.WriteMessages(mctx, kafka.Message{Value: []byte("after growth")}); err != nil {
			t.Errorf("acks=all produce to the old RF 1 topic after the growth: %v", err)
		}
		logs, err := kubectl(ctx, "-n", s.env.Namespace, "logs", "-l", "app.kubernetes.io/name="+kraft.ClusterJobName, "--tail=30")
		t.Logf("cluster-settings Job (%v):\n%s", err, logs)
	}})
}

func brokerIDsOf(bs []kafka.Broker) []int {
	ids := make([]int, 0, len(bs))
	for _, b := range bs {
		ids = append(ids, b.ID)
	}
	sort.Ints(ids)
	return ids
}

// matrix runs the accepted changes on the running three-node cluster.
func (s *suite) matrix(t *testing.T, ctx context.Context) {
	ns := s.env.Namespace
	steps := []change{
		{name: "brokerProperties log.retention.hours=72 (rolls)", key: kraft.KeyBrokerProperties, value: `{"log.retention.hours": "72"}`, roll: true, load: true,
			check: func(t *testing.T, ctx context.Context) {
				for i := range 3 {
					if v, src := s.topicConfig(t, ctx, kafka.ResourceTypeBroker, strconv.Itoa(i), "log.retention.hours"); v != "72" || src != sourceStatic {
						t.Errorf("broker %d reports log.retention.hours %s (source %d), want 72 from its server.properties", i, v, src)
					}
				}
			}},
		{name: "heapOpts -Xms384m -Xmx384m (rolls)", key: kraft.KeyHeapOpts, value: "-Xms384m -Xmx384m", roll: true, load: true,
			check: func(t *testing.T, ctx context.Context) {
				for i := range 3 {
					out, err := kubectl(ctx, "-n", ns, "exec", kraft.PodName(i), "--", "cat", "/proc/1/cmdline")
					if err != nil || !strings.Contains(out, "-Xmx384m") {
						t.Errorf("kafka-%d's JVM does not run with -Xmx384m (%v): %q", i, err, strings.ReplaceAll(out, "\x00", " "))
					}
				}
			}},
		// No exporter: a roll (the JVM's command line changes); the Service, the ServiceMonitor, the
		// rules and the dashboard go.
		{name: "monitoring none (rolls)", key: kraft.KeyMonitoring, value: kraft.MonitoringNone, roll: true, load: true,
			check: func(t *testing.T, ctx context.Context) { s.noMetrics(t, ctx) }},
		// Users and ACLs: the Job applies them, nobody restarts.
		{name: "users: orders may write " + usersTopic + " (no roll)", key: kraft.KeyUsers, load: true,
			value: `{"orders": {"acls": [{"resource": "topic", "name": "` + usersTopic + `", "operations": ["write", "describe"]}]}}`,
			check: func(t *testing.T, ctx context.Context) { s.usersAdded(t, ctx) }},
		{name: "users: orders removed (no roll)", key: kraft.KeyUsers, value: "", load: true,
			check: func(t *testing.T, ctx context.Context) { s.usersRemoved(t, ctx) }},
		{name: "kcat false (no roll)", key: delivery.KeyKcatEnabled, value: "false", load: true,
			check: func(t *testing.T, ctx context.Context) {
				if out, err := kubectl(ctx, "-n", ns, "get", "deployment", kcatclient.Name, "--ignore-not-found", "-o", "name"); err != nil || out != "" {
					t.Errorf("kcat deployment still there: %q %v", out, err)
				}
			}},
		{name: "kcat back on (no roll)", key: delivery.KeyKcatEnabled, value: "", check: func(t *testing.T, ctx context.Context) {
			if _, err := kubectl(ctx, "-n", ns, "rollout", "status", "deployment/"+kcatclient.Name, "--timeout=2m"); err != nil {
				t.Errorf("kcat deployment not back: %v", err)
			}
		}},
		{name: "registryNodePort 31591 (no Kafka roll)", key: delivery.KeyRegistryNodePort, value: strconv.Itoa(s.ports.movedRegistryPort),
			check: func(t *testing.T, ctx context.Context) {
				reg := s.outputs[stack.OutputRegistry]
				if !strings.HasSuffix(reg, ":"+strconv.Itoa(s.ports.movedRegistryPort)) {
					t.Errorf("output %s = %q, want the new port", stack.OutputRegistry, reg)
				}
				// 401 without the stack's credentials, 200 with them.
				err := eventually(ctx, 2*time.Minute, 2*time.Second, "registry answers on "+reg, func(ctx context.Context) error {
					for _, withAuth := range []bool{false, true} {
						req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+reg+"/v2/", nil)
						want := http.StatusUnauthorized
						if withAuth {
							req.SetBasicAuth(s.outputs[stack.OutputRegistryUser], s.registryPassword)
							want = http.StatusOK
						}
						resp, err := http.DefaultClient.Do(req)
						if err != nil {
							return err
						}
						resp.Body.Close()
						if resp.StatusCode != want {
							return fmt.Errorf("GET /v2/ (credentials: %v): %s, want %d", withAuth, resp.Status, want)
						}
					}
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			}},
		// Advertised addresses change: clients outside reconnect to the new ports. No live producer
		// through the old ports (they close as the Services change); smoke on the new ones after.
		{name: "externalNodePortBase 31290 (rolls)", key: kraft.KeyExternalNodePortBase, value: strconv.Itoa(s.ports.movedNodePortBase), roll: true,
			check: func(t *testing.T, ctx context.Context) {
				base := s.ports.movedNodePortBase
				want := fmt.Sprintf("127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d", base, base+1, base+2)
				if got := s.outputs[stack.OutputExternalBootstrapServers]; got != want {
					t.Errorf("output %s = %q, want %q", stack.OutputExternalBootstrapServers, got, want)
				}
				s.smoke(t, ctx, 3, "3 brokers, on the moved NodePorts")
			}},
	}
	for _, c := range steps {
		if !t.Run(c.name, func(t *testing.T) { s.applyChange(t, ctx, c) }) {
			t.FailNow()
		}
	}
}

// killBroker SIGKILLs the JVM of the broker leading partition 0 of the live producer's topic, as a
// node crash would (no controlled shutdown): the producer rides over the failover (KRaft fences the
// broker after broker.session.timeout.ms), records the producer gave up on are counted apart from
// lost ones, and no acknowledged record is lost. The container restarts in place (one restart).
func (s *suite) killBroker(t *testing.T, ctx context.Context) {
	if s.env.Cluster != "k8s-local" {
		t.Fatalf("the forced-kill step signals the broker's JVM from this machine, which needs the k8s-local cluster (KAFKA_E2E_CLUSTER=%q)", s.env.Cluster)
	}
	ns := s.env.Namespace
	load := s.startLoad(t, ctx)
	leader, err := leaderOf(ctx, s.brokers, loadTopic, 0)
	if err != nil {
		t.Fatal(err)
	}
	pod := kraft.PodName(leader)
	before, err := kafkaPods(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := jvmPID(pod, s.outputs[stack.OutputClusterID])
	if err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %d (%s's JVM): %v", pid, pod, err)
	}
	t.Logf("SIGKILL to %s's JVM (host pid %d), leader of %s-0, after %d acknowledged records", pod, pid, loadTopic, load.Stats().Acked)
	if _, err := waitPod(ctx, ns, pod, killRecoveryTimeout, "restarted in place and Ready", func(p podState) bool {
		return p.UID == before[pod].UID && p.Restarts == before[pod].Restarts+1 && p.Ready
	}); err != nil {
		t.Fatal(err)
	}
	recovered := time.Now()
	rep := s.stopLoad(t, ctx, load)
	s.measure(t, "SIGKILL of a leader's JVM under load", "%s Ready again after %s (same pod, 1 container restart); producer: %d acknowledged meanwhile, longest gap %s, %d unacknowledged (%d of them written anyway), %d duplicates from retries, 0 lost",
		pod, recovered.Sub(killed).Round(100*time.Millisecond), load.AckedBetween(killed, recovered), rep.LongestAckGap.Round(time.Millisecond),
		rep.Unacknowledged, rep.Verify.UnacknowledgedWritten, rep.Verify.RetryDuplicates)
}

// jvmPID finds, on this machine, the process of the Kafka JVM of pod (by its POD_NAME and cluster id
// in the environment, and kafka.Kafka on its command line). k8s-local runs the containers here.
func jvmPID(pod, clusterID string) (int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !bytes.Contains(env, []byte("\x00POD_NAME="+pod+"\x00")) && !bytes.HasPrefix(env, []byte("POD_NAME="+pod+"\x00")) {
			continue
		}
		if !bytes.Contains(env, []byte("KAFKA_CLUSTER_ID="+clusterID+"\x00")) {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmd, []byte("kafka.Kafka")) {
			return pid, nil
		}
	}
	return 0, fmt.Errorf("no kafka.Kafka process of %s (cluster %s) on this machine", pod, clusterID)
}

// kafkaVersions returns the Kafka release each Kafka pod runs, from the version its broker logged
// at startup ("Kafka version: X").
func kafkaVersions(ctx context.Context, ns string, n int) (map[string]string, error) {
	out := map[string]string{}
	for i := range n {
		logs, err := kubectl(ctx, "-n", ns, "logs", kraft.PodName(i), "-c", "kafka")
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(logs, "\n") {
			if _, v, ok := strings.Cut(line, "Kafka version: "); ok {
				out[kraft.PodName(i)] = strings.Fields(v)[0]
			}
		}
	}
	return out, nil
}

// finalizedMetadataVersion asks a broker, with Kafka's own FeatureCommand in its pod, the
// cluster's finalized metadata.version ("4.4-IV0" style).
func finalizedMetadataVersion(ctx context.Context, ns string) (string, error) {
	out, err := kubectl(ctx, "-n", ns, "exec", kraft.PodName(0), "-c", "kafka", "--", "java", "-cp", "/opt/kafka/libs/*",
		"org.apache.kafka.tools.FeatureCommand", "--bootstrap-server", fmt.Sprintf("localhost:%d", kraft.InternalPort),
		"--command-config", "/tmp/kafka/admin.properties", "describe")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "Feature: "+kraft.MetadataVersionFeature) {
			if _, v, ok := strings.Cut(line, "FinalizedVersionLevel: "); ok {
				return strings.Fields(v)[0], nil
			}
		}
	}
	return "", fmt.Errorf("no metadata.version line in:\n%s", out)
}

// upgrade changes kafkaVersion (and the image, as a user with prebuilt images does) to the pinned
// release under a live producer: the nodes roll one at a time, each caught up before the next;
// every node then runs the new release, the finalized metadata.version is the new release's, and
// the records and committed offsets written before are still there.
func (s *suite) upgrade(t *testing.T, ctx context.Context) {
	ns := s.env.Namespace
	before, err := finalizedMetadataVersion(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	committed := s.committed(t, ctx)
	t.Logf("on %s: metadata.version %s, %s committed %s", s.env.UpgradeFrom, before, growthGroup, committed)
	if err := s.st.SetConfig(ctx, kraft.KeyKafkaVersion, auto.ConfigValue{Value: kraft.DefaultKafkaVersion}); err != nil {
		t.Fatal(err)
	}
	s.applyChange(t, ctx, change{name: "kafkaVersion " + s.env.UpgradeFrom + " -> " + kraft.DefaultKafkaVersion + " (rolls)", key: delivery.KeyImage, value: s.env.Image, roll: true, load: true,
		check: func(t *testing.T, ctx context.Context) {
			versions, err := kafkaVersions(ctx, ns, 3)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				if v := versions[kraft.PodName(i)]; v != kraft.DefaultKafkaVersion {
					t.Errorf("%s runs Kafka %q after the upgrade, want %s", kraft.PodName(i), v, kraft.DefaultKafkaVersion)
				}
			}
			// The Job raises the levels once every node runs the release (it may still be waiting
			// for the last one when the roll is over).
			var after string
			if err := eventually(ctx, 3*time.Minute, 3*time.Second, "metadata.version raised", func(ctx context.Context) error {
				after, err = finalizedMetadataVersion(ctx, ns)
				if err == nil && !strings.HasPrefix(after, "4.4-") {
					err = fmt.Errorf("finalized metadata.version %s", after)
				}
				return err
			}); err != nil {
				t.Error(err)
			}
			if got := s.committed(t, ctx); got != committed {
				t.Errorf("committed offsets of %s after the upgrade: %s, want %s", growthGroup, got, committed)
			}
			for p := range 3 {
				rctx, cancel := context.WithTimeout(ctx, time.Minute)
				_, err := readUntil(rctx, s.brokers, growthTopic, p, func(v []byte) bool { return strings.HasPrefix(string(v), "before growth") })
				cancel()
				if err != nil {
					t.Errorf("%s-%d written before the upgrade: %v", growthTopic, p, err)
				}
			}
			t.Logf("every node on %s (%v); metadata.version %s -> %s", kraft.DefaultKafkaVersion, versions, before, after)
		}})
}

// downgradeRefused sets kafkaVersion (and the image) back to the release the stack started on:
// refused before anything changes, naming metadata.version.
func (s *suite) downgradeRefused(t *testing.T, ctx context.Context) {
	uids := s.podUIDs(t, ctx)
	for k, v := range map[string]string{kraft.KeyKafkaVersion: s.env.UpgradeFrom, delivery.KeyImage: s.env.UpgradeImage} {
		if err := s.st.SetConfig(ctx, k, auto.ConfigValue{Value: v}); err != nil {
			t.Fatal(err)
		}
	}
	uctx, cancel := context.WithTimeout(ctx, upTimeout)
	_, err := s.st.Up(uctx)
	cancel()
	const want = `config "kafkaVersion" cannot change from ` + kraft.DefaultKafkaVersion + " to "
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "Kafka cannot lower metadata.version") {
		t.Errorf("up back to %s: %v; want a refusal naming metadata.version", s.env.UpgradeFrom, err)
	} else {
		t.Logf("refused as expected: %s", refusal(err, want))
	}
	for k, v := range map[string]string{kraft.KeyKafkaVersion: kraft.DefaultKafkaVersion, delivery.KeyImage: s.env.Image} {
		if err := s.st.SetConfig(ctx, k, auto.ConfigValue{Value: v}); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.podUIDs(t, ctx); !reflect.DeepEqual(got, uids) {
		t.Errorf("pods changed after the refused downgrade:\nbefore %v\nafter  %v", uids, got)
	}
	s.expectNoPreviewChanges(t, ctx)
}
