// Package monitoring holds what a Prometheus and a Grafana need to watch a kafka-kraft cluster: the
// Prometheus JMX exporter's rules (which JMX values each node serves, under which names), the alert
// rules, and the Grafana dashboard. All of it is pure and deterministic; the files users read
// (docker/kafka/jmx-exporter.yaml, monitoring/prometheus-rules.yaml,
// monitoring/kafka-kraft-dashboard.json) are renders of it, compared with it by the tests.
//
// One rule per series with a fixed name, never a name built from the MBean: the names the alerts
// and panels use can then be checked against the names the exporter produces, in the pure tier
// (TestEverySeriesUsedIsProduced) and against a real node (the image tier).
package monitoring

import (
	"bytes"
	"sort"

	"gopkg.in/yaml.v3"
)

const (
	// ExporterVersion is the Prometheus JMX exporter (Java agent) in the image, from Maven Central
	// (io.prometheus.jmx:jmx_prometheus_javaagent); docker/Dockerfile pins its SHA-256.
	ExporterVersion = "1.0.1"
	// MetricsPort is the exporter's HTTP port on every node (/metrics): the container port named
	// MetricsPortName, the scrape Service's port.
	MetricsPort = 9404
	// MetricsPortName names that port on the container, the Service and in the ServiceMonitor.
	MetricsPortName = "metrics"
	// MetricsServiceName is the headless Service that lists every node's metrics port. Prometheus
	// gives the series job="<this name>" when it discovers the targets through this Service
	// (ServiceMonitor, or a kubernetes_sd endpoints job relabelled the same way).
	MetricsServiceName = "kafka-metrics"
)

// Rule is one jmx_exporter rule: JMX values matching Pattern become the series Name.
type Rule struct {
	// Pattern is matched against "domain<key=value, ...><>attribute" (the exporter's format; keys in
	// the order the MBean was registered with).
	Pattern string `yaml:"pattern"`
	// Name is the series name, fixed: never "$1" (see the package comment).
	Name string `yaml:"name"`
	// Type is GAUGE or COUNTER (a counter's name ends in _total, as the exporter writes it).
	Type string `yaml:"type"`
	Help string `yaml:"help"`
	// Labels from the pattern's groups ($1, ...).
	Labels map[string]string `yaml:"labels,omitempty"`
	// ValueFactor scales the value (nanoseconds to seconds).
	ValueFactor float64 `yaml:"valueFactor,omitempty"`
	// Cache keeps the rule's verdict (match or not, and the labels) per MBean attribute across
	// scrapes. Safe because no pattern reads the value; ExporterConfig sets it on every rule.
	Cache bool `yaml:"cache,omitempty"`
}

func gauge(name, pattern, help string) Rule {
	return Rule{Pattern: pattern, Name: name, Type: "GAUGE", Help: help}
}

func counter(name, pattern, help string) Rule {
	return Rule{Pattern: pattern, Name: name, Type: "COUNTER", Help: help}
}

func (r Rule) with(labels ...string) Rule {
	r.Labels = map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		r.Labels[labels[i]] = labels[i+1]
	}
	return r
}

func (r Rule) scaled(f float64) Rule {
	r.ValueFactor = f
	return r
}

// includeObjectNames are the MBeans the exporter reads at all. A Kafka node registers thousands
// (per partition, per client, per request version); reading only these keeps a scrape short.
var includeObjectNames = []string{
	"java.lang:type=OperatingSystem",
	"kafka.controller:type=KafkaController,*",
	"kafka.log:type=Log,name=Size,*",
	"kafka.log:type=LogManager,name=OfflineLogDirectoryCount",
	"kafka.network:type=RequestMetrics,name=ErrorsPerSec,*",
	"kafka.network:type=RequestMetrics,name=RequestsPerSec,*",
	"kafka.network:type=RequestMetrics,name=TotalTimeMs,request=FetchConsumer",
	"kafka.network:type=RequestMetrics,name=TotalTimeMs,request=FetchFollower",
	"kafka.network:type=RequestMetrics,name=TotalTimeMs,request=Metadata",
	"kafka.network:type=RequestMetrics,name=TotalTimeMs,request=Produce",
	"kafka.network:type=SocketServer,name=NetworkProcessorAvgIdlePercent",
	"kafka.server:type=BrokerTopicMetrics,*",
	"kafka.server:type=KafkaRequestHandlerPool,name=RequestHandlerAvgIdlePercent",
	"kafka.server:type=KafkaServer,name=BrokerState",
	"kafka.server:type=ReplicaFetcherManager,name=MaxLag,clientId=Replica",
	"kafka.server:type=ReplicaManager,*",
	"kafka.server:type=broker-metadata-metrics",
	"kafka.server:type=raft-metrics",
}

// Rules are the exporter's rules: broker, controller, KRaft quorum, requests, logs, process.
var Rules = []Rule{
	// Broker health.
	gauge("kafka_server_broker_state", `kafka.server<type=KafkaServer, name=BrokerState><>Value`,
		"Broker state: 3 RUNNING, 1 STARTING, 2 RECOVERY, 6 PENDING_CONTROLLED_SHUTDOWN, 7 SHUTTING_DOWN."),
	gauge("kafka_server_under_replicated_partitions", `kafka.server<type=ReplicaManager, name=UnderReplicatedPartitions><>Value`,
		"Partitions this broker leads whose ISR is smaller than their replica set."),
	gauge("kafka_server_under_min_isr_partitions", `kafka.server<type=ReplicaManager, name=UnderMinIsrPartitionCount><>Value`,
		"Partitions this broker leads whose ISR is below min.insync.replicas: acks=all writes to them fail."),
	gauge("kafka_server_at_min_isr_partitions", `kafka.server<type=ReplicaManager, name=AtMinIsrPartitionCount><>Value`,
		"Partitions this broker leads whose ISR is exactly min.insync.replicas: one more loss stops acks=all writes."),
	gauge("kafka_server_offline_replicas", `kafka.server<type=ReplicaManager, name=OfflineReplicaCount><>Value`,
		"Replicas on this broker that are offline (their log directory failed)."),
	gauge("kafka_server_partitions", `kafka.server<type=ReplicaManager, name=PartitionCount><>Value`,
		"Partition replicas on this broker."),
	gauge("kafka_server_leader_partitions", `kafka.server<type=ReplicaManager, name=LeaderCount><>Value`,
		"Partitions this broker leads."),
	counter("kafka_server_isr_shrinks_total", `kafka.server<type=ReplicaManager, name=IsrShrinksPerSec><>Count`,
		"ISR shrinks on partitions this broker leads."),
	counter("kafka_server_isr_expands_total", `kafka.server<type=ReplicaManager, name=IsrExpandsPerSec><>Count`,
		"ISR expansions on partitions this broker leads."),
	gauge("kafka_server_replica_fetcher_max_lag", `kafka.server<type=ReplicaFetcherManager, name=MaxLag, clientId=Replica><>Value`,
		"Largest lag in messages of this broker's follower replicas behind their leaders."),
	gauge("kafka_server_request_handler_idle_ratio", `kafka.server<type=KafkaRequestHandlerPool, name=RequestHandlerAvgIdlePercent><>OneMinuteRate`,
		"Share of time the request handler threads are idle (1 = idle, 0 = saturated), one-minute rate."),
	gauge("kafka_network_processor_idle_ratio", `kafka.network<type=SocketServer, name=NetworkProcessorAvgIdlePercent><>Value`,
		"Share of time the network threads are idle (1 = idle, 0 = saturated)."),

	// Traffic, all topics on this broker and per topic.
	counter("kafka_server_messages_in_total", `kafka.server<type=BrokerTopicMetrics, name=MessagesInPerSec><>Count`,
		"Records appended by producers to partitions this broker leads."),
	counter("kafka_server_bytes_in_total", `kafka.server<type=BrokerTopicMetrics, name=BytesInPerSec><>Count`,
		"Bytes written by producers to this broker."),
	counter("kafka_server_bytes_out_total", `kafka.server<type=BrokerTopicMetrics, name=BytesOutPerSec><>Count`,
		"Bytes read by consumers from this broker."),
	counter("kafka_server_replication_bytes_in_total", `kafka.server<type=BrokerTopicMetrics, name=ReplicationBytesInPerSec><>Count`,
		"Bytes this broker fetched as a follower."),
	counter("kafka_server_failed_produce_requests_total", `kafka.server<type=BrokerTopicMetrics, name=FailedProduceRequestsPerSec><>Count`,
		"Produce requests that failed on this broker."),
	counter("kafka_server_failed_fetch_requests_total", `kafka.server<type=BrokerTopicMetrics, name=FailedFetchRequestsPerSec><>Count`,
		"Fetch requests that failed on this broker."),
	counter("kafka_server_topic_messages_in_total", `kafka.server<type=BrokerTopicMetrics, name=MessagesInPerSec, topic=(.+)><>Count`,
		"Records appended by producers, per topic.").with("topic", "$1"),
	counter("kafka_server_topic_bytes_in_total", `kafka.server<type=BrokerTopicMetrics, name=BytesInPerSec, topic=(.+)><>Count`,
		"Bytes written by producers, per topic.").with("topic", "$1"),
	counter("kafka_server_topic_bytes_out_total", `kafka.server<type=BrokerTopicMetrics, name=BytesOutPerSec, topic=(.+)><>Count`,
		"Bytes read by consumers, per topic.").with("topic", "$1"),

	// Requests.
	counter("kafka_network_requests_total", `kafka.network<type=RequestMetrics, name=RequestsPerSec, request=(.+), version=(.+)><>Count`,
		"Requests received, per API and version.").with("request", "$1", "version", "$2"),
	counter("kafka_network_request_errors_total", `kafka.network<type=RequestMetrics, name=ErrorsPerSec, request=(.+), error=(.+)><>Count`,
		"Responses per API and error code (error NONE counts the successful ones).").with("request", "$1", "error", "$2"),
	gauge("kafka_network_request_time_ms", `kafka.network<type=RequestMetrics, name=TotalTimeMs, request=(Produce|FetchConsumer|FetchFollower|Metadata)><>(50|99)thPercentile`,
		"Time from receiving a request to sending its response (ms), quantile over the last samples.").with("request", "$1", "quantile", "0.$2"),

	// Logs and disks.
	gauge("kafka_log_size_bytes", `kafka.log<type=Log, name=Size, topic=(.+), partition=(.+)><>Value`,
		"Size on disk of a partition's log on this broker.").with("topic", "$1", "partition", "$2"),
	gauge("kafka_log_offline_log_directories", `kafka.log<type=LogManager, name=OfflineLogDirectoryCount><>Value`,
		"Log directories this broker took offline after an I/O error (a full or failed disk)."),

	// Controller. Every controller reports the cluster-wide counts (standbys too, from the metadata
	// they replay), so alerts and panels take the max over the nodes, never the sum; only
	// ActiveControllerCount is 1 on the active one and 0 elsewhere.
	gauge("kafka_controller_active_controller", `kafka.controller<type=KafkaController, name=ActiveControllerCount><>Value`,
		"1 on the active controller, 0 elsewhere: the sum over the cluster must be 1."),
	gauge("kafka_controller_offline_partitions", `kafka.controller<type=KafkaController, name=OfflinePartitionsCount><>Value`,
		"Partitions without a leader (every controller reports it)."),
	gauge("kafka_controller_global_partitions", `kafka.controller<type=KafkaController, name=GlobalPartitionCount><>Value`,
		"Partitions in the cluster (every controller reports it)."),
	gauge("kafka_controller_global_topics", `kafka.controller<type=KafkaController, name=GlobalTopicCount><>Value`,
		"Topics in the cluster (every controller reports it)."),
	gauge("kafka_controller_active_brokers", `kafka.controller<type=KafkaController, name=ActiveBrokerCount><>Value`,
		"Registered, unfenced brokers (every controller reports it)."),
	gauge("kafka_controller_fenced_brokers", `kafka.controller<type=KafkaController, name=FencedBrokerCount><>Value`,
		"Registered brokers that are fenced: stopped, or missing their heartbeats (every controller reports it)."),
	gauge("kafka_controller_preferred_replica_imbalance", `kafka.controller<type=KafkaController, name=PreferredReplicaImbalanceCount><>Value`,
		"Partitions not led by their preferred replica (every controller reports it)."),
	gauge("kafka_controller_metadata_errors", `kafka.controller<type=KafkaController, name=MetadataErrorCount><>Value`,
		"Errors this controller met applying metadata records."),
	gauge("kafka_controller_last_applied_record_lag_ms", `kafka.controller<type=KafkaController, name=LastAppliedRecordLagMs><>Value`,
		"Age of the last metadata record this controller applied (ms)."),

	// KRaft quorum, on every node (voters and observers).
	gauge("kafka_raft_current_leader", `kafka.server<type=raft-metrics><>current-leader`,
		"The quorum leader's node id as this node sees it; -1 when it knows none."),
	gauge("kafka_raft_current_epoch", `kafka.server<type=raft-metrics><>current-epoch`,
		"The quorum epoch as this node sees it (grows with every election)."),
	gauge("kafka_raft_high_watermark", `kafka.server<type=raft-metrics><>high-watermark`,
		"The metadata log's committed offset as this node knows it; -1 when unknown."),
	gauge("kafka_raft_log_end_offset", `kafka.server<type=raft-metrics><>log-end-offset`,
		"The end of this node's copy of the metadata log."),
	gauge("kafka_raft_commit_latency_avg_ms", `kafka.server<type=raft-metrics><>commit-latency-avg`,
		"Average time to commit a metadata record (ms), on the leader."),
	gauge("kafka_raft_voters", `kafka.server<type=raft-metrics><>number-of-voters`,
		"Voters in the quorum as this node knows it."),
	gauge("kafka_raft_unknown_voter_connections", `kafka.server<type=raft-metrics><>number-unknown-voter-connections`,
		"Voters the leader has no connection to."),
	gauge("kafka_broker_metadata_lag_ms", `kafka.server<type=broker-metadata-metrics><>last-applied-record-lag-ms`,
		"Age of the last metadata record this broker applied (ms): grows when it stops following the quorum."),
	gauge("kafka_broker_metadata_apply_errors", `kafka.server<type=broker-metadata-metrics><>metadata-apply-error-count`,
		"Errors this broker met applying metadata records."),

	// The JVM process (the exporter's own jvm_* series cover memory, GC and threads).
	counter("kafka_process_cpu_seconds_total", `java.lang<type=OperatingSystem><>ProcessCpuTime`,
		"CPU time of the node's JVM (user + system), seconds.").scaled(1e-9), // ProcessCpuTime is in ns
	gauge("kafka_process_open_fds", `java.lang<type=OperatingSystem><>OpenFileDescriptorCount`,
		"Open file descriptors of the node's JVM (segments, indexes, sockets)."),
	gauge("kafka_process_max_fds", `java.lang<type=OperatingSystem><>MaxFileDescriptorCount`,
		"The JVM's file descriptor limit."),
}

// JVMSeries are series the exporter serves on its own (its JVM collectors), beyond the rules.
var JVMSeries = []string{
	"jvm_memory_used_bytes", "jvm_memory_max_bytes", "jvm_memory_committed_bytes",
	"jvm_gc_collection_seconds_count", "jvm_gc_collection_seconds_sum",
	"jvm_threads_current", "jvm_buffer_pool_used_bytes",
	"jmx_scrape_duration_seconds", "jmx_scrape_error",
}

// exporterConfig is the jmx_exporter configuration file.
type exporterConfig struct {
	LowercaseOutputName      bool     `yaml:"lowercaseOutputName"`
	LowercaseOutputLabelName bool     `yaml:"lowercaseOutputLabelNames"`
	IncludeObjectNames       []string `yaml:"includeObjectNames"`
	Rules                    []Rule   `yaml:"rules"`
}

// ExporterConfig renders the exporter's configuration (docker/kafka/jmx-exporter.yaml).
func ExporterConfig() []byte {
	names := append([]string(nil), includeObjectNames...)
	sort.Strings(names)
	rules := append([]Rule(nil), Rules...)
	for i := range rules {
		rules[i].Cache = true
	}
	return marshal("# The Prometheus JMX exporter's rules for a kafka-kraft node: generated from monitoring/exporter.go\n"+
		"# (go test ./monitoring -update), do not edit. Served on :9404/metrics when KAFKA_METRICS_PORT is set.\n",
		exporterConfig{IncludeObjectNames: names, Rules: rules})
}

// Produced lists every series name a node serves: the rules' names and JVMSeries.
func Produced() map[string]bool {
	out := map[string]bool{}
	for _, r := range Rules {
		out[r.Name] = true
	}
	for _, s := range JVMSeries {
		out[s] = true
	}
	return out
}

func marshal(header string, v any) []byte {
	var b bytes.Buffer
	b.WriteString(header)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		panic(err) // plain structs of strings and numbers always encode
	}
	return b.Bytes()
}
