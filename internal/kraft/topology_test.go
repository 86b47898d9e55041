package kraft

import (
	"encoding/base64"
	"fmt"
	"maps"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Pure tier: every test in this package runs the functional core with plain values, no cluster,
// no Pulumi, no network; the whole package takes well under a second.

const (
	testProject = "kafka-kraft"
	testStack   = "dev"
)

// testConfig returns the defaults of the test stack changed by mutate (which may be nil).
func testConfig(mutate func(*Config)) Config {
	c := Defaults(testProject, testStack)
	if mutate != nil {
		mutate(&c)
	}
	return c
}

// withReplicas sets replicas and controllers together, as a stack does.
func withReplicas(replicas, controllers int) func(*Config) {
	return func(c *Config) { c.Replicas, c.Controllers = replicas, controllers }
}

func TestNodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		mutate    func(*Config)
		wantRoles []string
	}{
		{
			name:      "defaults are three combined broker-controller nodes",
			wantRoles: []string{"broker,controller", "broker,controller", "broker,controller"},
		},
		{
			name:      "a single replica is its own controller",
			mutate:    withReplicas(1, 1),
			wantRoles: []string{"broker,controller"},
		},
		{
			name:      "ordinals beyond the controllers are broker-only",
			mutate:    withReplicas(5, 3),
			wantRoles: []string{"broker,controller", "broker,controller", "broker,controller", "broker", "broker"},
		},
		{
			name:      "one controller among three brokers",
			mutate:    withReplicas(3, 1),
			wantRoles: []string{"broker,controller", "broker", "broker"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := testConfig(tt.mutate)
			nodes := Nodes(c)
			if len(nodes) != len(tt.wantRoles) {
				t.Fatalf("Nodes() returned %d nodes, want %d", len(nodes), len(tt.wantRoles))
			}
			for i, n := range nodes {
				if n.Ordinal != i || n.NodeID != i {
					t.Errorf("node %d: ordinal %d, id %d; want both %d (node id equals the ordinal)", i, n.Ordinal, n.NodeID, i)
				}
				if got := n.Roles(); got != tt.wantRoles[i] {
					t.Errorf("node %d: Roles() = %q, want %q", i, got, tt.wantRoles[i])
				}
				if n.Controller != (i < c.Controllers) {
					t.Errorf("node %d: Controller = %v with %d controllers", i, n.Controller, c.Controllers)
				}
				if want := fmt.Sprintf("kafka-%d", i); n.PodName != want {
					t.Errorf("node %d: PodName = %q, want %q", i, n.PodName, want)
				}
				if want := fmt.Sprintf("kafka-%d.kafka-svc.kafka-kraft.svc.cluster.local", i); n.InternalHost != want {
					t.Errorf("node %d: InternalHost = %q, want %q", i, n.InternalHost, want)
				}
				if want := DefaultExternalNodePortBase + i; n.ExternalNodePort != want {
					t.Errorf("node %d: ExternalNodePort = %d, want %d", i, n.ExternalNodePort, want)
				}
			}
		})
	}
}

func TestPodHostUsesNamespaceAndDomain(t *testing.T) {
	t.Parallel()
	if got, want := PodHost(2, "streaming", "k8s.example"), "kafka-2.kafka-svc.streaming.svc.k8s.example"; got != want {
		t.Errorf("PodHost() = %q, want %q", got, want)
	}
	if got, want := DataClaim(2), "data-kafka-2"; got != want {
		t.Errorf("DataClaim(2) = %q, want %q (the StatefulSet's claim template naming)", got, want)
	}
}

func TestQuorumVoters(t *testing.T) {
	t.Parallel()
	voter := func(id int) string {
		return fmt.Sprintf("%d@kafka-%d.kafka-svc.kafka-kraft.svc.cluster.local:9093", id, id)
	}
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{name: "three controllers", want: voter(0) + "," + voter(1) + "," + voter(2)},
		{name: "single node", mutate: withReplicas(1, 1), want: voter(0)},
		{name: "broker-only nodes are not voters", mutate: withReplicas(5, 3), want: voter(0) + "," + voter(1) + "," + voter(2)},
		{name: "five controllers", mutate: withReplicas(5, 5), want: strings.Join([]string{voter(0), voter(1), voter(2), voter(3), voter(4)}, ",")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := QuorumVoters(testConfig(tt.mutate))
			if got != tt.want {
				t.Errorf("QuorumVoters() = %q\nwant             %q", got, tt.want)
			}
		})
	}
}

func TestQuorumVotersSortedByID(t *testing.T) {
	t.Parallel()
	// Ten or more voters is where a lexical sort would put 10 before 2.
	c := testConfig(withReplicas(13, 11))
	prev := -1
	for _, v := range strings.Split(QuorumVoters(c), ",") {
		id, err := strconv.Atoi(strings.SplitN(v, "@", 2)[0])
		if err != nil {
			t.Fatalf("voter %q has no numeric id: %v", v, err)
		}
		if id <= prev {
			t.Errorf("voter ids not ascending: %d after %d", id, prev)
		}
		prev = id
	}
	if prev != 10 {
		t.Errorf("last voter id = %d, want 10 (11 controllers)", prev)
	}
}

func TestQuorumVotersUnchangedByScaleUp(t *testing.T) {
	t.Parallel()
	before := QuorumVoters(testConfig(withReplicas(3, 3)))
	for _, replicas := range []int{4, 5, 9} {
		if after := QuorumVoters(testConfig(withReplicas(replicas, 3))); after != before {
			t.Errorf("scaling 3 -> %d replicas changed the voters:\n%s\n%s", replicas, before, after)
		}
	}
}

func TestBootstrapServers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{name: "defaults: the CLIENT listener (SCRAM)", want: "kafka-svc.kafka-kraft.svc.cluster.local:9095"},
		{name: "security none: INTERNAL", mutate: func(c *Config) { c.Security.Mode = SecurityNone }, want: "kafka-svc.kafka-kraft.svc.cluster.local:9092"},
		{
			name:   "custom namespace and domain",
			mutate: func(c *Config) { c.Namespace, c.ClusterDomain = "streaming", "k8s.example" },
			want:   "kafka-svc.streaming.svc.k8s.example:9095",
		},
		{name: "independent of replicas", mutate: withReplicas(1, 1), want: "kafka-svc.kafka-kraft.svc.cluster.local:9095"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := BootstrapServers(testConfig(tt.mutate)); got != tt.want {
				t.Errorf("BootstrapServers() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestExternalBootstrapServers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{name: "defaults list every broker in ordinal order", want: "127.0.0.1:31090,127.0.0.1:31091,127.0.0.1:31092"},
		{name: "single node", mutate: withReplicas(1, 1), want: "127.0.0.1:31090"},
		{
			name: "custom host and base port",
			mutate: func(c *Config) {
				c.Replicas, c.Controllers = 2, 1
				c.ExternalHost, c.ExternalNodePortBase = "kafka.example.com", 32000
			},
			want: "kafka.example.com:32000,kafka.example.com:32001",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := ExternalBootstrapServers(testConfig(tt.mutate)); got != tt.want {
				t.Errorf("ExternalBootstrapServers() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReplicationFactorAndMinInsync(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		replicas int
		wantRF   int
		wantISR  int
	}{
		{name: "one broker cannot host more than one copy", replicas: 1, wantRF: 1, wantISR: 1},
		{name: "two brokers keep two copies and tolerate one down", replicas: 2, wantRF: 2, wantISR: 1},
		{name: "three brokers keep three copies", replicas: 3, wantRF: 3, wantISR: 2},
		{name: "more brokers stay at three copies", replicas: 5, wantRF: 3, wantISR: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := ReplicationFactor(tt.replicas); got != tt.wantRF {
				t.Errorf("ReplicationFactor(%d) = %d, want %d", tt.replicas, got, tt.wantRF)
			}
			if got := MinInsyncReplicas(tt.replicas); got != tt.wantISR {
				t.Errorf("MinInsyncReplicas(%d) = %d, want %d", tt.replicas, got, tt.wantISR)
			}
		})
	}
}

func TestDeriveClusterID(t *testing.T) {
	t.Parallel()
	id := DeriveClusterID(testProject, testStack, DefaultNamespace)
	if again := DeriveClusterID(testProject, testStack, DefaultNamespace); again != id {
		t.Errorf("DeriveClusterID is not stable: %q then %q", id, again)
	}
	tests := []struct {
		name                      string
		project, stack, namespace string
	}{
		{name: "another stack", project: testProject, stack: "prod", namespace: DefaultNamespace},
		{name: "another namespace", project: testProject, stack: testStack, namespace: "streaming"},
		{name: "another project", project: "other", stack: testStack, namespace: DefaultNamespace},
		// The '/' separator keeps ("kafka-kraftd", "ev") apart from ("kafka-kraft", "dev").
		{name: "shifted boundaries", project: testProject + "d", stack: "ev", namespace: DefaultNamespace},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if other := DeriveClusterID(tt.project, tt.stack, tt.namespace); other == id {
				t.Errorf("DeriveClusterID(%q, %q, %q) = %q, same as the default stack's", tt.project, tt.stack, tt.namespace, other)
			}
		})
	}
}

func TestDeriveClusterIDFormat(t *testing.T) {
	t.Parallel()
	// Without the cleared top bit one id in 64 would start with '-'; a thousand stacks make such a
	// regression all but certain to show, and the bit itself is checked too.
	seen := map[string]bool{}
	for i := range 1000 {
		stack := fmt.Sprintf("stack-%d", i)
		id := DeriveClusterID(testProject, stack, DefaultNamespace)
		if len(id) != 22 {
			t.Fatalf("%s: id %q has %d characters, want 22", stack, id, len(id))
		}
		b, err := base64.RawURLEncoding.DecodeString(id)
		if err != nil || len(b) != 16 {
			t.Fatalf("%s: id %q does not decode to 16 bytes (len %d, err %v)", stack, id, len(b), err)
		}
		if strings.HasPrefix(id, "-") {
			t.Fatalf("%s: id %q starts with '-', which command lines read as a flag", stack, id)
		}
		if b[0]&0x80 != 0 {
			t.Fatalf("%s: id %q has the top bit set", stack, id)
		}
		if seen[id] {
			t.Fatalf("%s: id %q repeats", stack, id)
		}
		seen[id] = true
		// A derived id must pass the same check a user-supplied one does.
		c := testConfig(func(c *Config) { c.ClusterID = id })
		if err := c.Validate(); err != nil {
			t.Fatalf("%s: Validate rejects derived id %q: %v", stack, id, err)
		}
	}
}

func TestEffectiveClusterID(t *testing.T) {
	t.Parallel()
	derived := DeriveClusterID(testProject, testStack, DefaultNamespace)
	if got := EffectiveClusterID(testConfig(nil)); got != derived {
		t.Errorf("EffectiveClusterID() without clusterId = %q, want the derived %q", got, derived)
	}
	const set = "MkU3OEVBNTcwNTJENDM2Qg"
	if got := EffectiveClusterID(testConfig(func(c *Config) { c.ClusterID = set })); got != set {
		t.Errorf("EffectiveClusterID() with clusterId = %q, want %q", got, set)
	}
}

func TestLabels(t *testing.T) {
	t.Parallel()
	versionLike := regexp.MustCompile(`[0-9]+\.[0-9]+`)
	tests := []struct {
		name      string
		component string
		wantKeys  []string
	}{
		{name: "kafka carries the version outside the selector", component: StatefulSetName, wantKeys: []string{"app.kubernetes.io/version"}},
		{name: "kcat", component: "kafka-cat"},
		{name: "registry", component: "registry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := testConfig(nil)
			sel, labels := SelectorLabels(c, tt.component), Labels(c, tt.component)
			if sel["app.kubernetes.io/name"] != tt.component || sel["app.kubernetes.io/instance"] != testStack {
				t.Errorf("SelectorLabels() = %v, want name %q and instance %q", sel, tt.component, testStack)
			}
			for k, v := range sel {
				if labels[k] != v {
					t.Errorf("Labels()[%q] = %q, want the selector's %q (selector must be a subset)", k, labels[k], v)
				}
				if strings.Contains(k, "version") || versionLike.MatchString(v) || strings.Contains(v, c.KafkaVersion) {
					t.Errorf("selector label %s=%s looks like a version; selectors are immutable", k, v)
				}
			}
			for _, k := range tt.wantKeys {
				if _, ok := labels[k]; !ok {
					t.Errorf("Labels() = %v, missing %q", labels, k)
				}
			}
			// What may change over a stack's life must not move the selector.
			changed := testConfig(func(c *Config) {
				c.KafkaVersion = "4.5.0"
				c.Replicas, c.Controllers = 5, 3
			})
			if other := SelectorLabels(changed, tt.component); !maps.Equal(other, sel) {
				t.Errorf("SelectorLabels changed with version/image/replicas: %v -> %v", sel, other)
			}
		})
	}
}

func TestHostPathDir(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		hostPath string
		volume   string
		want     string
	}{
		{name: "default root", hostPath: "/mnt/kafka", volume: "kafka-0", want: "/mnt/kafka/dev/kafka-0"},
		{name: "trailing slash on the root", hostPath: "/mnt/kafka/", volume: "kafka-1", want: "/mnt/kafka/dev/kafka-1"},
		{name: "registry volume", hostPath: "/data", volume: "registry", want: "/data/dev/registry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := testConfig(func(c *Config) { c.Storage.HostPath = tt.hostPath })
			if got := HostPathDir(c, tt.volume); got != tt.want {
				t.Errorf("HostPathDir(%q) = %q, want %q", tt.volume, got, tt.want)
			}
		})
	}
}

func TestPersistentVolumeName(t *testing.T) {
	t.Parallel()
	dns1123Subdomain := regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)
	c := testConfig(nil)
	got := PersistentVolumeName(c, DataClaim(0))
	if want := "kafka-kraft-dev-kafka-kraft-data-kafka-0"; got != want {
		t.Errorf("PersistentVolumeName() = %q, want %q", got, want)
	}
	if !dns1123Subdomain.MatchString(got) || len(got) > 253 {
		t.Errorf("PersistentVolumeName() = %q is not a valid object name", got)
	}
	names := map[string]string{got: "default"}
	for name, other := range map[string]Config{
		"another stack":     Defaults(testProject, "prod"),
		"another namespace": testConfig(func(c *Config) { c.Namespace = "streaming" }),
	} {
		n := PersistentVolumeName(other, DataClaim(0))
		if prev, ok := names[n]; ok {
			t.Errorf("%s and %s share the cluster-scoped PersistentVolume name %q", name, prev, n)
		}
		names[n] = name
	}
}

func TestDefaultControllers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		replicas int
		want     int
	}{
		{name: "one node", replicas: 1, want: 1},
		{name: "two nodes cannot afford an even quorum", replicas: 2, want: 1},
		{name: "three nodes", replicas: 3, want: 3},
		{name: "larger clusters keep three voters", replicas: 7, want: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := DefaultControllers(tt.replicas); got != tt.want {
				t.Errorf("DefaultControllers(%d) = %d, want %d", tt.replicas, got, tt.want)
			}
		})
	}
}

func TestDisruptionBudgetFollowsTheQuorum(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ replicas, controllers, want int }{{1, 1, 0}, {3, 1, 0}, {3, 3, 1}, {5, 5, 1}, {6, 3, 1}} {
		c := Defaults("kafka-kraft", "dev")
		c.Replicas, c.Controllers = tt.replicas, tt.controllers
		if got := MaxUnavailable(c); got != tt.want {
			t.Errorf("replicas %d, controllers %d: MaxUnavailable = %d, want %d", tt.replicas, tt.controllers, got, tt.want)
		}
	}
}

func TestSpreadRules(t *testing.T) {
	t.Parallel()
	const voters = " {kubernetes.io/hostname DoNotSchedule [0 1 2] true}"
	for _, tt := range []struct {
		name        string
		spread      string
		controllers int
		want        string
	}{
		{"soft, 3 voters", SpreadSoft, 3, "[{kubernetes.io/hostname ScheduleAnyway [] false} {topology.kubernetes.io/zone ScheduleAnyway [] false}" + voters + "]"},
		{"hard, 3 voters", SpreadHard, 3, "[{kubernetes.io/hostname DoNotSchedule [] false} {topology.kubernetes.io/zone ScheduleAnyway [] false}" + voters + "]"},
		{"soft, 5 voters", SpreadSoft, 5, "[{kubernetes.io/hostname ScheduleAnyway [] false} {topology.kubernetes.io/zone ScheduleAnyway [] false} {kubernetes.io/hostname DoNotSchedule [0 1 2 3 4] true}]"},
		{"soft, 1 voter: no voter rule", SpreadSoft, 1, "[{kubernetes.io/hostname ScheduleAnyway [] false} {topology.kubernetes.io/zone ScheduleAnyway [] false}]"},
	} {
		c := Defaults("kafka-kraft", "dev")
		c.Spread, c.Controllers, c.Replicas = tt.spread, tt.controllers, 5
		if got := fmt.Sprint(SpreadRules(c)); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}
