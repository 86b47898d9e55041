package kraft

import (
	"slices"
	"strings"
	"testing"
)

func TestValidateRejects(t *testing.T) {
	t.Parallel()
	props := func(kv ...string) func(*Config) {
		return func(c *Config) {
			c.BrokerProperties = map[string]string{}
			for i := 0; i+1 < len(kv); i += 2 {
				c.BrokerProperties[kv[i]] = kv[i+1]
			}
		}
	}
	users := func(name string, u User) func(*Config) {
		return func(c *Config) { c.Security.Users = map[string]User{name: u} }
	}
	const (
		byteQty = "must be a positive Kubernetes byte quantity"
		managed = "is managed by kafka-kraft and cannot be overridden"
	)
	tests := []struct {
		name   string
		mutate func(*Config)
		// wantKey is the config key every reported problem must name (quoted, as users type it).
		wantKey string
		// wantText is the part of the message that says what is allowed.
		wantText string
	}{
		{name: "zero replicas", mutate: withReplicas(0, 1), wantKey: KeyReplicas, wantText: "must be at least 1"},
		{name: "negative replicas", mutate: withReplicas(-1, 1), wantKey: KeyReplicas, wantText: "must be at least 1"},
		{name: "even controllers", mutate: withReplicas(3, 2), wantKey: KeyControllers, wantText: "must be an odd number from 1 to 9 (1, 3 or 5 are usual)"},
		{name: "four controllers among five nodes", mutate: withReplicas(5, 4), wantKey: KeyControllers, wantText: "must be an odd number"},
		{name: "zero controllers", mutate: withReplicas(3, 0), wantKey: KeyControllers, wantText: "must be an odd number"},
		{name: "negative controllers", mutate: withReplicas(3, -1), wantKey: KeyControllers, wantText: "must be an odd number"},
		{name: "more controllers than replicas", mutate: withReplicas(3, 5), wantKey: KeyControllers, wantText: "must not exceed replicas (3)"},
		{name: "three controllers on one node", mutate: withReplicas(1, 3), wantKey: KeyControllers, wantText: "must not exceed replicas (1)"},
		{name: "namespace with capitals and underscore", mutate: func(c *Config) { c.Namespace = "Kafka_NS" }, wantKey: KeyNamespace, wantText: "must be a DNS-1123 label"},
		{name: "namespace starting with a dash", mutate: func(c *Config) { c.Namespace = "-kafka" }, wantKey: KeyNamespace, wantText: "must be a DNS-1123 label"},
		{name: "namespace longer than 63", mutate: func(c *Config) { c.Namespace = strings.Repeat("k", 64) }, wantKey: KeyNamespace, wantText: "at most 63 characters"},
		{name: "empty namespace", mutate: func(c *Config) { c.Namespace = "" }, wantKey: KeyNamespace, wantText: "must be a DNS-1123 label"},
		{name: "cluster domain with a space", mutate: func(c *Config) { c.ClusterDomain = "cluster local" }, wantKey: KeyClusterDomain, wantText: "must be a DNS name"},
		{name: "cluster id too short", mutate: func(c *Config) { c.ClusterID = "abc" }, wantKey: KeyClusterID, wantText: "must be 22 characters of URL-safe base64"},
		{name: "cluster id with padding", mutate: func(c *Config) { c.ClusterID = "MkU3OEVBNTcwNTJENDM2Qg==" }, wantKey: KeyClusterID, wantText: "must be 22 characters"},
		{name: "cluster id in standard base64", mutate: func(c *Config) { c.ClusterID = "MkU3OEVBNTcwNTJENDM2+/" }, wantKey: KeyClusterID, wantText: "must be 22 characters"},
		{name: "cluster id is a dashed UUID", mutate: func(c *Config) { c.ClusterID = "0b7e2bb0-6e8a-4c7d-9a53-2f0b9d6c1a11" }, wantKey: KeyClusterID, wantText: "must be 22 characters"},
		{name: "cluster id starting with a dash", mutate: func(c *Config) { c.ClusterID = "-AAAAAAAAAAAAAAAAAAAAA" }, wantKey: KeyClusterID, wantText: "must not start with '-'"},
		{name: "external host with a space", mutate: func(c *Config) { c.ExternalHost = "my host" }, wantKey: KeyExternalHost, wantText: "must be a host name or IP address"},
		{name: "external host with a scheme", mutate: func(c *Config) { c.ExternalHost = "http://kafka.example.com" }, wantKey: KeyExternalHost, wantText: "must be a host name or IP address"},
		{name: "empty external host", mutate: func(c *Config) { c.ExternalHost = "" }, wantKey: KeyExternalHost, wantText: "must be a host name or IP address"},
		{name: "external node port base below the range", mutate: func(c *Config) { c.ExternalNodePortBase = 29999 }, wantKey: KeyExternalNodePortBase, wantText: "must lie within 30000-32767"},
		{name: "external node ports running past 32767", mutate: func(c *Config) {
			c.Replicas, c.ExternalNodePortBase = 100, 32700
		}, wantKey: KeyExternalNodePortBase, wantText: "brokers use ports 32700-32799, which must lie within 30000-32767"},
		{name: "last broker exactly one past the range", mutate: func(c *Config) { c.ExternalNodePortBase = 32766 }, wantKey: KeyExternalNodePortBase, wantText: "must lie within 30000-32767"},
		{name: "storage size in GB", mutate: func(c *Config) { c.Storage.Size = "1GB" }, wantKey: KeyStorageSize, wantText: byteQty},
		{name: "negative storage size", mutate: func(c *Config) { c.Storage.Size = "-1Gi" }, wantKey: KeyStorageSize, wantText: byteQty},
		{name: "storage size not a number", mutate: func(c *Config) { c.Storage.Size = "abc" }, wantKey: KeyStorageSize, wantText: byteQty},
		{name: "zero storage size", mutate: func(c *Config) { c.Storage.Size = "0" }, wantKey: KeyStorageSize, wantText: byteQty},
		{name: "fractional storage size", mutate: func(c *Config) { c.Storage.Size = "1.5Gi" }, wantKey: KeyStorageSize, wantText: byteQty},
		{name: "storage class with an underscore", mutate: func(c *Config) { c.Storage.Class = "local_path" }, wantKey: KeyStorageClass, wantText: "must be the name of a StorageClass"},
		{name: "relative host path", mutate: func(c *Config) { c.Storage.HostPath = "mnt/kafka" }, wantKey: KeyStorageHostPath, wantText: "must be an absolute directory other than /"},
		{name: "host path is the root", mutate: func(c *Config) { c.Storage.HostPath = "/" }, wantKey: KeyStorageHostPath, wantText: "must be an absolute directory other than /"},
		{name: "cpu request with a unit word", mutate: func(c *Config) { c.Resources.CPURequest = "1 core" }, wantKey: KeyCPURequest, wantText: "must be a Kubernetes CPU quantity"},
		{name: "negative cpu limit", mutate: func(c *Config) { c.Resources.CPULimit = "-1" }, wantKey: KeyCPULimit, wantText: "must be a Kubernetes CPU quantity"},
		{name: "empty cpu limit", mutate: func(c *Config) { c.Resources.CPULimit = "" }, wantKey: KeyCPULimit, wantText: "must be a Kubernetes CPU quantity"},
		{name: "memory request in GB", mutate: func(c *Config) { c.Resources.MemoryRequest = "1GB" }, wantKey: KeyMemoryRequest, wantText: byteQty},
		{name: "memory limit not a number", mutate: func(c *Config) { c.Resources.MemoryLimit = "lots" }, wantKey: KeyMemoryLimit, wantText: byteQty},
		{name: "memory limit in millibytes", mutate: func(c *Config) { c.Resources.MemoryLimit = "500m" }, wantKey: KeyMemoryLimit, wantText: byteQty},
		{name: "cpu request above the limit", mutate: func(c *Config) { c.Resources.CPURequest, c.Resources.CPULimit = "2", "1500m" }, wantKey: KeyCPURequest, wantText: "must not exceed cpuLimit (1500m)"},
		{name: "memory request above the limit", mutate: func(c *Config) { c.Resources.MemoryRequest, c.Resources.MemoryLimit = "2Gi", "1536Mi" }, wantKey: KeyMemoryRequest, wantText: "must not exceed memoryLimit (1536Mi)"},
		{name: "heap leaves no room inside the memory limit", mutate: func(c *Config) { c.Resources.HeapOpts = "-Xms1g -Xmx1g" }, wantKey: KeyHeapOpts, wantText: "lower -Xmx to at most 768m or raise memoryLimit"},
		{name: "heap size not a size", mutate: func(c *Config) { c.Resources.HeapOpts = "-Xmx1.5g" }, wantKey: KeyHeapOpts, wantText: "-Xmx must be a size such as 512m"},
		{name: "seven controllers on five nodes", mutate: withReplicas(5, 7), wantKey: KeyControllers, wantText: "must not exceed replicas (5)"},
		{name: "eleven controllers", mutate: withReplicas(11, 11), wantKey: KeyControllers, wantText: "must be an odd number from 1 to 9"},
		{name: "heap options without -Xmx", mutate: func(c *Config) { c.Resources.HeapOpts = "-Xms512m" }, wantKey: KeyHeapOpts, wantText: "including -Xmx"},
		{name: "heap options on two lines", mutate: func(c *Config) { c.Resources.HeapOpts = "-Xms512m\n-Xmx512m" }, wantKey: KeyHeapOpts, wantText: "on one line"},
		{name: "broker property node.id is managed", mutate: props("node.id", "7"), wantKey: "brokerProperties.node.id", wantText: managed},
		{name: "broker property listeners is managed", mutate: props("listeners", "PLAINTEXT://:9092"), wantKey: "brokerProperties.listeners", wantText: managed},
		{name: "broker property controller.quorum.voters is managed", mutate: props("controller.quorum.voters", "0@x:9093"), wantKey: "brokerProperties.controller.quorum.voters", wantText: managed},
		{name: "any controller.quorum key is managed", mutate: props("controller.quorum.foo", "1"), wantKey: "brokerProperties.controller.quorum.foo", wantText: managed},
		{name: "broker property log.dirs is managed", mutate: props("log.dirs", "/tmp"), wantKey: "brokerProperties.log.dirs", wantText: managed},
		{name: "broker property advertised.listeners is managed", mutate: props("advertised.listeners", "x"), wantKey: "brokerProperties.advertised.listeners", wantText: managed},
		{name: "misspelt broker property", mutate: props("log.retention.hour", "24"), wantKey: "brokerProperties.log.retention.hour", wantText: "is not a Kafka 4.4.0 broker setting"},
		{name: "topic-level key is not a broker setting", mutate: props("retention.ms", "1000"), wantKey: "brokerProperties.retention.ms", wantText: "is not a Kafka 4.4.0 broker setting"},
		{name: "per-listener TLS setting with security on", mutate: props("listener.name.external.ssl.client.auth", "none"), wantKey: "brokerProperties.listener.name.external.ssl.client.auth", wantText: "is managed by kafka-kraft"},
		{name: "authorizer with security on", mutate: props("authorizer.class.name", "x"), wantKey: "brokerProperties.authorizer.class.name", wantText: "is managed by kafka-kraft"},
		{name: "session timeout not a number", mutate: props("broker.session.timeout.ms", "5s"), wantKey: "brokerProperties.broker.session.timeout.ms", wantText: "must be a whole number of milliseconds, 1 to 2147483647 (default 9000)"},
		{name: "heartbeat interval zero", mutate: props("broker.heartbeat.interval.ms", "0"), wantKey: "brokerProperties.broker.heartbeat.interval.ms", wantText: "1 to 2147483647 (default 2000)"},
		{name: "session shorter than two default heartbeats", mutate: props("broker.session.timeout.ms", "3500"), wantKey: "brokerProperties.broker.session.timeout.ms", wantText: "must be at least twice broker.heartbeat.interval.ms (2000 ms)"},
		{name: "longer heartbeat than the default session allows", mutate: props("broker.heartbeat.interval.ms", "5000"), wantKey: "brokerProperties.broker.heartbeat.interval.ms", wantText: "must be at most half broker.session.timeout.ms (9000 ms, Kafka's default)"},
		{name: "session beyond a Kafka INT", mutate: props("broker.session.timeout.ms", "2147483648"), wantKey: "brokerProperties.broker.session.timeout.ms", wantText: "1 to 2147483647"},
		{name: "secret liveness values stay hidden", mutate: func(c *Config) {
			c.SecretBrokerProperties = true
			c.BrokerProperties = map[string]string{"broker.heartbeat.interval.ms": "3000", "broker.session.timeout.ms": "4000"}
		}, wantKey: "brokerProperties.broker.session.timeout.ms", wantText: "must be at least twice broker.heartbeat.interval.ms ([hidden] ms)"},
		{name: "unknown security mode", mutate: func(c *Config) { c.Security.Mode = "scram" }, wantKey: KeySecurity, wantText: `must be "tls"`},
		{name: "unknown monitoring mode", mutate: func(c *Config) { c.Monitoring = "grafana" }, wantKey: KeyMonitoring, wantText: `must be "metrics"`},
		{name: "users without security", mutate: func(c *Config) {
			c.Security.Mode = SecurityNone
			c.Security.Users = map[string]User{"app": {}}
		}, wantKey: KeyUsers, wantText: `needs security "tls"`},
		{name: "reserved user name", mutate: users("admin", User{}), wantKey: "users.admin", wantText: "is reserved"},
		{name: "bad user name", mutate: users("a b", User{}), wantKey: "users.a b", wantText: "a user name is 1 to 64"},
		{name: "short password", mutate: users("app", User{Password: "short"}), wantKey: "users.app.password", wantText: "at least 12 characters"},
		{name: "unknown ACL resource", mutate: users("app", User{ACLs: []ACL{{Resource: "topics", Name: "t", Pattern: "literal", Operations: []string{"read"}}}}), wantKey: "users.app.acls[0].resource", wantText: "must be one of topic, group, cluster, transactional-id"},
		{name: "unknown ACL operation", mutate: users("app", User{ACLs: []ACL{{Resource: "topic", Name: "t", Pattern: "literal", Operations: []string{"produce"}}}}), wantKey: "users.app.acls[0].operations", wantText: "must be one of all, read, write"},
		{name: "ACL without operations", mutate: users("app", User{ACLs: []ACL{{Resource: "topic", Name: "t", Pattern: "literal"}}}), wantKey: "users.app.acls[0].operations", wantText: "at least one"},
		{name: "prefixed star", mutate: users("app", User{ACLs: []ACL{{Resource: "group", Name: "*", Pattern: "prefixed", Operations: []string{"read"}}}}), wantKey: "users.app.acls[0].name", wantText: "use pattern literal"},
		{name: "cluster ACL on another name", mutate: users("app", User{ACLs: []ACL{{Resource: "cluster", Name: "c", Pattern: "literal", Operations: []string{"describe"}}}}), wantKey: "users.app.acls[0].name", wantText: `"kafka-cluster"`},
		{name: "bad ACL pattern", mutate: users("app", User{ACLs: []ACL{{Resource: "topic", Name: "t", Pattern: "match", Operations: []string{"read"}}}}), wantKey: "users.app.acls[0].pattern", wantText: `must be "literal"`},
		{name: "bare listener.name prefix", mutate: props("listener.name.", "x"), wantKey: "brokerProperties.listener.name.", wantText: "is not a Kafka 4.4.0 broker setting"},
		{name: "multi-line broker property value", mutate: props("log.retention.hours", "24\nnode.id=9"), wantKey: "brokerProperties.log.retention.hours", wantText: "must be a single line"},
		{name: "broker property value with a carriage return", mutate: props("compression.type", "zstd\r"), wantKey: "brokerProperties.compression.type", wantText: "must be a single line"},
		{name: "kafka 3.9.0 has ZooKeeper and is not supported", mutate: func(c *Config) { c.KafkaVersion = "3.9.0" }, wantKey: KeyKafkaVersion, wantText: "must be one of 4.3.1, 4.4.0"},
		{name: "reassignment throttle below 1Mi", mutate: func(c *Config) { c.ReassignmentThrottle = "100Ki" }, wantKey: KeyReassignmentThrottle, wantText: "must be bytes per second per broker, at least 1Mi, such as 50Mi"},
		{name: "reassignment throttle not a quantity", mutate: func(c *Config) { c.ReassignmentThrottle = "fast" }, wantKey: KeyReassignmentThrottle, wantText: "at least 1Mi"},
		{name: "kafka version latest", mutate: func(c *Config) { c.KafkaVersion = "latest" }, wantKey: KeyKafkaVersion, wantText: "must be one of 4.3.1, 4.4.0"},
		{name: "kafka version without patch", mutate: func(c *Config) { c.KafkaVersion = "4.4" }, wantKey: KeyKafkaVersion, wantText: "must be one of 4.3.1, 4.4.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := testConfig(tt.mutate).Validate()
			if err == nil {
				t.Fatalf("Validate() = nil, want an error naming %q", tt.wantKey)
			}
			msg := err.Error()
			// Each problem is one line; every line must be about the key under test, so a case
			// cannot pass by tripping over an unrelated setting.
			for _, line := range strings.Split(msg, "\n") {
				if !strings.Contains(line, `config "`+tt.wantKey+`"`) {
					t.Errorf("problem %q does not name config %q", line, tt.wantKey)
				}
			}
			if !strings.Contains(msg, tt.wantText) {
				t.Errorf("Validate() = %q\nwant it to say %q", msg, tt.wantText)
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*Config)
	}{
		{name: "defaults"},
		{name: "one replica with one controller", mutate: withReplicas(1, 1)},
		{name: "two replicas with one controller", mutate: withReplicas(2, 1)},
		{name: "five replicas with three controllers", mutate: withReplicas(5, 3)},
		{name: "five replicas with five controllers", mutate: withReplicas(5, 5)},
		{name: "storage class set without a host path", mutate: func(c *Config) {
			c.Storage.Class, c.Storage.HostPath = "local-path", ""
		}},
		{name: "explicit cluster id", mutate: func(c *Config) { c.ClusterID = "MkU3OEVBNTcwNTJENDM2Qg" }},
		{name: "external host name and IPv6", mutate: func(c *Config) { c.ExternalHost = "::1" }},
		{name: "external node ports up to 32767", mutate: func(c *Config) { c.ExternalNodePortBase = 32765 }},
		{name: "fractional cpu and decimal memory", mutate: func(c *Config) {
			c.Resources.CPURequest, c.Resources.CPULimit = "0.5", "2"
			c.Resources.MemoryRequest, c.Resources.MemoryLimit = "768Mi", "2G"
		}},
		{name: "known broker properties and per-listener overrides", mutate: func(c *Config) {
			c.BrokerProperties = map[string]string{
				"log.retention.hours":                    "24",
				"num.partitions":                         "6",
				"auto.create.topics.enable":              "false",
				"message.max.bytes":                      "2097152",
				"listener.name.external.max.connections": "100",
				"config.providers.file.class":            "org.apache.kafka.common.config.provider.FileConfigProvider",
			}
		}},
		{name: "liveness from a config provider", mutate: func(c *Config) {
			c.BrokerProperties = map[string]string{"broker.session.timeout.ms": "${file:/etc/kafka/timeouts.properties:session}"}
		}},
		{name: "faster failure detection", mutate: func(c *Config) {
			c.BrokerProperties = map[string]string{"broker.heartbeat.interval.ms": "1000", "broker.session.timeout.ms": "5000"}
		}},
		{name: "session exactly two heartbeats", mutate: func(c *Config) {
			c.BrokerProperties = map[string]string{"broker.heartbeat.interval.ms": "2000", "broker.session.timeout.ms": "4000"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := testConfig(tt.mutate).Validate(); err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	c := testConfig(func(c *Config) {
		c.Replicas = 0
		c.Namespace = "Bad_NS"
		c.Storage.Size = "1GB"
		c.KafkaVersion = "latest"
		c.BrokerProperties = map[string]string{"node.id": "1", "no.such.key": "x"}
	})
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate() = nil, want every problem reported")
	}
	msg := err.Error()
	want := []string{KeyReplicas, KeyNamespace, KeyStorageSize, KeyKafkaVersion, "brokerProperties.no.such.key", "brokerProperties.node.id"}
	for _, key := range want {
		if !strings.Contains(msg, `config "`+key+`"`) {
			t.Errorf("error does not report %q:\n%s", key, msg)
		}
	}
	if lines := strings.Split(msg, "\n"); len(lines) != len(want) {
		t.Errorf("error has %d problems, want %d:\n%s", len(lines), len(want), msg)
	}
	// Broker properties are reported in key order, so the message is stable between runs.
	if i, j := strings.Index(msg, "no.such.key"), strings.Index(msg, `"brokerProperties.node.id"`); i > j {
		t.Errorf("broker property problems not in key order:\n%s", msg)
	}
}

func TestBrokerKeysFiles(t *testing.T) {
	t.Parallel()
	for _, v := range ReleaseVersions() {
		raw, err := brokerKeyFiles.ReadFile("brokerkeys/" + v + ".txt")
		if err != nil {
			t.Fatalf("release %s: %v", v, err)
		}
		file := string(raw)
		lines := strings.Split(strings.TrimRight(file, "\n"), "\n")
		if len(lines) == 0 || !strings.HasPrefix(lines[0], "#") || !strings.Contains(file, "scripts/gen-broker-keys.sh") || !strings.Contains(lines[0], "Kafka "+v+" ") {
			t.Errorf("brokerkeys/%s.txt must start with a '#' header naming Kafka %s and scripts/gen-broker-keys.sh", v, v)
		}
		var keys []string
		for _, l := range lines {
			if !strings.HasPrefix(l, "#") {
				keys = append(keys, l)
			}
		}
		// Kafka 4.3.1 defines 360, 4.4.0 379; a much smaller list means generation went wrong.
		if len(keys) < 300 || len(brokerKeys[v]) != len(keys) {
			t.Fatalf("brokerkeys/%s.txt has %d keys (%d distinct), want the full broker ConfigDef (~360-380); run KAFKA_VERSION=%s scripts/gen-broker-keys.sh",
				v, len(keys), len(brokerKeys[v]), v)
		}
		if !slices.IsSorted(keys) {
			t.Errorf("brokerkeys/%s.txt is not sorted", v)
		}
		for _, k := range keys {
			if k != strings.TrimSpace(k) || k == "" || strings.ContainsAny(k, " =:#") {
				t.Errorf("brokerkeys/%s.txt line %q is not a bare key", v, k)
			}
		}
		wellKnown := []string{
			"log.retention.hours", "num.partitions", "auto.create.topics.enable", "message.max.bytes",
			"compression.type", "num.network.threads", "group.initial.rebalance.delay.ms",
			"min.insync.replicas", "default.replication.factor", "offsets.topic.replication.factor",
		}
		for _, k := range wellKnown {
			if !KnownBrokerKey(v, k) {
				t.Errorf("KnownBrokerKey(%s, %q) = false; the list lost a well-known key", v, k)
			}
		}
		// The managed keys are real broker settings: refusing them must be because they are
		// managed, not because the list does not know them.
		for _, k := range ManagedKeys {
			if !KnownBrokerKey(v, k) {
				t.Errorf("managed key %q is missing from brokerkeys/%s.txt", k, v)
			}
		}
		// Every key kafka-kraft itself renders must be one the release knows.
		for _, file := range Render(testConfig(withReplicas(5, 3))).Files {
			for k := range parseJavaProperties(t, file) {
				if !KnownBrokerKey(v, k) {
					t.Errorf("rendered key %q is not a Kafka %s setting", k, v)
				}
			}
		}
	}
}

// TestBrokerKeysFollowTheVersion: a key that only the newer release knows is accepted with it and
// refused, naming the release, with the older one.
func TestBrokerKeysFollowTheVersion(t *testing.T) {
	t.Parallel()
	const newKey = "group.streams.assignors" // added in Kafka 4.4
	c := testConfig(func(c *Config) { c.BrokerProperties = map[string]string{newKey: "sticky"} })
	if err := c.Validate(); err != nil {
		t.Errorf("4.4.0 with %s: %v", newKey, err)
	}
	c.KafkaVersion = "4.3.1"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), `"group.streams.assignors" is not a Kafka 4.3.1 broker setting`) {
		t.Errorf("4.3.1 with %s: %v", newKey, err)
	}
	c.KafkaVersion = "4.2.0"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), `config "kafkaVersion" = "4.2.0": must be one of 4.3.1, 4.4.0`) {
		t.Errorf("4.2.0: %v", err)
	}
}

func TestKnownBrokerKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		key  string
		want bool
	}{
		{name: "fixed key", key: "log.retention.hours", want: true},
		{name: "per-listener override", key: "listener.name.internal.ssl.keystore.location", want: true},
		{name: "config provider", key: "config.providers.file.class", want: true},
		{name: "typo", key: "log.retention.hourz", want: false},
		{name: "topic-level name", key: "retention.ms", want: false},
		{name: "prefix alone", key: "listener.name.", want: false},
		{name: "comment line of the file", key: "# Broker configuration keys", want: false},
		{name: "empty", key: "", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := KnownBrokerKey(DefaultKafkaVersion, tt.key); got != tt.want {
				t.Errorf("KnownBrokerKey(%q) = %v, want %v", tt.key, got, tt.want)
			}
		})
	}
}

func TestValidateStackName(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ stack, want string }{
		{"Prod", `stack name "Prod": with hostPath storage (no "storageClass") it must be lower-case letters`},
		{"my_stack", `(create the stack as, for example, "my-stack", or set "storageClass")`},
		{strings.Repeat("a", 64), "must be at most 63 letters"},
		{"-dev", "starting and ending with a letter or digit"},
	} {
		c := testConfig(nil)
		c.Stack = tt.stack
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("stack %q: Validate() = %v, want %q", tt.stack, err, tt.want)
		}
	}
	withClass := testConfig(func(c *Config) { c.Storage.Class = "local-path"; c.Stack = "Prod_EU" })
	if err := withClass.Validate(); err != nil {
		t.Errorf("stack Prod_EU with a storage class (no PV names) refused: %v", err)
	}
	for _, ok := range []string{"dev", "dev.1", "prod-eu-1", "e2e-2be901-grow", strings.Repeat("a", 63)} {
		c := testConfig(nil)
		c.Stack = ok
		if err := c.Validate(); err != nil {
			t.Errorf("stack %q refused: %v", ok, err)
		}
	}
	c := testConfig(withReplicas(7, 7))
	if err := c.Validate(); err != nil {
		t.Errorf("seven voters on seven nodes refused: %v", err)
	}
}

// TestValidateClusterNames: a library caller's namer names every problem in its own words.
func TestValidateClusterNames(t *testing.T) {
	t.Parallel()
	c := testConfig(func(c *Config) {
		c.Stack = "Bad_Name"
		c.Replicas, c.Controllers = 1, 3
		c.Storage.Size = "lots"
		c.BrokerProperties = map[string]string{"no.such.key": "1", "authorizer.class.name": "x"}
		c.Resources.CPURequest, c.Resources.CPULimit = "2", "1"
		c.Resources.HeapOpts = "-Xmx1g"
		c.Security.Users = map[string]User{"app": {Password: "short"}}
	})
	err := c.ValidateCluster(func(key string) string { return "Args<" + key + ">" })
	if err == nil {
		t.Fatal("ValidateCluster() = nil, want errors")
	}
	msg := err.Error()
	for _, want := range []string{`Args<(stack)> "Bad_Name"`, "must not exceed Args<replicas> (1)", `Args<storageSize> = "lots"`, "Args<brokerProperties.no.such.key>",
		"must not exceed Args<cpuLimit>", "raise Args<memoryLimit>", "managed keys with Args<security>", "(no Args<storageClass>)", "Args<users.app.password> = [hidden]: must be at least 12 characters"} {
		if !strings.Contains(msg, want) {
			t.Errorf("ValidateCluster() = %s\nwant it to say %q", msg, want)
		}
	}
	// Every setting a message mentions is the caller's name for it, never a bare config key.
	for _, bare := range []string{"config ", " replicas", "cpuLimit (", " memoryLimit", "security \"", "program generates"} {
		if strings.Contains(msg, bare) {
			t.Errorf("ValidateCluster() = %s\nmust not say %q", msg, bare)
		}
	}
}
