package kraft

import (
	"flag"
	"fmt"
	"maps"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kafka-kraft/kafka-kraft/internal/golden"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from the current output")

// renderGoldenCases are the configurations whose rendering is pinned in testdata/render-<name>.golden.
var renderGoldenCases = []struct {
	name   string
	mutate func(*Config)
}{
	{name: "defaults-3-nodes"},
	{name: "single-replica", mutate: withReplicas(1, 1)},
	{name: "5-replicas-3-controllers", mutate: withReplicas(5, 3)},
	{
		name: "broker-properties",
		mutate: func(c *Config) {
			c.BrokerProperties = map[string]string{
				"log.retention.hours":       "24",
				"compression.type":          "zstd",
				"num.partitions":            "6",
				"auto.create.topics.enable": "false",
				// Not managed: a user may lower the default the program picks.
				"default.replication.factor": "2",
				// With security "none" the TLS settings are the user's; a password goes to the
				// Secret, not the ConfigMap, whatever the mode.
				"ssl.keystore.location": `C:\keys\broker.jks`,
				"ssl.keystore.password": "do-not-print-me",
			}
			c.Security.Mode = SecurityNone
		},
	},
	{
		name: "secret-broker-properties",
		mutate: func(c *Config) {
			c.BrokerProperties = map[string]string{"log.retention.hours": "24", "ssl.cipher.suites": "TLS_AES_256_GCM_SHA384"}
			c.SecretBrokerProperties = true
		},
	},
	{
		name: "custom-namespace-domain-external-host",
		mutate: func(c *Config) {
			c.Namespace, c.ClusterDomain = "streaming", "k8s.example"
			c.ExternalHost, c.ExternalNodePortBase = "kafka.example.com", 32000
			c.ClusterID = "MkU3OEVBNTcwNTJENDM2Qg"
		},
	},
}

// goldenText lays out a Rendered in a stable order: cluster id, hash, name, the shared file, the
// voters' node files by ordinal (not lexically, so node-10 follows node-9), the broker template, and
// every node's file as the entrypoint makes it.
func goldenText(t *testing.T, c Config, r Rendered) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "# Render golden file; regenerate with: go test ./internal/kraft/ -run TestRenderGolden -update\n")
	fmt.Fprintf(&b, "cluster.id: %s\nhash: %s\nconfigmap: %s\n", r.ClusterID, r.Hash, r.Name)
	names := []string{SharedPropertiesFile}
	for i := range c.Controllers {
		names = append(names, NodePropertiesFile(i))
	}
	names = append(names, BrokerTemplateFile)
	if len(names) != len(r.Files) {
		t.Errorf("Render produced files %v, want exactly %v", sortedKeys(r.Files), names)
	}
	for _, n := range names {
		content, ok := r.Files[n]
		if !ok {
			t.Errorf("Render produced no %s", n)
		}
		fmt.Fprintf(&b, "\n=== %s ===\n%s", n, content)
	}
	if r.SecretProperties != "" {
		fmt.Fprintf(&b, "\n=== %s (a Secret, not in the ConfigMap) ===\n%s", SecretPropertiesFile, r.SecretProperties)
	}
	for i := c.Controllers; i < c.Replicas; i++ {
		f, ok := NodeFile(r, i)
		if !ok {
			t.Errorf("no node file for ordinal %d", i)
		}
		fmt.Fprintf(&b, "\n=== node %d as the entrypoint fills the template ===\n%s", i, f)
	}
	return b.String()
}

func TestRenderGolden(t *testing.T) {
	t.Parallel()
	for _, tt := range renderGoldenCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := testConfig(tt.mutate)
			if err := c.Validate(); err != nil {
				t.Fatalf("golden config must be valid: %v", err)
			}
			got := goldenText(t, c, Render(c))
			golden.Compare(t, filepath.Join("testdata", "render-"+tt.name+".golden"), got, *update)
		})
	}
}

func TestRenderIsDeterministic(t *testing.T) {
	t.Parallel()
	props := map[string]string{}
	for i := range 50 {
		props[fmt.Sprintf("listener.name.internal%d.ssl.keystore.type", i)] = "PKCS12"
	}
	c := testConfig(func(c *Config) {
		c.Replicas, c.Controllers = 12, 5
		c.BrokerProperties = props
	})
	first := Render(c)
	for range 20 {
		again := Render(c)
		if again.Hash != first.Hash || again.ClusterID != first.ClusterID || !maps.Equal(again.Files, first.Files) {
			t.Fatal("Render gave different output for identical input (map iteration order leaking?)")
		}
	}
	// A copy of the config built independently (fresh maps) renders identically too.
	c2 := testConfig(func(c *Config) {
		c.Replicas, c.Controllers = 12, 5
		c.BrokerProperties = maps.Clone(props)
	})
	if r := Render(c2); r.Hash != first.Hash || !maps.Equal(r.Files, first.Files) {
		t.Error("Render of an equal config differs")
	}
}

func TestRenderHash(t *testing.T) {
	t.Parallel()
	base := testConfig(withReplicas(3, 3))
	baseHash := Render(base).Hash
	tests := []struct {
		name        string
		mutate      func(*Config)
		wantChanged bool
	}{
		{name: "growing from 3 to 4 replicas with 3 controllers keeps the hash", mutate: withReplicas(4, 3)},
		{name: "growing from 3 to 7 replicas with 3 controllers keeps the hash", mutate: withReplicas(7, 3)},
		{name: "a broker property rolls the pods", mutate: func(c *Config) {
			c.BrokerProperties = map[string]string{"log.retention.hours": "24"}
		}, wantChanged: true},
		{name: "changing a broker property value rolls the pods", mutate: func(c *Config) {
			c.BrokerProperties = map[string]string{"log.retention.hours": "168"}
		}, wantChanged: true},
		{name: "another controller count rolls the pods", mutate: withReplicas(5, 5), wantChanged: true},
		{name: "the cluster id rolls the pods", mutate: func(c *Config) { c.ClusterID = "MkU3OEVBNTcwNTJENDM2Qg" }, wantChanged: true},
		{name: "the heap rolls the pods", mutate: func(c *Config) { c.Resources.HeapOpts = "-Xms1g -Xmx1g" }, wantChanged: true},
		{name: "the external host rolls the pods", mutate: func(c *Config) { c.ExternalHost = "10.0.0.1" }, wantChanged: true},
		{name: "the external port base rolls the pods", mutate: func(c *Config) { c.ExternalNodePortBase = 32000 }, wantChanged: true},
		{name: "the namespace rolls the pods", mutate: func(c *Config) { c.Namespace = "streaming" }, wantChanged: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Render(testConfig(func(c *Config) {
				*c = base
				tt.mutate(c)
			})).Hash
			if changed := got != baseHash; changed != tt.wantChanged {
				t.Errorf("hash %s -> %s: changed = %v, want %v", baseHash, got, changed, tt.wantChanged)
			}
		})
	}
}

func TestRenderHashFollowsSharedReplicationSettings(t *testing.T) {
	t.Parallel()
	// Growing 1 -> 2 -> 3 brokers raises the internal topics' replication factor, a shared setting,
	// so the existing nodes must restart with it.
	h1 := Render(testConfig(withReplicas(1, 1))).Hash
	h2 := Render(testConfig(withReplicas(2, 1))).Hash
	h3 := Render(testConfig(withReplicas(3, 1))).Hash
	if h1 == h2 || h2 == h3 {
		t.Errorf("hash did not follow the replication factor: 1:%s 2:%s 3:%s", h1, h2, h3)
	}
	if h4 := Render(testConfig(withReplicas(4, 1))).Hash; h4 != h3 {
		t.Errorf("hash changed from 3 to 4 brokers although no shared setting did: %s -> %s", h3, h4)
	}
}

func TestScaleUpChangesNoFile(t *testing.T) {
	t.Parallel()
	before := Render(testConfig(withReplicas(3, 3)))
	after := Render(testConfig(withReplicas(5, 3)))
	if len(before.Files) != len(after.Files) || before.Name != after.Name {
		t.Errorf("scaling 3 -> 5 changed the ConfigMap: %s %v -> %s %v", before.Name, sortedKeys(before.Files), after.Name, sortedKeys(after.Files))
	}
	for name, content := range before.Files {
		if after.Files[name] != content {
			t.Errorf("%s changed when scaling 3 -> 5:\n%s", name, golden.LineDiff(content, after.Files[name]))
		}
	}
	for _, ordinal := range []int{3, 4} {
		name := NodePropertiesFile(ordinal)
		f, ok := NodeFile(after, ordinal)
		if !ok {
			t.Fatalf("no node file for ordinal %d", ordinal)
		}
		props := parseJavaProperties(t, f)
		if props["process.roles"] != "broker" {
			t.Errorf("%s: process.roles = %q, want broker", name, props["process.roles"])
		}
		if _, ok := props["controller.quorum.voters"]; ok {
			t.Errorf("%s: node file repeats a shared key", name)
		}
	}
}

func TestRenderedProperties(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		mutate     func(*Config)
		file       string
		want       map[string]string
		wantAbsent []string
	}{
		{
			name:   "single node has replication factors of 1 for the internal topics",
			mutate: withReplicas(1, 1),
			file:   SharedPropertiesFile,
			want: map[string]string{
				"default.replication.factor":               "1",
				"min.insync.replicas":                      "1",
				"offsets.topic.replication.factor":         "1",
				"transaction.state.log.replication.factor": "1",
				"transaction.state.log.min.isr":            "1",
				"controller.quorum.voters":                 "0@kafka-0.kafka-svc.kafka-kraft.svc.cluster.local:9093",
				"log.dirs":                                 LogDir,
			},
		},
		{
			name: "user properties override unmanaged defaults",
			mutate: func(c *Config) {
				c.BrokerProperties = map[string]string{"min.insync.replicas": "1", "num.partitions": "6"}
			},
			file: SharedPropertiesFile,
			want: map[string]string{"min.insync.replicas": "1", "num.partitions": "6", "default.replication.factor": "3"},
		},
		{
			name:   "controller node listens on the controller port",
			mutate: withReplicas(5, 3),
			file:   NodePropertiesFile(2),
			want: map[string]string{
				"node.id":              "2",
				"process.roles":        "broker,controller",
				"listeners":            "INTERNAL://:9092,CONTROLLER://:9093,CLIENT://:9095,EXTERNAL://:9094",
				"advertised.listeners": "INTERNAL://kafka-2.kafka-svc.kafka-kraft.svc.cluster.local:9092,CLIENT://kafka-2.kafka-svc.kafka-kraft.svc.cluster.local:9095,EXTERNAL://127.0.0.1:31092",
			},
		},
		{
			name:   "broker-only node has no controller listener and advertises none",
			mutate: withReplicas(5, 3),
			file:   NodePropertiesFile(4),
			want: map[string]string{
				"node.id":              "4",
				"process.roles":        "broker",
				"listeners":            "INTERNAL://:9092,CLIENT://:9095,EXTERNAL://:9094",
				"advertised.listeners": "INTERNAL://kafka-4.kafka-svc.kafka-kraft.svc.cluster.local:9092,CLIENT://kafka-4.kafka-svc.kafka-kraft.svc.cluster.local:9095,EXTERNAL://127.0.0.1:31094",
			},
		},
		{
			name: "security none keeps the PLAINTEXT listeners of before",
			mutate: func(c *Config) {
				withReplicas(5, 3)(c)
				c.Security.Mode = SecurityNone
			},
			file: NodePropertiesFile(4),
			want: map[string]string{
				"listeners":            "INTERNAL://:9092,EXTERNAL://:9094",
				"advertised.listeners": "INTERNAL://kafka-4.kafka-svc.kafka-kraft.svc.cluster.local:9092,EXTERNAL://127.0.0.1:31094",
			},
		},
		{
			name:   "security tls: mutual TLS between nodes, SCRAM for clients, ACLs",
			mutate: withReplicas(3, 3),
			file:   SharedPropertiesFile,
			want: map[string]string{
				"listener.security.protocol.map":                 "CONTROLLER:SSL,INTERNAL:SSL,CLIENT:SASL_SSL,EXTERNAL:SASL_SSL",
				"listener.name.internal.ssl.client.auth":         "required",
				"listener.name.controller.ssl.client.auth":       "required",
				"listener.name.external.sasl.enabled.mechanisms": "SCRAM-SHA-512",
				"authorizer.class.name":                          AuthorizerClass,
				"super.users":                                    "User:CN=kafka-node;User:admin",
				"ssl.keystore.type":                              "PEM",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := Render(testConfig(tt.mutate))
			file := r.Files[tt.file]
			var ordinal int
			if _, err := fmt.Sscanf(tt.file, "node-%d.properties", &ordinal); err == nil {
				file, _ = NodeFile(r, ordinal) // voters have their own file, brokers the template
			}
			props := parseJavaProperties(t, file)
			for k, v := range tt.want {
				if props[k] != v {
					t.Errorf("%s: %s = %q, want %q", tt.file, k, props[k], v)
				}
			}
		})
	}
}

func TestFormatPropertiesExactText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header string
		props  map[string]string
		want   string
	}{
		{
			name:   "sorted keys under a commented header",
			header: "Line one\nLine two",
			props:  map[string]string{"b": "2", "a": "1"},
			want:   "# Line one\n# Line two\na=1\nb=2\n",
		},
		{
			name:   "separators in keys are escaped",
			header: "h",
			props:  map[string]string{"a=b": "1", "c:d": "2", "e f": "3", "#g": "4", "!h": "5"},
			want:   "# h\n\\!h=5\n\\#g=4\na\\=b=1\nc\\:d=2\ne\\ f=3\n",
		},
		{
			name:   "backslashes and line breaks in values are escaped",
			header: "h",
			props:  map[string]string{"path": `C:\dir`, "multi": "one\ntwo\r\n", "tab": "a\tb"},
			want:   "# h\nmulti=one\\ntwo\\r\\n\npath=C:\\\\dir\ntab=a\\tb\n",
		},
		{
			name:   "only a leading space of a value is escaped",
			header: "h",
			props:  map[string]string{"k": " a b ", "eq": "=x:y#z"},
			want:   "# h\neq==x:y#z\nk=\\ a b \n",
		},
		{
			name:   "empty value",
			header: "h",
			props:  map[string]string{"k": ""},
			want:   "# h\nk=\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := FormatProperties(tt.header, tt.props); got != tt.want {
				t.Errorf("FormatProperties() =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestFormatPropertiesRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		props map[string]string
	}{
		{name: "plain kafka settings", props: map[string]string{"log.retention.hours": "24", "compression.type": "zstd"}},
		{name: "keys with separators", props: map[string]string{"a=b": "1", "a:b": "2", "a b": "3", "a\tb": "4", "#c": "5", "!d": "6", "e\\f": "7"}},
		{name: "values with backslashes", props: map[string]string{"k": `C:\keys\broker.jks`, "trailing": `ends with \`, "double": `\\`}},
		{name: "values with line breaks", props: map[string]string{"k": "line1\nline2", "cr": "a\rb", "crlf": "a\r\nb\n"}},
		{name: "values with surrounding whitespace", props: map[string]string{"lead": "  two spaces", "tab": "\tleading tab", "trail": "trailing  "}},
		{name: "values looking like syntax", props: map[string]string{"eq": "=value", "colon": ":value", "hash": "#not a comment", "bang": "!x"}},
		{name: "form feeds", props: map[string]string{"ff": "\fleading form feed", "key\fwith": "x"}},
		{name: "empty value and non-ASCII", props: map[string]string{"empty": "", "utf8": "héllo wörld ✓"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			text := FormatProperties("header\nwith: two lines = and # signs", tt.props)
			got := parseJavaProperties(t, text)
			if !maps.Equal(got, tt.props) {
				t.Errorf("round trip lost data:\nrendered %q\ngot  %q\nwant %q", text, got, tt.props)
			}
		})
	}
}

// parseJavaProperties reads properties text the way java.util.Properties.load(Reader) does: natural
// lines split on \n, \r or \r\n; blank and comment ('#', '!') lines skipped; a line ending in an
// odd number of backslashes continues on the next (whose leading whitespace is dropped); the key
// ends at the first unescaped '=', ':' or whitespace; whitespace and one separator after it are
// skipped; escapes \t \n \r \f \uXXXX are decoded and any other escaped character stands for itself.
func parseJavaProperties(t *testing.T, text string) map[string]string {
	t.Helper()
	isWS := func(r rune) bool { return r == ' ' || r == '\t' || r == '\f' }
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	lines := strings.Split(text, "\n")
	out := map[string]string{}
	for i := 0; i < len(lines); i++ {
		line := strings.TrimLeftFunc(lines[i], isWS)
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		for endsInOddBackslashes(line) && i+1 < len(lines) {
			i++
			line = line[:len(line)-1] + strings.TrimLeftFunc(lines[i], isWS)
		}
		if endsInOddBackslashes(line) {
			line = line[:len(line)-1]
		}
		runes := []rune(line)
		// Find the end of the key.
		k := 0
		for k < len(runes) {
			if runes[k] == '\\' {
				k += 2
				continue
			}
			if runes[k] == '=' || runes[k] == ':' || isWS(runes[k]) {
				break
			}
			k++
		}
		k = min(k, len(runes))
		key := string(runes[:k])
		v := k
		for v < len(runes) && isWS(runes[v]) {
			v++
		}
		if v < len(runes) && (runes[v] == '=' || runes[v] == ':') {
			v++
		}
		for v < len(runes) && isWS(runes[v]) {
			v++
		}
		out[unescapeJava(t, key)] = unescapeJava(t, string(runes[v:]))
	}
	return out
}

func endsInOddBackslashes(s string) bool {
	n := 0
	for i := len(s) - 1; i >= 0 && s[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

func unescapeJava(t *testing.T, s string) string {
	t.Helper()
	var b strings.Builder
	runes := []rune(s)
	for i := 0; i < len(runes); i++ {
		r := runes[i]
		if r != '\\' || i+1 == len(runes) {
			b.WriteRune(r)
			continue
		}
		i++
		switch runes[i] {
		case 't':
			b.WriteRune('\t')
		case 'n':
			b.WriteRune('\n')
		case 'r':
			b.WriteRune('\r')
		case 'f':
			b.WriteRune('\f')
		case 'u':
			if i+4 >= len(runes) {
				t.Fatalf("truncated \\u escape in %q", s)
			}
			n, err := strconv.ParseUint(string(runes[i+1:i+5]), 16, 16)
			if err != nil {
				t.Fatalf("bad \\u escape in %q: %v", s, err)
			}
			b.WriteRune(rune(n))
			i += 4
		default:
			b.WriteRune(runes[i])
		}
	}
	return b.String()
}
