// Package kraft is the functional core of kafka-kraft: every decision about Kafka and Kubernetes that
// can be made without talking to either lives here as pure, deterministic Go. It imports nothing from
// Pulumi, reads no environment, has no clock and no randomness, so every function is testable with
// tables and golden files and gives byte-identical output for identical input (a prerequisite for a
// no-change `pulumi up` being a true no-op).
package kraft

// Fixed names. They form the contract between the StatefulSet and the image's entrypoint (pods are
// kafka-0..N-1, the ordinal is the suffix after the last '-'), so they are not configurable.
const (
	// StatefulSetName names the StatefulSet; pods are StatefulSetName-<ordinal>.
	StatefulSetName = "kafka"
	// HeadlessServiceName is the headless Service that gives every pod a stable DNS name and serves
	// as the in-cluster bootstrap address.
	HeadlessServiceName = "kafka-svc"
	// ConfigMapName holds the rendered properties (see Render).
	ConfigMapName = StatefulSetName + "-config"
	// ConfigMountPath is where the rendered properties are mounted (KAFKA_CONFIG_DIR).
	ConfigMountPath = "/etc/kafka-kraft"
	// DataMountPath is where each node's storage is mounted.
	DataMountPath = "/var/lib/kafka/data"
	// LogDir is log.dirs: a directory inside the mount, not the mount itself, because a freshly
	// formatted ext4 volume holds lost+found and Kafka refuses a log dir with a non-partition entry.
	LogDir = DataMountPath + "/kafka-logs"
	// DataClaimName is the volumeClaimTemplate name: PVCs are data-kafka-<ordinal>.
	DataClaimName = "data"

	// InternalPort serves brokers and in-cluster clients (listener INTERNAL).
	InternalPort = 9092
	// ControllerPort serves the KRaft quorum (listener CONTROLLER), on controller nodes only.
	ControllerPort = 9093
	// ExternalPort serves clients outside the cluster through per-broker NodePorts (listener EXTERNAL).
	ExternalPort = 9094

	// KafkaUID is the non-root user the Kafka image runs as (see docker/Dockerfile).
	KafkaUID = 1001
)

// NodePort range of a default Kubernetes API server (--service-node-port-range).
const (
	MinNodePort = 30000
	MaxNodePort = 32767
)

// Config is everything a stack can set, already parsed from Pulumi config into plain values.
// Defaults() gives the values used for keys a stack leaves unset.
type Config struct {
	// Project and Stack identify the deployment; they seed the default cluster id and name
	// cluster-scoped objects (PersistentVolumes) so two stacks never collide.
	Project string
	Stack   string

	// Namespace holds every namespaced object of the stack. Default "kafka-kraft". Must be a DNS-1123 label.
	Namespace string
	// ClusterDomain is the cluster's DNS suffix used in pod addresses. Default "cluster.local".
	ClusterDomain string

	// Replicas is the number of Kafka nodes (StatefulSet replicas). Default 3; at least 1.
	Replicas int
	// Controllers is how many of the first ordinals are KRaft voters (broker+controller); the rest
	// are broker-only, so brokers can be added without touching the quorum. Default: 3 when
	// Replicas >= 3, else 1. Must be odd and between 1 and Replicas.
	Controllers int
	// ClusterID is the Kafka cluster id (22 characters of URL-safe base64, 16 bytes). Default:
	// derived from Project, Stack and Namespace, so it is stable across runs of one stack.
	ClusterID string

	// ExternalHost is the host name or IP that clients outside the cluster use to reach node ports;
	// advertised on the EXTERNAL listener. Default "127.0.0.1".
	ExternalHost string
	// ExternalNodePortBase is the NodePort of broker 0's external Service; broker N uses base+N.
	// Default 31090; the whole range must lie within 30000-32767.
	ExternalNodePortBase int

	// Storage of each Kafka node.
	Storage Storage

	// Spread says how the Kafka pods spread over nodes and zones: SpreadSoft (default) prefers one
	// pod per node and per zone and still schedules when it cannot; SpreadHard refuses to put two
	// pods on one node (a pod stays Pending instead).
	Spread string

	// ReassignmentThrottle bounds the bytes per second each broker spends copying replicas when a
	// scale-down moves them off the removed brokers (a Kubernetes quantity: 50Mi). Only the copies
	// are throttled, never the in-sync replicas serving clients. Default 50Mi.
	ReassignmentThrottle string

	// VolumeGenerations holds, per ordinal, how many times a scale-down has removed that ordinal's
	// broker (from the previous deployment): a broker added again gets a new hostPath volume, so
	// it never starts on the data of the broker removed before. Set by the program, not by users.
	VolumeGenerations []int

	// Resources of each Kafka container.
	Resources Resources

	// BrokerProperties are extra server.properties entries. Keys must be known Kafka broker
	// settings and must not be one the program manages (see ManagedKeys). Default none.
	BrokerProperties map[string]string

	// KafkaVersion is the Kafka release the nodes run: it decides which broker settings exist and
	// the feature levels the cluster settles on. Default DefaultKafkaVersion; one of Releases.
	KafkaVersion string

	// Security of the listeners, users and ACLs (security.go).
	Security Security

	// Monitoring: MonitoringMetrics (default: every node serves Prometheus metrics on a named port,
	// a headless Service lists them, pods carry the prometheus.io/* annotations),
	// MonitoringOperator (also a ServiceMonitor, a PrometheusRule and a Grafana dashboard
	// ConfigMap: needs the Prometheus Operator's CRDs) or MonitoringNone (no exporter).
	Monitoring string

	// SecretBrokerProperties is set by the program when brokerProperties was set with `pulumi
	// config set --secret`: then every one of them is kept out of the ConfigMap (see
	// SplitBrokerProperties).
	SecretBrokerProperties bool

	// SecretNames are the names of the Secrets the program made for this update (set by the
	// program from the stack's secret material, internal/pki): they change with the content, so a
	// pod template or Job that mounts them changes with it.
	SecretNames SecretNames

	// ImagePullSecret names the Secret the pods pull images from the in-cluster registry with
	// ("" when the registry takes no credentials or is not ours). Set by the program.
	ImagePullSecret string

	// TLSEpoch is TLSEpoch of the update's date (set by the program): on the pod template, so the
	// first update in a new rotation window rolls the nodes onto fresh certificates.
	TLSEpoch int64
}

// SecretNames names the stack's Secrets; "" for one that does not exist.
type SecretNames struct {
	// TLS holds the cluster CA (TLSCACertFile, TLSCAKeyFile).
	TLS string
	// Users holds UsersFile for the cluster Job.
	Users string
	// Properties holds SecretPropertiesFile.
	Properties string
}

// Storage configures persistent storage.
type Storage struct {
	// Size of each node's volume, a Kubernetes quantity such as "10Gi". Default "1Gi".
	Size string
	// Class is the StorageClass for dynamic provisioning. Default "" which means a hostPath
	// PersistentVolume per node under HostPath/<stack>/ (as the original tutorial did; single-node
	// clusters only).
	Class string
	// HostPath is the root directory for hostPath volumes. Default "/mnt/kafka". Absolute path.
	HostPath string
}

// Resources are the Kafka container's requests and limits and the JVM heap.
type Resources struct {
	// CPURequest default "250m"; CPULimit default "1".
	CPURequest string
	CPULimit   string
	// MemoryRequest and MemoryLimit default "1Gi"; the heap must fit well inside the limit.
	MemoryRequest string
	MemoryLimit   string
	// HeapOpts is KAFKA_HEAP_OPTS. Default "-Xms512m -Xmx512m".
	HeapOpts string
}

// Defaults for every setting; the README configuration table lists the same values.
const (
	DefaultNamespace            = "kafka-kraft"
	DefaultClusterDomain        = "cluster.local"
	DefaultReplicas             = 3
	DefaultExternalHost         = "127.0.0.1"
	DefaultExternalNodePortBase = 31090
	DefaultStorageSize          = "1Gi"
	DefaultStorageHostPath      = "/mnt/kafka"
	DefaultCPURequest           = "250m"
	DefaultCPULimit             = "1"
	DefaultMemoryRequest        = "1Gi"
	DefaultMemoryLimit          = "1Gi"
	DefaultHeapOpts             = "-Xms512m -Xmx512m"
	DefaultKafkaVersion         = "4.4.0"
	DefaultSecurity             = SecurityTLS

	MonitoringMetrics  = "metrics"
	MonitoringOperator = "prometheus-operator"
	MonitoringNone     = "none"
	DefaultMonitoring  = MonitoringMetrics

	DefaultReassignmentThrottle = "50Mi"

	SpreadSoft    = "soft"
	SpreadHard    = "hard"
	DefaultSpread = SpreadSoft
)

// ReassignmentThrottleBytes is ReassignmentThrottle in bytes per second (0 if it does not parse:
// Validate refuses that before anything runs).
func ReassignmentThrottleBytes(c Config) int64 {
	v, _ := quantityValue(c.ReassignmentThrottle)
	return int64(v)
}

// DefaultControllers is the voter count used when a stack does not set one: three voters tolerate
// one failure, which is what the original three-node tutorial had; smaller clusters get one.
func DefaultControllers(replicas int) int {
	if replicas >= 3 {
		return 3
	}
	return 1
}

// Defaults returns a Config with every default filled in for the given project and stack.
func Defaults(project, stack string) Config {
	return Config{
		Project:              project,
		Stack:                stack,
		Namespace:            DefaultNamespace,
		ClusterDomain:        DefaultClusterDomain,
		Replicas:             DefaultReplicas,
		Controllers:          DefaultControllers(DefaultReplicas),
		ExternalHost:         DefaultExternalHost,
		ExternalNodePortBase: DefaultExternalNodePortBase,
		Spread:               DefaultSpread,
		ReassignmentThrottle: DefaultReassignmentThrottle,
		Storage: Storage{
			Size:     DefaultStorageSize,
			HostPath: DefaultStorageHostPath,
		},
		Resources: Resources{
			CPURequest:    DefaultCPURequest,
			CPULimit:      DefaultCPULimit,
			MemoryRequest: DefaultMemoryRequest,
			MemoryLimit:   DefaultMemoryLimit,
			HeapOpts:      DefaultHeapOpts,
		},
		BrokerProperties: map[string]string{},
		KafkaVersion:     DefaultKafkaVersion,
		Security:         Security{Mode: DefaultSecurity, Users: map[string]User{}},
		Monitoring:       DefaultMonitoring,
	}
}
