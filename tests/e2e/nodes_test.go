//go:build e2e

package e2e_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/kafka-kraft/kafka-kraft/internal/kraft"
)

// The multi-node stage (issue 16): k8s-local runs three nodes on this host (zones zone-a/b/c;
// scripts/e2e-setup.sh starts them), so spread, the disruption budget and node loss are proven on
// real nodes rather than mocked.

const (
	zoneLabel        = "topology.kubernetes.io/zone"
	nodeLossTimeout  = 6 * time.Minute
	drainBlockedWait = "8s"
	// kafkaPodSelector limits a drain to the Kafka pods: the node is cordoned as by any drain, but
	// other pods stay (k8s-local has its CoreDNS image on node 1 only: a CoreDNS pod evicted to
	// another node cannot start, and DNS goes down for every pod).
	kafkaPodSelector = "--pod-selector=app.kubernetes.io/name=" + kraft.StatefulSetName
)

// nodeZones maps node names to their zones.
func nodeZones(ctx context.Context) (map[string]string, error) {
	out, err := kubectl(ctx, "get", "nodes", "-o", `jsonpath={range .items[*]}{.metadata.name}{" "}{.metadata.labels.topology\.kubernetes\.io/zone}{"\n"}{end}`)
	if err != nil {
		return nil, err
	}
	zones := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(line); len(f) >= 1 {
			zones[f[0]] = ""
			if len(f) == 2 {
				zones[f[0]] = f[1]
			}
		}
	}
	return zones, nil
}

// requireNodes fails loudly when the cluster has fewer than n nodes: the stage cannot run then.
func requireNodes(t *testing.T, ctx context.Context, n int) map[string]string {
	t.Helper()
	zones, err := nodeZones(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(zones) < n {
		t.Fatalf("the multi-node stage needs %d nodes, the cluster has %d (%v); k8s-local: KAFKA_E2E_NODES=%d scripts/e2e-setup.sh starts them", n, len(zones), zones, n)
	}
	return zones
}

// spread asserts on the live pods that the three voters run on three nodes in three zones, and
// logs where the broker-only pods went (their spread is a preference).
func (s *suite) spread(t *testing.T, ctx context.Context) {
	zones := requireNodes(t, ctx, 3)
	pods, err := kafkaPods(ctx, s.env.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	nodes, zs := map[string]string{}, map[string]string{}
	var where []string
	for i := range len(pods) {
		p, ok := pods[kraft.PodName(i)]
		if !ok || p.Node == "" {
			t.Fatalf("%s not scheduled: %+v", kraft.PodName(i), p)
		}
		where = append(where, fmt.Sprintf("%s on %s (%s)", p.Name, p.Node, zones[p.Node]))
		if i >= 3 {
			continue // broker-only
		}
		if other, dup := nodes[p.Node]; dup {
			t.Errorf("voters %s and %s both run on node %s", other, p.Name, p.Node)
		}
		if other, dup := zs[zones[p.Node]]; dup {
			t.Errorf("voters %s and %s both run in zone %s", other, p.Name, zones[p.Node])
		}
		nodes[p.Node], zs[zones[p.Node]] = p.Name, p.Name
	}
	t.Logf("pods (voters first): %s", strings.Join(where, ", "))
}

// drain drains the node of one voter under the live producer: the budget lets that pod go, and a
// drain of a second voter's node is refused while the first pod is not back and caught up. Then
// the first drain completes (its pod rescheduled and Ready), and nothing acknowledged is lost.
func (s *suite) drain(t *testing.T, ctx context.Context) {
	requireNodes(t, ctx, 3)
	ns := s.env.Namespace
	pods, err := kafkaPods(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	first, second := pods[kraft.PodName(1)], pods[kraft.PodName(2)]
	if first.Node == second.Node {
		t.Fatalf("%s and %s share node %s; the drain test needs them apart", first.Name, second.Name, first.Node)
	}
	load := s.startLoad(t, ctx)
	defer func() {
		for _, n := range []string{first.Node, second.Node} {
			if _, err := kubectl(context.Background(), "uncordon", n); err != nil {
				t.Errorf("uncordon %s: %v", n, err)
			}
		}
	}()

	start := time.Now()
	drained := make(chan error, 1)
	go func() {
		_, err := kubectl(ctx, "drain", first.Node, kafkaPodSelector, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=5m")
		drained <- err
	}()
	// The first voter is evicted: its pod is replaced (on another node, its own is cordoned).
	if _, err := waitPod(ctx, ns, first.Name, 2*time.Minute, "evicted", func(p podState) bool { return p.UID != first.UID }); err != nil {
		t.Fatal(err)
	}
	evicted := time.Now()
	// While it is not Ready, the budget (maxUnavailable 1) allows no other voter to go.
	out, err := run(ctx, time.Minute, "", "kubectl", "drain", second.Node, kafkaPodSelector, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout="+drainBlockedWait)
	now, _ := kafkaPods(ctx, ns)
	switch {
	case err == nil:
		t.Errorf("a second drain (node %s, %s) went through while %s was %+v: the budget did not hold", second.Node, second.Name, first.Name, now[first.Name])
	case !strings.Contains(err.Error(), "disruption budget"):
		t.Errorf("the second drain failed, but not on the disruption budget: %v\n%s", err, out)
	default:
		t.Logf("second drain refused while %s was not back (Ready=%v): %s", first.Name, now[first.Name].Ready, lastLine(err.Error()))
	}
	if now[second.Name].UID != second.UID {
		t.Errorf("%s was evicted by the second drain", second.Name)
	}
	if _, err := kubectl(ctx, "uncordon", second.Node); err != nil {
		t.Error(err)
	}
	if err := <-drained; err != nil {
		t.Fatalf("drain of %s: %v", first.Node, err)
	}
	back, err := kafkaPods(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	if err := waitPodsReady(ctx, ns, podsReadyTimeout); err != nil {
		t.Fatal(err)
	}
	rep := s.stopLoad(t, ctx, load)
	if rep.Unacknowledged > 0 {
		t.Errorf("the live producer gave up on %d records during a drain: %v", rep.Unacknowledged, rep.LastError)
	}
	s.measure(t, "drain of a voter's node under load", "%s evicted after %s, back on %s; drain done after %s; producer: %d acknowledged meanwhile, longest gap %s, %d unacknowledged, 0 lost",
		first.Name, evicted.Sub(start).Round(100*time.Millisecond), back[first.Name].Node, time.Since(start).Round(100*time.Millisecond),
		load.AckedBetween(start, time.Now()), rep.LongestAckGap.Round(time.Millisecond), rep.Unacknowledged)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// leadersMovedOff waits until the brokers other than pod's report no partition of the load topic
// led by pod's broker, and returns how long after start that was seen (an upper bound: the first check
// runs once writes have resumed, and then once a second).
func (s *suite) leadersMovedOff(t *testing.T, ctx context.Context, pod string, start time.Time) time.Duration {
	t.Helper()
	id, err := strconv.Atoi(strings.TrimPrefix(pod, kraft.StatefulSetName+"-"))
	if err != nil {
		t.Fatalf("broker id of pod %s: %v", pod, err)
	}
	var live []string
	for i, b := range s.brokers {
		if i != id {
			live = append(live, b)
		}
	}
	err = eventually(ctx, 90*time.Second, time.Second, fmt.Sprintf("no partition of %s led by broker %d", loadTopic, id), func(ctx context.Context) error {
		// A fresh transport each time: nothing cached from before the power-off.
		tr := transportFor(live)
		defer tr.CloseIdleConnections()
		md, err := (&kafka.Client{Addr: kafka.TCP(live...), Transport: tr, Timeout: 5 * time.Second}).Metadata(ctx, &kafka.MetadataRequest{Topics: []string{loadTopic}})
		if err != nil {
			return err
		}
		for _, tp := range md.Topics {
			for _, p := range tp.Partitions {
				if p.Leader.ID == id {
					return fmt.Errorf("partition %d still led by broker %d (ISR %v)", p.ID, id, brokerIDsOf(p.Isr))
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return time.Since(start)
}

// nodeUp brings k8s-local's node index back (node.sh up). node.sh runs under `set -o pipefail` and
// checks for its node IP with `ip addr show | grep -q`: when grep exits at the first match, ip may
// die of SIGPIPE, the check fails although the address is there, and the `ip addr add` that follows
// fails with "Address already assigned" (seen once in CI, leaving the node off). Nothing else has
// happened by then, so running it again is safe.
func nodeUp(ctx context.Context, nodeScript string, index int, zone string) ([]byte, error) {
	var out []byte
	var err error
	for range 3 {
		out, err = exec.CommandContext(ctx, nodeScript, "up", strconv.Itoa(index), zone).CombinedOutput()
		if err == nil || !bytes.Contains(out, []byte("Address already assigned")) {
			return out, err
		}
	}
	return out, err
}

// powerOff powers off (node.sh stop) the node of a voter under the live producer: the cluster keeps
// taking writes (the leader moves once KRaft fences the broker), nothing acknowledged is lost, the
// pod is not replaced while its node is gone (a StatefulSet pod stays until the node returns or is
// marked out of service), and when the node returns the broker catches up.
func (s *suite) powerOff(t *testing.T, ctx context.Context) {
	if s.env.Cluster != "k8s-local" {
		t.Fatalf("the node power-off step uses k8s-local's node.sh (KAFKA_E2E_CLUSTER=%q)", s.env.Cluster)
	}
	zones := requireNodes(t, ctx, 3)
	ns := s.env.Namespace
	victim, index := s.loneVoterOnExtraNode(t, ctx)
	nodeScript := filepath.Join(s.env.K8sLocalDir, "node.sh")
	load := s.startLoad(t, ctx)
	start := time.Now()
	if out, err := exec.CommandContext(ctx, nodeScript, "stop", strconv.Itoa(index)).CombinedOutput(); err != nil {
		t.Fatalf("node.sh stop %d: %v\n%s", index, err, out)
	}
	restored := false
	defer func() {
		if !restored {
			if out, err := nodeUp(context.Background(), nodeScript, index, zones[victim.Node]); err != nil {
				t.Errorf("node.sh up %d: %v\n%s", index, err, out)
			}
		}
	}()
	t.Logf("powered off node %s (%s ran there) after %d acknowledged records", victim.Node, victim.Name, load.Stats().Acked)
	// The cluster keeps taking writes.
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	err := load.WaitAcked(wctx, 3*loadRate)
	cancel()
	if err != nil {
		t.Fatalf("the cluster stopped taking writes with node %s off: %v", victim.Node, err)
	}
	writing := time.Since(start)
	// KRaft fences the broker once its session expires (broker.session.timeout.ms, 9 s) and moves
	// its leaderships to in-sync followers; the metadata the other brokers serve says so.
	moved := s.leadersMovedOff(t, ctx, victim.Name, start)
	// The node goes NotReady; the pod is not replaced meanwhile.
	if err := eventually(ctx, 3*time.Minute, 2*time.Second, "node "+victim.Node+" NotReady", func(ctx context.Context) error {
		st, err := kubectl(ctx, "get", "node", victim.Node, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		if err != nil {
			return err
		}
		if st == "True" {
			return fmt.Errorf("node %s still Ready", victim.Node)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	notReady := time.Since(start)
	now, _ := kafkaPods(ctx, ns)
	if now[victim.Name].UID != victim.UID {
		t.Errorf("%s was replaced while its node was off (%+v); a StatefulSet must not run two pods of one identity", victim.Name, now[victim.Name])
	}
	t.Logf("%s while its node is off: ready=%v (a StatefulSet pod waits for the node or the out-of-service taint)", victim.Name, now[victim.Name].Ready)
	// The node returns (in its zone: node.sh would label it zone-<I> otherwise): the broker restarts
	// there and catches up.
	if out, err := nodeUp(ctx, nodeScript, index, zones[victim.Node]); err != nil {
		t.Fatalf("node.sh up %d: %v\n%s", index, err, out)
	}
	restored = true
	if _, err := waitPod(ctx, ns, victim.Name, nodeLossTimeout, "Ready again", func(p podState) bool { return p.Ready }); err != nil {
		t.Fatal(err)
	}
	back := time.Since(start)
	rep := s.stopLoad(t, ctx, load)
	s.measure(t, "power-off of a voter's node under load", "%s: writes resumed (%d acknowledged) %s after, its leaderships seen moved by %s, node NotReady after %s, broker back and caught up %s after power-off; producer longest gap %s, %d unacknowledged (%d written anyway), %d retry duplicates, 0 lost",
		victim.Node, 3*loadRate, writing.Round(100*time.Millisecond), moved.Round(100*time.Millisecond), notReady.Round(time.Second), back.Round(time.Second),
		rep.LongestAckGap.Round(time.Millisecond), rep.Unacknowledged, rep.Verify.UnacknowledgedWritten, rep.Verify.RetryDuplicates)
}

// loneVoterOnExtraNode picks a voter that runs alone on one of k8s-local's extra nodes (node.sh
// handles nodes 2 and up; node 1 is the host's own and runs CoreDNS) and returns it with the node's
// index. Alone: losing the node then takes one voter, and the quorum keeps its majority.
func (s *suite) loneVoterOnExtraNode(t *testing.T, ctx context.Context) (podState, int) {
	t.Helper()
	pods, err := kafkaPods(ctx, s.env.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	perNode := map[string]int{}
	for _, p := range pods {
		perNode[p.Node]++
	}
	for i := range 3 {
		p := pods[kraft.PodName(i)]
		if j := strings.LastIndex(p.Node, "-n"); j >= 0 && perNode[p.Node] == 1 {
			if n, err := strconv.Atoi(p.Node[j+2:]); err == nil && n >= 2 {
				return p, n
			}
		}
	}
	t.Fatalf("no voter runs alone on an extra node: %+v", pods)
	return podState{}, 0
}

// partitionProbeTopic is created just before the partition: a new topic's leaders go round-robin
// over the brokers, so the partitioned voter leads one of its partitions for sure.
const partitionProbeTopic = "e2e-partition-probe"

// partitionRule is one iptables rule that cuts node index's pods off from every other pod and
// service: k8s-local gives each node its own bridge (cni<I-1>), and traffic between nodes' pods is
// forwarded by the host. The host itself still reaches the pods (OUTPUT/INPUT, not FORWARD), so
// the test's clients still reach the cut-off broker through its NodePort: a client on the
// zombie's side of the partition.
func partitionRules(index int) [][]string {
	bridge := fmt.Sprintf("cni%d", index-1)
	comment := []string{"-m", "comment", "--comment", "kafka-kraft-e2e-partition"}
	return [][]string{
		append([]string{"FORWARD", "-i", bridge}, append(comment, "-j", "DROP")...),
		append([]string{"FORWARD", "-o", bridge}, append(comment, "-j", "DROP")...),
	}
}

// partition cuts the node of a voter off the network under the live producer (node.sh kill stops
// its kubelet and containerd, the pods keep running; iptables drops everything between its pods and
// the rest of the cluster). The broker left running there is a zombie: it still believes it leads
// its partitions. Shown: the cluster keeps taking writes, KRaft fences the zombie (gone from the
// metadata the healthy brokers serve, no leader, in no ISR), an acks=all write sent straight to the
// zombie for a partition it believes it leads is never acknowledged and never becomes part of the
// log, and when the partition heals the broker catches up; nothing acknowledged is lost.
func (s *suite) partition(t *testing.T, ctx context.Context) {
	if s.env.Cluster != "k8s-local" {
		t.Fatalf("the partition step uses k8s-local's node.sh and its per-node bridges (KAFKA_E2E_CLUSTER=%q)", s.env.Cluster)
	}
	zones := requireNodes(t, ctx, 3)
	ns := s.env.Namespace
	victim, index := s.loneVoterOnExtraNode(t, ctx)
	id := mustAtoi(t, strings.TrimPrefix(victim.Name, kraft.StatefulSetName+"-"))
	zombieAddr := s.brokers[id]
	var healthy []string
	for i, b := range s.brokers {
		if i != id {
			healthy = append(healthy, b)
		}
	}
	if err := createTopic(ctx, s.brokers, partitionProbeTopic, len(s.brokers), 3); err != nil {
		t.Fatal(err)
	}
	probe := -1
	for p := range len(s.brokers) {
		if l, err := leaderOf(ctx, s.brokers, partitionProbeTopic, p); err == nil && l == id {
			probe = p
		}
	}
	if probe < 0 {
		t.Fatalf("broker %d leads no partition of %s", id, partitionProbeTopic)
	}

	nodeScript := filepath.Join(s.env.K8sLocalDir, "node.sh")
	load := s.startLoad(t, ctx)
	stopped := false
	defer func() {
		if !stopped { // a failed check: the producer must not outlive the step
			_, _ = load.Stop(context.Background())
		}
	}()
	start := time.Now()
	if out, err := exec.CommandContext(ctx, nodeScript, "kill", strconv.Itoa(index)).CombinedOutput(); err != nil {
		t.Fatalf("node.sh kill %d: %v\n%s", index, err, out)
	}
	healed := false
	heal := func(ctx context.Context) error {
		var errs []error
		for _, r := range partitionRules(index) {
			if out, err := exec.CommandContext(ctx, "iptables", append([]string{"-D"}, r...)...).CombinedOutput(); err != nil && !strings.Contains(string(out), "does a matching rule exist") {
				errs = append(errs, fmt.Errorf("iptables -D %s: %w: %s", strings.Join(r, " "), err, out))
			}
		}
		if out, err := nodeUp(ctx, nodeScript, index, zones[victim.Node]); err != nil {
			errs = append(errs, fmt.Errorf("node.sh up %d: %w\n%s", index, err, out))
		}
		healed = true
		return errors.Join(errs...)
	}
	defer func() {
		if !healed {
			if err := heal(context.Background()); err != nil {
				t.Error(err)
			}
		}
	}()
	for _, r := range partitionRules(index) {
		if out, err := exec.CommandContext(ctx, "iptables", append([]string{"-I"}, r...)...).CombinedOutput(); err != nil {
			t.Fatalf("iptables -I %s: %v: %s", strings.Join(r, " "), err, out)
		}
	}
	t.Logf("partitioned node %s (%s, broker %d, leads %s-%d) after %d acknowledged records", victim.Node, victim.Name, id, partitionProbeTopic, probe, load.Stats().Acked)

	// The cluster keeps taking writes.
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	err := load.WaitAcked(wctx, 3*loadRate)
	cancel()
	if err != nil {
		t.Fatalf("the cluster stopped taking writes with node %s partitioned: %v", victim.Node, err)
	}
	writing := time.Since(start)

	// KRaft fences the zombie: the healthy brokers no longer list it, and it leads nothing and is in
	// no ISR of the topics written to.
	if err := eventually(ctx, 2*time.Minute, time.Second, fmt.Sprintf("broker %d fenced", id), func(ctx context.Context) error {
		return fencedIn(ctx, healthy, id, loadTopic, partitionProbeTopic)
	}); err != nil {
		t.Fatal(err)
	}
	fenced := time.Since(start)

	// A client on the zombie's side: an acks=all write straight to it, for the partition it still
	// believes it leads. The zombie cannot reach the followers in its ISR, nor the controller to
	// shrink the ISR: it must never acknowledge the write.
	zombieValue := []byte("zombie-" + randomHex(6))
	ztr := transportFor(s.brokers)
	ztr.MetadataTTL = time.Minute
	zc := &kafka.Client{Addr: kafka.TCP(zombieAddr), Timeout: 15 * time.Second, Transport: ztr}
	// It answers, and still claims the partition: a write that fails to reach it proves nothing.
	if err := eventually(ctx, 30*time.Second, time.Second, "the zombie answers and claims "+partitionProbeTopic, func(ctx context.Context) error {
		md, err := zc.Metadata(ctx, &kafka.MetadataRequest{Addr: kafka.TCP(zombieAddr), Topics: []string{partitionProbeTopic}})
		if err != nil {
			return err
		}
		for _, tp := range md.Topics {
			for _, p := range tp.Partitions {
				if p.ID == probe && p.Leader.ID != id {
					return fmt.Errorf("the zombie says broker %d leads %s-%d", p.Leader.ID, partitionProbeTopic, probe)
				}
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	zctx, zcancel := context.WithTimeout(ctx, 20*time.Second)
	zstart := time.Now()
	resp, zerr := zc.Produce(zctx, &kafka.ProduceRequest{Topic: partitionProbeTopic, Partition: probe, RequiredAcks: kafka.RequireAll,
		Records: kafka.NewRecordReader(kafka.Record{Value: kafka.NewBytes(zombieValue)})})
	zcancel()
	if zerr == nil && resp.Error != nil {
		zerr = resp.Error
	}
	var kerr kafka.Error
	switch {
	case zerr == nil:
		t.Errorf("the zombie broker %d acknowledged an acks=all write alone (offset %d) while cut off from its ISR and the quorum", id, resp.BaseOffset)
	case !errors.As(zerr, &kerr) && !errors.Is(zerr, context.DeadlineExceeded):
		// Not an answer of the zombie (a refused connection, say): the write never reached it.
		t.Errorf("the write to the zombie failed without reaching it, so it shows nothing: %v", zerr)
	default:
		t.Logf("acks=all write straight to the zombie (partition %d): not acknowledged after %s: %v", probe, time.Since(zstart).Round(100*time.Millisecond), zerr)
	}

	// The partition heals: the broker catches up (Ready means back in every ISR).
	healStart := time.Now()
	if err := heal(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := waitPod(ctx, ns, victim.Name, nodeLossTimeout, "Ready again", func(p podState) bool { return p.Ready }); err != nil {
		t.Fatal(err)
	}
	caughtUp := time.Since(healStart)
	now, _ := kafkaPods(ctx, ns)
	t.Logf("%s after the partition: uid same=%v, %d container restarts (%d before)", victim.Name, now[victim.Name].UID == victim.UID, now[victim.Name].Restarts, victim.Restarts)

	// The zombie's write is not in the log: on rejoining, the broker truncated what only it held.
	marker := []byte("after-partition-" + randomHex(6))
	if err := eventually(ctx, time.Minute, time.Second, "an acks=all write after the partition", func(ctx context.Context) error {
		resp, err := newClient(s.brokers).Produce(ctx, &kafka.ProduceRequest{Topic: partitionProbeTopic, Partition: probe, RequiredAcks: kafka.RequireAll,
			Records: kafka.NewRecordReader(kafka.Record{Value: kafka.NewBytes(marker)})})
		if err == nil {
			err = resp.Error
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithTimeout(ctx, time.Minute)
	found := false
	_, err = readUntil(rctx, s.brokers, partitionProbeTopic, probe, func(v []byte) bool {
		found = found || bytes.Equal(v, zombieValue)
		return bytes.Equal(v, marker)
	})
	rcancel()
	if err != nil {
		t.Fatalf("reading %s-%d back: %v", partitionProbeTopic, probe, err)
	}
	if found {
		t.Errorf("the write sent only to the zombie is in the log of %s-%d", partitionProbeTopic, probe)
	}

	stopped = true
	rep := s.stopLoad(t, ctx, load)
	s.measure(t, "partition of a voter's node under load", "%s (broker %d): writes resumed (%d acknowledged) %s after, fenced after %s, zombie acknowledged nothing; healed after %s, caught up %s later; producer longest gap %s, %d unacknowledged (%d written anyway), %d retry duplicates, 0 lost",
		victim.Node, id, 3*loadRate, writing.Round(100*time.Millisecond), fenced.Round(100*time.Millisecond), healStart.Sub(start).Round(time.Second), caughtUp.Round(time.Second),
		rep.LongestAckGap.Round(time.Millisecond), rep.Unacknowledged, rep.Verify.UnacknowledgedWritten, rep.Verify.RetryDuplicates)
}

// fencedIn checks, on the metadata the healthy brokers serve, that broker id is fenced: not listed,
// and neither leader nor in the ISR of any partition of topics.
func fencedIn(ctx context.Context, healthy []string, id int, topics ...string) error {
	md, err := newClient(healthy).Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
	if err != nil {
		return err
	}
	for _, b := range md.Brokers {
		if b.ID == id {
			return fmt.Errorf("broker %d still registered", id)
		}
	}
	for _, tp := range md.Topics {
		for _, p := range tp.Partitions {
			if p.Leader.ID == id {
				return fmt.Errorf("broker %d still leads %s-%d", id, tp.Name, p.ID)
			}
			for _, r := range p.Isr {
				if r.ID == id {
					return fmt.Errorf("broker %d still in the ISR of %s-%d", id, tp.Name, p.ID)
				}
			}
		}
	}
	return nil
}
