package monitoring

import (
	"fmt"
	"strings"

	"github.com/kafka-kraft/kafka-kraft/internal/kraft"
)

// RuleOptions say which cluster the alert rules watch.
type RuleOptions struct {
	// Namespace the cluster runs in: every expression selects it, so two stacks in two namespaces
	// alert apart.
	Namespace string
	// Brokers the cluster should have (the stack's replicas): fewer active ones is an alert.
	Brokers int
	// StorageBytes is each broker's data volume size: logs above 85% of it are an alert (the one
	// disk signal that works on hostPath volumes, which report no kubelet volume stats). 0: none.
	StorageBytes float64
}

// RuleOptionsOf are the alert rules' options for a stack's configuration.
func RuleOptionsOf(c kraft.Config) RuleOptions {
	size, _ := kraft.QuantityBytes(c.Storage.Size)
	return RuleOptions{Namespace: c.Namespace, Brokers: c.Replicas, StorageBytes: size}
}

// DefaultRuleOptions are those of the default stack (namespace kafka-kraft, 3 brokers, 10Gi
// volumes): the rendering in monitoring/prometheus-rules.yaml and its promtool tests.
var DefaultRuleOptions = RuleOptionsOf(kraft.Defaults("kafka-kraft", "dev"))

// Alert is one Prometheus alerting rule.
type Alert struct {
	Name string
	// Expr uses SEL for the cluster's selector (namespace and job), KUBELET_SEL for the kubelet's
	// volume series of the cluster's claims, BROKERS for the expected broker count and
	// STORAGE_BYTES for a broker's volume size.
	Expr     string
	For      string
	Severity string // critical pages someone; warning does not
	Summary  string
	// Description may use Prometheus templates ($labels, $value).
	Description string
}

// Alerts page on what stops or endangers writes, in the order people meet them.
var Alerts = []Alert{
	{
		Name: "KafkaOfflinePartitions", Severity: "critical", For: "1m",
		Expr:        `max by (namespace) (kafka_controller_offline_partitions{SEL}) > 0`,
		Summary:     "Partitions without a leader: reads and writes to them fail.",
		Description: `{{ $value }} partitions in namespace {{ $labels.namespace }} have no leader (every replica's broker is down, or unclean election is off and no ISR member is left). Bring the brokers back; kafka-kraft's status command lists the partitions.`,
	},
	{
		Name: "KafkaUnderMinIsrPartitions", Severity: "critical", For: "1m",
		Expr:        `sum by (namespace) (kafka_server_under_min_isr_partitions{SEL}) > 0`,
		Summary:     "Partitions below min.insync.replicas: acks=all writes to them fail.",
		Description: `{{ $value }} partitions in namespace {{ $labels.namespace }} have fewer in-sync replicas than min.insync.replicas, so producers with acks=all get NOT_ENOUGH_REPLICAS.`,
	},
	{
		Name: "KafkaUnderReplicatedPartitions", Severity: "warning", For: "5m",
		// A roll keeps some partition under-replicated from its first restart to its last (the
		// next pod goes seconds after the previous one is back in every ISR, often between two
		// scrapes): about 25 s per node here, so 5 minutes covers a roll of about ten nodes.
		Expr:        `sum by (namespace) (kafka_server_under_replicated_partitions{SEL}) > 0`,
		Summary:     "Partitions with a replica out of the ISR for more than five minutes.",
		Description: `{{ $value }} partitions in namespace {{ $labels.namespace }} are under-replicated: a broker is down, fenced or lagging. One more loss may take them below min.insync.replicas.`,
	},
	{
		Name: "KafkaNoActiveController", Severity: "critical", For: "1m",
		// absent: with no controller scraped at all there is no sum to compare.
		Expr:        `sum by (namespace) (kafka_controller_active_controller{SEL}) < 1 or absent(kafka_controller_active_controller{SEL})`,
		Summary:     "No active controller: no metadata change (topics, leaders, ISR) can happen.",
		Description: `No node in namespace {{ $labels.namespace }} is the active controller: the KRaft quorum has no leader (a majority of the voters is down or cannot reach each other), or no controller can be scraped.`,
	},
	{
		Name: "KafkaMultipleActiveControllers", Severity: "critical", For: "1m",
		Expr:        `sum by (namespace) (kafka_controller_active_controller{SEL}) > 1`,
		Summary:     "More than one active controller.",
		Description: `{{ $value }} nodes in namespace {{ $labels.namespace }} report being the active controller: a split quorum or stale metrics from a partitioned node.`,
	},
	{
		Name: "KafkaQuorumWithoutLeader", Severity: "critical", For: "1m",
		Expr:        `max by (namespace, pod) (kafka_raft_current_leader{SEL}) < 0`,
		Summary:     "A node knows no KRaft quorum leader.",
		Description: `Node {{ $labels.pod }} in namespace {{ $labels.namespace }} knows no quorum leader: it cannot follow metadata changes (an election that does not end, or the node is cut off from the voters).`,
	},
	{
		Name: "KafkaBrokerFenced", Severity: "warning", For: "5m", // a roll fences each node in turn
		Expr:        `max by (namespace) (kafka_controller_fenced_brokers{SEL}) > 0`,
		Summary:     "A registered broker is fenced (stopped, or missing its heartbeats).",
		Description: `{{ $value }} brokers in namespace {{ $labels.namespace }} are fenced: they hold no leadership and are out of every ISR.`,
	},
	{
		Name: "KafkaBrokersMissing", Severity: "warning", For: "5m", // as KafkaBrokerFenced
		Expr:        `max by (namespace) (kafka_controller_active_brokers{SEL}) < BROKERS`,
		Summary:     "Fewer active brokers than the stack deploys.",
		Description: `The active controller counts {{ $value }} active brokers in namespace {{ $labels.namespace }}; the stack deploys BROKERS.`,
	},
	{
		Name: "KafkaNodeNotRunning", Severity: "warning", For: "1m",
		Expr:        `max by (namespace, pod) (kafka_server_broker_state{SEL}) != 3`,
		Summary:     "A broker is not in state RUNNING.",
		Description: `Broker {{ $labels.pod }} in namespace {{ $labels.namespace }} has been in state {{ $value }} (3 is RUNNING) for a minute: starting, recovering its logs or shutting down.`,
	},
	{
		Name: "KafkaMetricsDown", Severity: "warning", For: "1m",
		Expr:        `max by (namespace, pod) (up{SEL}) == 0`,
		Summary:     "A node's metrics cannot be scraped.",
		Description: `Prometheus cannot scrape {{ $labels.pod }} in namespace {{ $labels.namespace }}: the node's JVM is down or hung, so the other alerts cannot see it either.`,
	},
	{
		Name: "KafkaClusterDown", Severity: "critical", For: "1m",
		// absent: no target at all (every pod gone, or the ServiceMonitor not selected).
		Expr:        `sum by (namespace) (up{SEL}) == 0 or absent(up{SEL})`,
		Summary:     "No node of the cluster can be scraped.",
		Description: `No Kafka node in namespace {{ $labels.namespace }} answers Prometheus: the cluster is down, or Prometheus does not scrape it (is the ServiceMonitor selected?).`,
	},
	{
		Name: "KafkaLogsFillingVolume", Severity: "warning", For: "5m",
		// Kafka's own view, so it works where the kubelet reports no volume stats (hostPath). With
		// one log directory per broker (as here) a full disk halts the broker: no offline log
		// directory to alert on, only this before and the down/fenced alerts after.
		Expr:        `sum by (namespace, pod) (kafka_log_size_bytes{SEL}) / STORAGE_BYTES > 0.85`,
		Summary:     "A broker's logs fill more than 85% of its volume.",
		Description: `The logs of {{ $labels.pod }} in namespace {{ $labels.namespace }} take {{ $value | humanizePercentage }} of its volume (storageSize). Kafka halts when the disk is full: grow the volume, shorten retention or add brokers.`,
	},
	{
		Name: "KafkaDiskFilling", Severity: "warning", For: "5m",
		// The kubelet reports volume stats for claims backed by a CSI driver or a local volume; a
		// hostPath PV reports none (k8s-local's default): KafkaLogsFillingVolume is the signal there.
		Expr:        `min by (namespace, persistentvolumeclaim) (kubelet_volume_stats_available_bytes{KUBELET_SEL} / kubelet_volume_stats_capacity_bytes{KUBELET_SEL}) < 0.15`,
		Summary:     "A broker's data volume is more than 85% full.",
		Description: `Volume {{ $labels.persistentvolumeclaim }} in namespace {{ $labels.namespace }} has {{ $value | humanizePercentage }} free. Kafka halts when the disk is full.`,
	},
	{
		Name: "KafkaDiskFull", Severity: "critical", For: "1m",
		Expr:        `min by (namespace, persistentvolumeclaim) (kubelet_volume_stats_available_bytes{KUBELET_SEL} / kubelet_volume_stats_capacity_bytes{KUBELET_SEL}) < 0.05`,
		Summary:     "A broker's data volume is more than 95% full.",
		Description: `Volume {{ $labels.persistentvolumeclaim }} in namespace {{ $labels.namespace }} has {{ $value | humanizePercentage }} free: grow it, shorten retention or add brokers now.`,
	},
}

// render fills an alert's placeholders for a cluster.
func (a Alert) render(o RuleOptions) Alert {
	r := strings.NewReplacer(
		"KUBELET_SEL", fmt.Sprintf(`namespace=%q, persistentvolumeclaim=~"data-kafka-[0-9]+"`, o.Namespace),
		"SEL", fmt.Sprintf(`namespace=%q, job=%q`, o.Namespace, MetricsServiceName),
		"BROKERS", fmt.Sprint(o.Brokers),
		"STORAGE_BYTES", fmt.Sprintf("%.0f", o.StorageBytes),
	)
	a.Expr = r.Replace(a.Expr)
	a.Description = r.Replace(a.Description)
	return a
}

// PrometheusRule is a rule in Prometheus' rule-file format (and a PrometheusRule's spec).
type PrometheusRule struct {
	Alert       string            `yaml:"alert" json:"alert"`
	Expr        string            `yaml:"expr" json:"expr"`
	For         string            `yaml:"for" json:"for"`
	Labels      map[string]string `yaml:"labels" json:"labels"`
	Annotations map[string]string `yaml:"annotations" json:"annotations"`
}

// RuleGroup is a group of rules, evaluated together.
type RuleGroup struct {
	Name  string           `yaml:"name" json:"name"`
	Rules []PrometheusRule `yaml:"rules" json:"rules"`
}

// RuleGroups are the alert rules for one cluster, as a PrometheusRule's spec.groups.
func RuleGroups(o RuleOptions) []RuleGroup {
	g := RuleGroup{Name: "kafka-kraft"}
	for _, a := range Alerts {
		if strings.Contains(a.Expr, "STORAGE_BYTES") && o.StorageBytes <= 0 {
			continue
		}
		a = a.render(o)
		g.Rules = append(g.Rules, PrometheusRule{
			Alert:  a.Name,
			Expr:   a.Expr,
			For:    a.For,
			Labels: map[string]string{"severity": a.Severity},
			Annotations: map[string]string{
				"summary":     a.Summary,
				"description": a.Description,
				"runbook_url": "https://github.com/kafka-kraft/kafka-kraft/blob/main/README.md#alerts",
			},
		})
	}
	return []RuleGroup{g}
}

// RulesFile renders the rules as a Prometheus rule file (monitoring/prometheus-rules.yaml), for a
// Prometheus without the operator (rule_files) and for promtool.
func RulesFile(o RuleOptions) []byte {
	return marshal(fmt.Sprintf("# kafka-kraft's alert rules for namespace %q, %d brokers and %.0f-byte volumes (the default stack):\n"+
		"# generated from monitoring/alerts.go (go test ./monitoring -update), do not edit. Tested by\n"+
		"# prometheus-rules.test.yaml (promtool test rules). They select job=\"kafka-metrics\": see README, Monitoring.\n", o.Namespace, o.Brokers, o.StorageBytes),
		struct {
			Groups []RuleGroup `yaml:"groups"`
		}{RuleGroups(o)})
}
