package kraft

import (
	"maps"
	"reflect"
	"strings"
	"testing"
)

// lookup is the Lookup a test passes instead of Pulumi config: only keys in m are set.
func lookup(m map[string]string) Lookup {
	return func(key string) (string, bool) {
		v, ok := m[key]
		return v, ok
	}
}

func TestFromSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		settings map[string]string
		// want returns the expected Config given the defaults.
		want func(c *Config)
	}{
		{name: "nothing set gives the defaults", settings: map[string]string{}, want: func(*Config) {}},
		{
			name:     "one replica defaults to one controller",
			settings: map[string]string{KeyReplicas: "1"},
			want:     func(c *Config) { c.Replicas, c.Controllers = 1, 1 },
		},
		{
			name:     "two replicas default to one controller",
			settings: map[string]string{KeyReplicas: "2"},
			want:     func(c *Config) { c.Replicas, c.Controllers = 2, 1 },
		},
		{
			name:     "five replicas default to three controllers",
			settings: map[string]string{KeyReplicas: "5"},
			want:     func(c *Config) { c.Replicas, c.Controllers = 5, 3 },
		},
		{
			name:     "explicit controllers win over the default",
			settings: map[string]string{KeyReplicas: "5", KeyControllers: "5"},
			want:     func(c *Config) { c.Replicas, c.Controllers = 5, 5 },
		},
		{
			name:     "explicit controllers are kept even when invalid, for Validate to report",
			settings: map[string]string{KeyReplicas: "1", KeyControllers: "3"},
			want:     func(c *Config) { c.Replicas, c.Controllers = 1, 3 },
		},
		{
			name:     "whitespace around values is ignored",
			settings: map[string]string{KeyReplicas: " 4 ", KeyNamespace: " streaming\n", KeyKafkaVersion: " 4.3.1 "},
			want: func(c *Config) {
				c.Replicas, c.Controllers, c.Namespace, c.KafkaVersion = 4, 3, "streaming", "4.3.1"
			},
		},
		{
			name: "every string and number setting",
			settings: map[string]string{
				KeyClusterDomain: "k8s.example", KeyClusterID: "MkU3OEVBNTcwNTJENDM2Qg",
				KeyExternalHost: "kafka.example.com", KeyExternalNodePortBase: "32000",
				KeyStorageSize: "10Gi", KeyStorageClass: "local-path", KeyStorageHostPath: "/data",
				KeyCPURequest: "500m", KeyCPULimit: "2", KeyMemoryRequest: "2Gi", KeyMemoryLimit: "3Gi",
				KeyHeapOpts: "-Xmx1g", KeyKafkaVersion: "4.3.1",
			},
			want: func(c *Config) {
				c.ClusterDomain, c.ClusterID = "k8s.example", "MkU3OEVBNTcwNTJENDM2Qg"
				c.ExternalHost, c.ExternalNodePortBase = "kafka.example.com", 32000
				c.Storage = Storage{Size: "10Gi", Class: "local-path", HostPath: "/data"}
				c.Resources = Resources{CPURequest: "500m", CPULimit: "2", MemoryRequest: "2Gi", MemoryLimit: "3Gi", HeapOpts: "-Xmx1g"}
				c.KafkaVersion = "4.3.1"
			},
		},
		{
			name: "broker properties of every JSON scalar type",
			settings: map[string]string{KeyBrokerProperties: `{
				"compression.type": "zstd",
				"log.retention.hours": 24,
				"auto.create.topics.enable": false,
				"log.cleaner.min.cleanable.ratio": 0.5,
				"log.retention.bytes": 1073741824
			}`},
			want: func(c *Config) {
				c.BrokerProperties = map[string]string{
					"compression.type":                "zstd",
					"log.retention.hours":             "24",
					"auto.create.topics.enable":       "false",
					"log.cleaner.min.cleanable.ratio": "0.5",
					"log.retention.bytes":             "1073741824",
				}
			},
		},
		{
			// A float64 round trip would print 9223372036854775808, which Kafka rejects as a long.
			name:     "broker property integers beyond 2^53 keep every digit",
			settings: map[string]string{KeyBrokerProperties: `{"log.retention.bytes": 9223372036854775807, "log.retention.ms": -1}`},
			want: func(c *Config) {
				c.BrokerProperties = map[string]string{"log.retention.bytes": "9223372036854775807", "log.retention.ms": "-1"}
			},
		},
		{
			name:     "broker property numbers in exponent form are written out",
			settings: map[string]string{KeyBrokerProperties: `{"message.max.bytes": 2e6, "num.partitions": 6.0}`},
			want: func(c *Config) {
				c.BrokerProperties = map[string]string{"message.max.bytes": "2000000", "num.partitions": "6"}
			},
		},
		{
			name:     "blank broker properties mean none",
			settings: map[string]string{KeyBrokerProperties: "  "},
			want:     func(*Config) {},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := FromSettings(testProject, testStack, lookup(tt.settings))
			if err != nil {
				t.Fatalf("FromSettings() error = %v", err)
			}
			want := Defaults(testProject, testStack)
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("FromSettings() =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

func TestFromSettingsErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		settings map[string]string
		wantKeys []string
		wantText []string
	}{
		{name: "replicas spelt out", settings: map[string]string{KeyReplicas: "three"}, wantKeys: []string{KeyReplicas}, wantText: []string{"must be a whole number", `"three"`}},
		{name: "fractional controllers", settings: map[string]string{KeyControllers: "1.5"}, wantKeys: []string{KeyControllers}, wantText: []string{"must be a whole number"}},
		{name: "empty node port base", settings: map[string]string{KeyExternalNodePortBase: ""}, wantKeys: []string{KeyExternalNodePortBase}, wantText: []string{"must be a whole number"}},
		{name: "malformed broker properties JSON", settings: map[string]string{KeyBrokerProperties: `{"log.retention.hours": 24`}, wantKeys: []string{KeyBrokerProperties}, wantText: []string{"must be an object of Kafka settings"}},
		{name: "broker properties as a list", settings: map[string]string{KeyBrokerProperties: `["log.retention.hours=24"]`}, wantKeys: []string{KeyBrokerProperties}, wantText: []string{"must be an object"}},
		{name: "broker properties in properties syntax", settings: map[string]string{KeyBrokerProperties: `log.retention.hours=24`}, wantKeys: []string{KeyBrokerProperties}, wantText: []string{"must be an object"}},
		{name: "broker properties with trailing data", settings: map[string]string{KeyBrokerProperties: `{"num.partitions": 3} {}`}, wantKeys: []string{KeyBrokerProperties}, wantText: []string{"must be an object"}},
		{
			name:     "nested broker property values",
			settings: map[string]string{KeyBrokerProperties: `{"num.partitions": 3, "b.nested": {"x": 1}, "a.list": [1], "c.null": null}`},
			wantKeys: []string{KeyBrokerProperties},
			wantText: []string{"values must be strings, numbers or booleans; not for a.list, b.nested, c.null"},
		},
		{
			name:     "every malformed setting is reported",
			settings: map[string]string{KeyReplicas: "three", KeyExternalNodePortBase: "x", KeyUsers: "[]"},
			wantKeys: []string{KeyReplicas, KeyExternalNodePortBase, KeyUsers},
			wantText: []string{"whole number", "must be an object of users"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := FromSettings(testProject, testStack, lookup(tt.settings))
			if err == nil {
				t.Fatalf("FromSettings() = nil error, want one naming %v", tt.wantKeys)
			}
			msg := err.Error()
			for _, k := range tt.wantKeys {
				if !strings.Contains(msg, `config "`+k+`"`) {
					t.Errorf("error does not name config %q:\n%s", k, msg)
				}
			}
			if n := len(strings.Split(msg, "\n")); n != len(tt.wantKeys) {
				t.Errorf("error has %d lines, want one per key %v:\n%s", n, tt.wantKeys, msg)
			}
			for _, s := range tt.wantText {
				if !strings.Contains(msg, s) {
					t.Errorf("error does not say %q:\n%s", s, msg)
				}
			}
		})
	}
}

func TestFromSettingsKeepsValidBrokerPropertiesBesideBadOnes(t *testing.T) {
	t.Parallel()
	c, err := FromSettings(testProject, testStack, lookup(map[string]string{
		KeyBrokerProperties: `{"num.partitions": 3, "bad": [1]}`,
	}))
	if err == nil {
		t.Fatal("want an error for the list value")
	}
	if want := map[string]string{"num.partitions": "3"}; !maps.Equal(c.BrokerProperties, want) {
		t.Errorf("BrokerProperties = %v, want %v", c.BrokerProperties, want)
	}
}

func TestFromSettingsReadsOnlyKnownKeys(t *testing.T) {
	t.Parallel()
	asked := map[string]bool{}
	_, err := FromSettings(testProject, testStack, func(key string) (string, bool) {
		asked[key] = true
		return "", false
	})
	if err != nil {
		t.Fatal(err)
	}
	for k := range asked {
		if !strings.Contains(" "+strings.Join(Keys, " ")+" ", " "+k+" ") {
			t.Errorf("FromSettings reads %q, which Keys (the README list) does not have", k)
		}
	}
	for _, k := range Keys {
		if !asked[k] {
			t.Errorf("Keys lists %q but FromSettings never reads it", k)
		}
	}
}
