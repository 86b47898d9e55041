package kraft

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestCheckTransition(t *testing.T) {
	t.Parallel()
	const pinnedID = "MkU3OEVBNTcwNTJENDM2Qg"
	// deployed is a running three-node cluster with an explicit cluster id, so that changing the
	// namespace (which seeds a derived id) is tested on its own.
	deployed := DeployedOf(testConfig(func(c *Config) { c.ClusterID = pinnedID }))
	next := func(mutate func(*Config)) Config {
		return testConfig(func(c *Config) {
			c.ClusterID = pinnedID
			if mutate != nil {
				mutate(c)
			}
		})
	}
	type refusal struct{ key, change, why string }
	tests := []struct {
		name string
		prev Deployed
		next Config
		want []refusal
	}{
		{name: "nothing deployed yet accepts anything", prev: Deployed{}, next: next(func(c *Config) {
			c.Replicas, c.Controllers, c.Namespace, c.Storage.Class = 1, 1, "other", "local-path"
		})},
		{name: "unchanged config", prev: deployed, next: next(nil)},
		{name: "growing brokers", prev: deployed, next: next(withReplicas(5, 3))},
		{name: "changing settings that are not recorded", prev: deployed, next: next(func(c *Config) {
			c.Resources.HeapOpts, c.Monitoring = "-Xmx2g", MonitoringNone
			c.BrokerProperties = map[string]string{"num.partitions": "6"}
		})},
		{name: "upgrading Kafka", prev: DeployedOf(next(func(c *Config) { c.KafkaVersion = "4.3.1" })), next: next(nil)},
		{
			name: "a release below the raised metadata.version",
			prev: deployed,
			next: next(func(c *Config) { c.KafkaVersion = "4.3.1" }),
			want: []refusal{{KeyKafkaVersion, "from 4.4.0 to 4.3.1", "metadata.version was raised to 33 (Kafka 4.4.0's) once every node ran 4.4.0; Kafka 4.3.1 supports metadata.version up to 30"}},
		},
		{name: "removing broker-only nodes (the scale-down Job moves their replicas)", prev: DeployedOf(next(withReplicas(5, 3))), next: next(withReplicas(3, 3))},
		{
			name: "removing voters",
			prev: DeployedOf(next(withReplicas(5, 3))),
			next: next(withReplicas(2, 3)),
			want: []refusal{{KeyReplicas, "from 5 to 2", "the first 3 nodes are the KRaft voters and are never removed; 3 is the fewest replicas"}},
		},
		{
			name: "fewer controllers",
			prev: deployed,
			next: next(withReplicas(3, 1)),
			want: []refusal{{KeyControllers, "from 3 to 1", "the KRaft voter set is fixed when storage is formatted"}},
		},
		{
			name: "more controllers while growing",
			prev: deployed,
			next: next(withReplicas(5, 5)),
			want: []refusal{{KeyControllers, "from 3 to 5", "the KRaft voter set is fixed"}},
		},
		{
			name: "growth 1 -> 3 with controllers left to its default says how to keep the voter",
			prev: DeployedOf(next(withReplicas(1, 1))),
			next: next(withReplicas(3, 3)),
			want: []refusal{{KeyControllers, "from 1 to 3", `"controllers" defaults from "replicas" (1 for 1 replicas, 3 for 3); to keep the deployed voters, run ` + "`pulumi config set controllers 1`"}},
		},
		{
			name: "another cluster id",
			prev: deployed,
			next: next(func(c *Config) { c.ClusterID = "AAAAAAAAAAAAAAAAAAAAAQ" }),
			want: []refusal{{KeyClusterID, "from " + pinnedID + " to AAAAAAAAAAAAAAAAAAAAAQ", "existing data belongs to the old cluster id"}},
		},
		{
			name: "unsetting a pinned cluster id switches to the derived one",
			prev: deployed,
			next: testConfig(nil),
			want: []refusal{{KeyClusterID, "from " + pinnedID + " to " + DeriveClusterID(testProject, testStack, DefaultNamespace), "nodes would refuse to start"}},
		},
		{
			name: "pinning the id that was derived",
			prev: DeployedOf(testConfig(nil)),
			next: testConfig(func(c *Config) { c.ClusterID = DeriveClusterID(testProject, testStack, DefaultNamespace) }),
		},
		{
			name: "another namespace",
			prev: deployed,
			next: next(func(c *Config) { c.Namespace = "streaming" }),
			want: []refusal{{KeyNamespace, "from kafka-kraft to streaming", "the data would be left behind"}},
		},
		{
			// The derived id is seeded by the namespace, so both refusals appear.
			name: "another namespace with a derived cluster id",
			prev: DeployedOf(testConfig(nil)),
			next: testConfig(func(c *Config) { c.Namespace = "streaming" }),
			want: []refusal{
				{KeyNamespace, "from kafka-kraft to streaming", "left behind"},
				{KeyClusterID, "to " + DeriveClusterID(testProject, testStack, "streaming"), "old cluster id"},
			},
		},
		{
			name: "hostPath volumes to a storage class",
			prev: deployed,
			next: next(func(c *Config) { c.Storage.Class = "local-path" }),
			want: []refusal{{KeyStorageClass, `from "" to "local-path"`, "existing volumes would be abandoned"}},
		},
		{
			name: "storage class to hostPath volumes",
			prev: DeployedOf(next(func(c *Config) { c.Storage.Class = "local-path" })),
			next: next(nil),
			want: []refusal{{KeyStorageClass, `from "local-path" to ""`, "claim templates are immutable"}},
		},
		{
			name: "security off on a cluster deployed with it",
			prev: deployed,
			next: next(func(c *Config) { c.Security.Mode = SecurityNone }),
			want: []refusal{{KeySecurity, "from tls to none", "every listener would change protocol at once"}},
		},
		{
			name: "a cluster deployed before security existed says how to keep it",
			prev: func() Deployed { d := deployed; d.Security = ""; return d }(),
			next: next(nil),
			want: []refusal{{KeySecurity, "from none to tls", "`pulumi config set security none`"}},
		},
		{
			name: "a cluster deployed before security existed, kept without it",
			prev: func() Deployed { d := deployed; d.Security = ""; return d }(),
			next: next(func(c *Config) { c.Security.Mode = SecurityNone }),
		},
		{
			name: "bigger volumes",
			prev: deployed,
			next: next(func(c *Config) { c.Storage.Size = "10Gi" }),
			want: []refusal{{KeyStorageSize, "from 1Gi to 10Gi", "claim templates are immutable"}},
		},
		{
			name: "another host path",
			prev: deployed,
			next: next(func(c *Config) { c.Storage.HostPath = "/data/kafka" }),
			want: []refusal{{KeyStorageHostPath, "from /mnt/kafka to /data/kafka", "the data lives in the old directory"}},
		},
		{
			name: "host path is irrelevant with a storage class",
			prev: DeployedOf(next(func(c *Config) { c.Storage.Class = "local-path" })),
			next: next(func(c *Config) { c.Storage.Class, c.Storage.HostPath = "local-path", "/elsewhere" }),
		},
		{
			name: "every refused change is reported at once",
			prev: DeployedOf(next(withReplicas(5, 3))),
			next: next(func(c *Config) {
				c.Replicas, c.Controllers = 1, 1
				c.Storage.Size = "5Gi"
			}),
			want: []refusal{
				{KeyControllers, "from 3 to 1", "voter set"},
				{KeyReplicas, "from 5 to 1", "never removed"},
				{KeyStorageSize, "from 1Gi to 5Gi", "immutable"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := CheckTransition(tt.prev, tt.next)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("CheckTransition() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckTransition() = nil, want %d refusals", len(tt.want))
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Errorf("CheckTransition() reported %d problems, want %d:\n%v", len(lines), len(tt.want), err)
			}
			for _, w := range tt.want {
				found := false
				for _, l := range lines {
					if strings.HasPrefix(l, `config "`+w.key+`" cannot change `) {
						found = true
						if !strings.Contains(l, w.change) || !strings.Contains(l, "on a deployed cluster") || !strings.Contains(l, w.why) {
							t.Errorf("refusal %q\nwant it to say %q, \"on a deployed cluster\" and why: %q", l, w.change, w.why)
						}
					}
				}
				if !found {
					t.Errorf("no refusal names config %q:\n%v", w.key, err)
				}
			}
		})
	}
}

func TestDeployedOf(t *testing.T) {
	t.Parallel()
	c := testConfig(func(c *Config) {
		c.Replicas, c.Controllers = 5, 3
		c.Storage = Storage{Size: "10Gi", Class: "local-path", HostPath: "/data"}
	})
	want := Deployed{
		Replicas: 5, Controllers: 3, ClusterID: DeriveClusterID(testProject, testStack, DefaultNamespace),
		Namespace: DefaultNamespace, StorageClass: "local-path", StorageSize: "10Gi", HostPath: "/data",
		KafkaVersion: DefaultKafkaVersion, Security: SecurityTLS,
	}
	if got := DeployedOf(c); !reflect.DeepEqual(got, want) {
		t.Errorf("DeployedOf() = %+v, want %+v", got, want)
	}
	if err := CheckTransition(DeployedOf(c), c); err != nil {
		t.Errorf("a config must accept its own deployment: %v", err)
	}
}

func TestNextVolumeGenerations(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		prev     Deployed
		replicas int
		want     string
	}{
		{"first deploy", Deployed{}, 3, "[]"},
		{"growth: nothing removed", Deployed{Replicas: 3}, 4, "[]"},
		{"4 -> 3: ordinal 3 retired once", Deployed{Replicas: 4}, 3, "[0 0 0 1]"},
		{"regrow keeps the count (the new broker 3 uses generation 1)", Deployed{Replicas: 3, VolumeGenerations: []int{0, 0, 0, 1}}, 4, "[0 0 0 1]"},
		{"4 -> 3 again: ordinal 3 retired twice", Deployed{Replicas: 4, VolumeGenerations: []int{0, 0, 0, 1}}, 3, "[0 0 0 2]"},
		{"5 -> 3", Deployed{Replicas: 5, VolumeGenerations: []int{0, 0, 0, 1}}, 3, "[0 0 0 2 1]"},
	} {
		if got := fmt.Sprint(NextVolumeGenerations(tt.prev, tt.replicas)); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
	c := testConfig(func(c *Config) { c.VolumeGenerations = []int{0, 0, 0, 2} })
	pv0, dir0 := BrokerVolume(c, 0)
	pv3, dir3 := BrokerVolume(c, 3)
	if pv0 != PersistentVolumeName(c, DataClaim(0)) || dir0 != HostPathDir(c, PodName(0)) {
		t.Errorf("generation 0 keeps today's names: %s %s", pv0, dir0)
	}
	if !strings.HasSuffix(pv3, "-data-kafka-3-g2") || !strings.HasSuffix(dir3, "/kafka-3-g2") {
		t.Errorf("generation 2: %s %s", pv3, dir3)
	}
}
