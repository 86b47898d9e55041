package monitoring

import (
	"fmt"
	"strings"
)

// RuleOptions say which cluster the alert rules watch.
type RuleOptions struct {
	// Namespace the cluster runs in: every expression selects it, so two stacks in two namespaces
	// alert apart.
	Namespace string
	// Brokers the cluster should have (the stack's replicas): fewer active ones is an alert.
	Brokers int
}

// DefaultRuleOptions are those of the default stack (namespace kafka, 3 brokers): the rendering
// in monitoring/prometheus-rules.yaml and its promtool tests.
var DefaultRuleOptions = RuleOptions{Namespace: "kafka", Brokers: 3}

// Alert is one Prometheus alerting rule.
type Alert struct {
	Name string
	// Expr uses SEL for the cluster's selector (namespace and job), KUBELET_SEL for the kubelet's
	// volume series of the cluster's claims, and BROKERS for the expected broker count.
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
		Name: "KafkaUnderReplicatedPartitions", Severity: "warning", For: "1m",
		// A safe roll restarts one node at a time and waits for the ISR between them, so this stays
		// under a minute per node; longer means a broker is down or cannot keep up.
		Expr:        `sum by (namespace) (kafka_server_under_replicated_partitions{SEL}) > 0`,
		Summary:     "Partitions with a replica out of the ISR for more than a minute.",
		Description: `{{ $value }} partitions in namespace {{ $labels.namespace }} are under-replicated: a broker is down, fenced or lagging. One more loss may take them below min.insync.replicas.`,
	},
	{
		Name: "KafkaNoActiveController", Severity: "critical", For: "1m",
		Expr:        `sum by (namespace) (kafka_controller_active_controller{SEL}) < 1`,
		Summary:     "No active controller: no metadata change (topics, leaders, ISR) can happen.",
		Description: `No node in namespace {{ $labels.namespace }} is the active controller: the KRaft quorum has no leader (a majority of the voters is down or cannot reach each other).`,
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
		Name: "KafkaBrokerFenced", Severity: "warning", For: "1m",
		Expr:        `max by (namespace) (kafka_controller_fenced_brokers{SEL}) > 0`,
		Summary:     "A registered broker is fenced (stopped, or missing its heartbeats).",
		Description: `{{ $value }} brokers in namespace {{ $labels.namespace }} are fenced: they hold no leadership and are out of every ISR.`,
	},
	{
		Name: "KafkaBrokersMissing", Severity: "warning", For: "1m",
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
		Name: "KafkaOfflineLogDirectory", Severity: "critical", For: "0s",
		Expr:        `max by (namespace, pod) (kafka_log_offline_log_directories{SEL}) > 0`,
		Summary:     "A broker took a log directory offline (disk full or failed).",
		Description: `Broker {{ $labels.pod }} in namespace {{ $labels.namespace }} took {{ $value }} log directories offline after an I/O error; its replicas there are offline.`,
	},
	{
		Name: "KafkaDiskFilling", Severity: "warning", For: "5m",
		// The kubelet reports volume stats for claims backed by a CSI driver or a local volume; a
		// hostPath PV reports none (k8s-local's default), then only KafkaOfflineLogDirectory fires.
		Expr:        `min by (namespace, persistentvolumeclaim) (kubelet_volume_stats_available_bytes{KUBELET_SEL} / kubelet_volume_stats_capacity_bytes{KUBELET_SEL}) < 0.15`,
		Summary:     "A broker's data volume is more than 85% full.",
		Description: `Volume {{ $labels.persistentvolumeclaim }} in namespace {{ $labels.namespace }} has {{ $value | humanizePercentage }} free. Kafka stops the log directory when it is full.`,
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
	return marshal(fmt.Sprintf("# kafka-kraft's alert rules for namespace %q and %d brokers: generated from monitoring/alerts.go\n"+
		"# (go test ./monitoring -update), do not edit. Tested by prometheus-rules.test.yaml (promtool test rules).\n", o.Namespace, o.Brokers),
		struct {
			Groups []RuleGroup `yaml:"groups"`
		}{RuleGroups(o)})
}
