package kraft

import (
	"strings"
	"testing"
)

func TestClusterSettings(t *testing.T) {
	t.Parallel()
	with := func(replicas int, props map[string]string) Config {
		c := Defaults("kafka-kraft", "dev")
		c.Replicas, c.Controllers = replicas, DefaultControllers(replicas)
		c.BrokerProperties = props
		return c
	}
	tests := []struct {
		name     string
		c        Config
		wantISR  string
		wantRF   int
		wantArgs string
	}{
		{"one node", with(1, nil), "1", 1, "-brokers 1 -set min.insync.replicas=1 -feature eligible.leader.replicas.version=1 -feature group.version=1 -feature metadata.version=33 -feature share.version=2 -feature streams.version=1 -feature transaction.version=2 -internal-rf 1"},
		{"grown to three: min.insync 2, internal topics to RF 3", with(3, nil), "2", 3, "-brokers 3 -set min.insync.replicas=2 -feature eligible.leader.replicas.version=1 -feature group.version=1 -feature metadata.version=33 -feature share.version=2 -feature streams.version=1 -feature transaction.version=2 -internal-rf 3"},
		{"five nodes keep RF 3", with(5, nil), "2", 3, "-brokers 5 -set min.insync.replicas=2 -feature eligible.leader.replicas.version=1 -feature group.version=1 -feature metadata.version=33 -feature share.version=2 -feature streams.version=1 -feature transaction.version=2 -internal-rf 3"},
		{"brokerProperties win", with(3, map[string]string{"min.insync.replicas": "3", "offsets.topic.replication.factor": "2"}), "3", 2,
			"-brokers 3 -set min.insync.replicas=3 -feature eligible.leader.replicas.version=1 -feature group.version=1 -feature metadata.version=33 -feature share.version=2 -feature streams.version=1 -feature transaction.version=2 -internal-rf 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			defaults, rf := ClusterSettings(tt.c)
			if defaults["min.insync.replicas"] != tt.wantISR || rf != tt.wantRF || len(defaults) != len(ClusterDynamicDefaults) {
				t.Errorf("ClusterSettings = %v, %d; want min.insync.replicas %s, RF %d", defaults, rf, tt.wantISR, tt.wantRF)
			}
			cmd := strings.Join(ClusterJobCommand(tt.c), " ")
			if !strings.HasPrefix(cmd, "/opt/kafka/bin/kafka-ready cluster -bootstrap kafka-0.kafka-svc.kafka-kraft.svc.cluster.local:9092") ||
				!strings.HasSuffix(cmd, tt.wantArgs+" -tls-ca-dir /etc/kafka-kraft-tls -users /etc/kafka-kraft-users/users.json") {
				t.Errorf("command = %q, want it to end with %q", cmd, tt.wantArgs)
			}
		})
	}
}

// TestClusterJobRaisesTheReleaseFeatures: the Job raises the finalized features to the levels of
// the release the nodes run (4.3.1: metadata.version 30; 4.4.0: 33).
func TestClusterJobRaisesTheReleaseFeatures(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]string{"4.3.1": "-feature metadata.version=30 -feature share.version=1", "4.4.0": "-feature metadata.version=33 -feature share.version=2"} {
		c := testConfig(func(c *Config) { c.KafkaVersion = v })
		if cmd := strings.Join(ClusterJobCommand(c), " "); !strings.Contains(cmd, want) {
			t.Errorf("%s: command %q lacks %q", v, cmd, want)
		}
	}
}

func TestClusterJobObjectNameFollowsTheSettings(t *testing.T) {
	t.Parallel()
	c := Defaults("kafka-kraft", "dev")
	name := ClusterJobObjectName(c)
	if name != ClusterJobObjectName(c) || !strings.HasPrefix(name, "kafka-cluster-config-") || len(name) != len("kafka-cluster-config-")+10 {
		t.Fatalf("name %q: want a stable kafka-cluster-config-<10 hex>", name)
	}
	other := c
	other.BrokerProperties = map[string]string{"log.retention.hours": "72"}
	if ClusterJobObjectName(other) != name {
		t.Error("a broker property that is not a cluster default renamed the Job (it would run for nothing)")
	}
	other.BrokerProperties = map[string]string{"min.insync.replicas": "1"}
	if ClusterJobObjectName(other) == name {
		t.Error("a changed min.insync.replicas kept the Job's name: it would not run again")
	}
	grown := c
	grown.Replicas = 4
	if ClusterJobObjectName(grown) == name {
		t.Error("growth kept the Job's name: new internal-topic replicas would not be placed")
	}
}
