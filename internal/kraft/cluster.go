package kraft

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
)

// ClusterDynamicDefaults are the broker settings that a running Kafka 4.x cluster keeps as
// cluster-wide dynamic defaults, which win over server.properties: min.insync.replicas is written as
// a cluster-level config record when storage is formatted (eligible leader replicas, KIP-966), so
// the value rendered at a later growth or a brokerProperties change would never take effect.
// Measured on Kafka 4.4.0: after growth 1->3, DescribeConfigs reports
// DYNAMIC_DEFAULT_BROKER_CONFIG min.insync.replicas=1 over STATIC_BROKER_CONFIG 2.
var ClusterDynamicDefaults = []string{"min.insync.replicas"}

// ClusterJobName is the prefix of the Job that applies ClusterSettings; the rest is a hash of its
// command, so a changed setting makes a new Job and an unchanged one is left alone.
const ClusterJobName = "kafka-cluster-config"

// ReadinessBinary is the path of the image's kafka-ready binary (docker/kafka-ready).
const ReadinessBinary = "/opt/kafka/bin/kafka-ready"

// ClusterSettings returns what a running cluster must be told through the Admin API: the effective
// value of every ClusterDynamicDefaults key (rendered default, or the user's brokerProperties) and
// the replication factor of the internal topics (offsets.topic.replication.factor as rendered).
func ClusterSettings(c Config) (defaults map[string]string, internalRF int) {
	shared := SharedProperties(c)
	for k, v := range c.BrokerProperties {
		shared[k] = v
	}
	defaults = map[string]string{}
	for _, k := range ClusterDynamicDefaults {
		if v, ok := shared[k]; ok {
			defaults[k] = v
		}
	}
	if _, err := fmt.Sscanf(shared["offsets.topic.replication.factor"], "%d", &internalRF); err != nil {
		internalRF = ReplicationFactor(c.Replicas)
	}
	return defaults, internalRF
}

// ClusterJobCommand is the command of the cluster-settings Job: `kafka-ready cluster` against every
// broker's internal address, waiting for all Replicas brokers first.
func ClusterJobCommand(c Config) []string {
	defaults, rf := ClusterSettings(c)
	addrs := make([]string, 0, c.Replicas)
	for _, n := range Nodes(c) {
		addrs = append(addrs, fmt.Sprintf("%s:%d", n.InternalHost, InternalPort))
	}
	cmd := []string{ReadinessBinary, "cluster", "-bootstrap", strings.Join(addrs, ","), "-brokers", itoa(c.Replicas)}
	keys := make([]string, 0, len(defaults))
	for k := range defaults {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cmd = append(cmd, "-set", k+"="+defaults[k])
	}
	// The release's feature levels, raised once every node runs it (never lowered).
	features := Releases[c.KafkaVersion].Features
	names := make([]string, 0, len(features))
	for n := range features {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		cmd = append(cmd, "-feature", n+"="+itoa(features[n]))
	}
	cmd = append(cmd, "-internal-rf", itoa(rf))
	if c.Security.Enabled() {
		// Mutual TLS with a certificate it issues itself from the CA; users and ACLs from the Secret.
		cmd = append(cmd, "-tls-ca-dir", TLSMountPath, "-users", UsersMountPath+"/"+UsersFileName)
	}
	return cmd
}

// ClusterJobObjectName is the Job's Kubernetes name: ClusterJobName plus the first 10 hex digits of
// the command's hash (63 characters at most).
func ClusterJobObjectName(c Config) string {
	// The Secrets' names change with their content (users, passwords, CA): a change runs the Job.
	sum := sha256.Sum256([]byte(strings.Join(append(ClusterJobCommand(c), c.SecretNames.TLS, c.SecretNames.Users), "\x00")))
	return ClusterJobName + "-" + hex.EncodeToString(sum[:])[:10]
}
