package kraft

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Node is one Kafka node of the StatefulSet, fully determined by its ordinal and the Config.
type Node struct {
	// Ordinal is the StatefulSet ordinal; NodeID equals it, so ids are stable across restarts and
	// scale-up adds ids without renumbering anyone.
	Ordinal int
	NodeID  int
	// Controller is true for the first Controllers ordinals: they vote in the KRaft quorum.
	Controller bool
	// PodName and InternalHost are the pod's name and its stable DNS name via the headless Service.
	PodName      string
	InternalHost string
	// ExternalNodePort is the NodePort of this broker's external Service.
	ExternalNodePort int
}

// Roles is the process.roles value of the node.
func (n Node) Roles() string {
	if n.Controller {
		return "broker,controller"
	}
	return "broker"
}

// PodName is the StatefulSet pod name for an ordinal.
func PodName(ordinal int) string { return fmt.Sprintf("%s-%d", StatefulSetName, ordinal) }

// PodHost is the fully qualified DNS name of a pod behind the headless Service.
func PodHost(ordinal int, namespace, domain string) string {
	return fmt.Sprintf("%s.%s.%s.svc.%s", PodName(ordinal), HeadlessServiceName, namespace, domain)
}

// Nodes lists every node of the cluster in ordinal order.
func Nodes(c Config) []Node {
	nodes := make([]Node, c.Replicas)
	for i := range nodes {
		nodes[i] = Node{
			Ordinal:          i,
			NodeID:           i,
			Controller:       i < c.Controllers,
			PodName:          PodName(i),
			InternalHost:     PodHost(i, c.Namespace, c.ClusterDomain),
			ExternalNodePort: c.ExternalNodePortBase + i,
		}
	}
	return nodes
}

// QuorumVoters renders controller.quorum.voters: "id@host:port" for every controller, sorted by id
// so the value never changes between runs (Strimzi sorts "to avoid random changes" too).
func QuorumVoters(c Config) string {
	var voters []string
	for _, n := range Nodes(c) {
		if n.Controller {
			voters = append(voters, fmt.Sprintf("%d@%s:%d", n.NodeID, n.InternalHost, ControllerPort))
		}
	}
	return strings.Join(voters, ",")
}

// BootstrapServers is the in-cluster bootstrap address: the headless Service resolves to every pod.
func BootstrapServers(c Config) string {
	port := InternalPort
	if c.Security.Enabled() {
		port = ClientPort // INTERNAL is for the nodes alone then
	}
	return fmt.Sprintf("%s.%s.svc.%s:%d", HeadlessServiceName, c.Namespace, c.ClusterDomain, port)
}

// ExternalBootstrapServers lists every broker's external address, comma separated, in ordinal order.
func ExternalBootstrapServers(c Config) string {
	addrs := make([]string, 0, c.Replicas)
	for _, n := range Nodes(c) {
		addrs = append(addrs, fmt.Sprintf("%s:%d", c.ExternalHost, n.ExternalNodePort))
	}
	return strings.Join(addrs, ",")
}

// ReplicationFactor fits the internal topics' replication factor to the broker count: three copies
// where possible, fewer on smaller clusters (a one-broker stack cannot host RF 3 and Kafka would
// refuse to create __consumer_offsets).
func ReplicationFactor(replicas int) int { return min(3, replicas) }

// MinInsyncReplicas keeps acks=all writes available with one replica down: RF-1, at least 1.
func MinInsyncReplicas(replicas int) int { return max(1, ReplicationFactor(replicas)-1) }

// DeriveClusterID returns a stable Kafka cluster id for a stack: the first 16 bytes of
// SHA-256(project/stack/namespace), URL-safe base64 without padding (22 characters, the format of
// `kafka-storage random-uuid`). The top bit is cleared so the id never starts with '-' (Kafka's
// Uuid.randomUuid avoids that too, because command lines would read it as a flag).
func DeriveClusterID(project, stack, namespace string) string {
	sum := sha256.Sum256([]byte(project + "/" + stack + "/" + namespace))
	id := sum[:16]
	id[0] &= 0x7f
	return base64.RawURLEncoding.EncodeToString(id)
}

// EffectiveClusterID is the configured cluster id, or the derived one when none is configured.
func EffectiveClusterID(c Config) string {
	if c.ClusterID != "" {
		return c.ClusterID
	}
	return DeriveClusterID(c.Project, c.Stack, c.Namespace)
}

// Labels are the labels on every object of the stack. SelectorLabels is the minimal, stable subset
// used in selectors: a StatefulSet's selector is immutable, so nothing that can change (versions,
// images) may appear in it.
func SelectorLabels(c Config, component string) map[string]string {
	return InstanceSelectorLabels(c.Stack, component)
}

// InstanceSelectorLabels are SelectorLabels for an instance name (a component used on its own).
func InstanceSelectorLabels(instance, component string) map[string]string {
	return map[string]string{
		"app.kubernetes.io/name":     component,
		"app.kubernetes.io/instance": instance,
		"app.kubernetes.io/part-of":  "kafka-kraft",
	}
}

// StableLabels are SelectorLabels plus the labels that never change for a stack: the labels of
// immutable objects such as the StatefulSet's claim templates.
func StableLabels(c Config, component string) map[string]string {
	return InstanceStableLabels(c.Stack, component)
}

// InstanceStableLabels are StableLabels for an instance name.
func InstanceStableLabels(instance, component string) map[string]string {
	l := InstanceSelectorLabels(instance, component)
	l["app.kubernetes.io/managed-by"] = "pulumi"
	return l
}

// Labels adds descriptive labels that may change (the Kafka version) to StableLabels.
func Labels(c Config, component string) map[string]string {
	l := StableLabels(c, component)
	if component == StatefulSetName {
		l["app.kubernetes.io/version"] = c.KafkaVersion
	}
	return l
}

// HostPathDir is the hostPath directory backing one volume: <root>/<stack>/<name>.
func HostPathDir(c Config, name string) string {
	return strings.TrimRight(c.Storage.HostPath, "/") + "/" + c.Stack + "/" + name
}

// PersistentVolumeName names a cluster-scoped hostPath PersistentVolume so that stacks and
// namespaces never collide: kafka-kraft-<stack>-<namespace>-<claim>.
func PersistentVolumeName(c Config, claim string) string {
	return fmt.Sprintf("kafka-kraft-%s-%s-%s", c.Stack, c.Namespace, claim)
}

// BrokerVolume returns the hostPath PersistentVolume name and directory of an ordinal's data: a
// broker added again after a scale-down removed it (VolumeGenerations) gets a fresh pair, suffixed
// -g<generation>, so it never starts on the removed broker's data; the old directory stays on the
// node untouched (hostPath PVs are Retain).
func BrokerVolume(c Config, ordinal int) (pvName, dir string) {
	claim, name := DataClaim(ordinal), PodName(ordinal)
	if ordinal < len(c.VolumeGenerations) && c.VolumeGenerations[ordinal] > 0 {
		suffix := fmt.Sprintf("-g%d", c.VolumeGenerations[ordinal])
		return PersistentVolumeName(c, claim) + suffix, HostPathDir(c, name+suffix)
	}
	return PersistentVolumeName(c, claim), HostPathDir(c, name)
}

// NextVolumeGenerations returns the volume generations after an update from prev to replicas: every
// ordinal a scale-down removes gets its generation raised.
func NextVolumeGenerations(prev Deployed, replicas int) []int {
	gens := append([]int(nil), prev.VolumeGenerations...)
	for len(gens) < max(prev.Replicas, replicas) {
		gens = append(gens, 0)
	}
	for i := replicas; i < prev.Replicas; i++ {
		gens[i]++
	}
	// Trailing zeros say nothing: keep the recorded list short.
	for len(gens) > 0 && gens[len(gens)-1] == 0 {
		gens = gens[:len(gens)-1]
	}
	return gens
}

// DataClaim is the PVC name the StatefulSet uses for an ordinal.
func DataClaim(ordinal int) string { return DataClaimName + "-" + PodName(ordinal) }

// sortedKeys returns the keys of m in lexical order.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

func itoa(i int) string { return strconv.Itoa(i) }

// MaxUnavailable is the disruption budget of the Kafka pods: how many may be down by choice (a
// drain, an eviction) at once. One, so that with RF 3 and min.insync.replicas 2 every partition
// keeps taking acks=all writes and a quorum of three voters keeps a majority; none when there is a
// single voter, whose loss stops the cluster's metadata quorum (a drain then waits; delete the pod
// yourself when you accept the outage).
func MaxUnavailable(c Config) int {
	if c.Controllers < 3 {
		return 0
	}
	return 1
}

// Spread constraints of the Kafka pods over nodes and zones.
const (
	HostnameTopologyKey = "kubernetes.io/hostname"
	ZoneTopologyKey     = "topology.kubernetes.io/zone"
)

// PodIndexLabel is the label the StatefulSet controller puts on every pod with its ordinal
// (Kubernetes 1.28 and later; GA in 1.32).
const PodIndexLabel = "apps.kubernetes.io/pod-index"

// SpreadRule is one topology spread constraint of the Kafka pods.
type SpreadRule struct {
	TopologyKey       string
	WhenUnsatisfiable string // ScheduleAnyway or DoNotSchedule
	// PodIndexes, when set, narrows the rule to the pods with these ordinals (PodIndexLabel); empty:
	// every Kafka pod.
	PodIndexes []string
	// HonorTaints excludes nodes whose taints the pod does not tolerate (cordoned, unreachable) from
	// the domains the skew is computed over (nodeTaintsPolicy Honor).
	HonorTaints bool
}

// SpreadRules spread the pods evenly (max skew 1) over nodes and zones, so a node or zone loss
// takes as few brokers and voters as possible. Soft: the scheduler prefers it and places the pod
// anyway. Hard: never more pods on one node than the even spread allows (a pod stays Pending until
// a node is free); zones stay soft (clusters without zone labels would never schedule).
//
// The voters get a rule of their own, hard whatever Spread says: two voters on one node make that
// node's loss a quorum loss (3 voters) or take the quorum's whole margin (5), and soft spread over
// all pods does not prevent it (seen: the scheduler weighs a broker-only pod like a voter). It never
// leaves a voter Pending needlessly: with max skew 1 over the nodes a voter may use, a second voter
// lands on a node only when every usable node already has one (1 node, 3 voters: all on it).
// Tainted nodes are left out of that count (nodeTaintsPolicy Honor), or a drain, which cordons the
// node, would keep the evicted voter Pending until the node is uncordoned (the cordoned node would
// count as an empty node the voter cannot use). A single voter needs no rule.
func SpreadRules(c Config) []SpreadRule {
	host := "ScheduleAnyway"
	if c.Spread == SpreadHard {
		host = "DoNotSchedule"
	}
	rules := []SpreadRule{
		{TopologyKey: HostnameTopologyKey, WhenUnsatisfiable: host},
		{TopologyKey: ZoneTopologyKey, WhenUnsatisfiable: "ScheduleAnyway"},
	}
	if c.Controllers > 1 {
		voters := make([]string, c.Controllers)
		for i := range voters {
			voters[i] = strconv.Itoa(i)
		}
		rules = append(rules, SpreadRule{TopologyKey: HostnameTopologyKey, WhenUnsatisfiable: "DoNotSchedule", PodIndexes: voters, HonorTaints: true})
	}
	return rules
}
