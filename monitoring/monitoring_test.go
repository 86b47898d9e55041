package monitoring

import (
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/kafka-kraft/kafka-kraft/internal/golden"
)

var update = flag.Bool("update", false, "rewrite the rendered files (exporter config, rules, dashboard)")

// The files users and the image read are renders of this package: a hand edit or a code change
// without a render fails here.
func TestRenderedFiles(t *testing.T) {
	t.Parallel()
	golden.Compare(t, "../docker/kafka/jmx-exporter.yaml", string(ExporterConfig()), *update)
	golden.Compare(t, "prometheus-rules.yaml", string(RulesFile(DefaultRuleOptions)), *update)
	golden.Compare(t, "kafka-kraft-dashboard.json", string(Dashboard()), *update)
}

// external are series that come from elsewhere than a node's exporter, and from where.
var external = map[string]string{
	"up":                                   "Prometheus itself, per scrape target",
	"kubelet_volume_stats_available_bytes": "the kubelet (kube-prometheus-stack scrapes it), for claims with volume stats",
	"kubelet_volume_stats_capacity_bytes":  "the kubelet, as above",
}

// No panel or alert on a series nothing produces: every name an alert or a panel reads is one a
// rule or the exporter's JVM collectors serve (or a listed external series).
func TestEverySeriesUsedIsProduced(t *testing.T) {
	t.Parallel()
	produced := Produced()
	dashboard, err := os.ReadFile("kafka-kraft-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	exprs, err := DashboardExprs(dashboard)
	if err != nil {
		t.Fatal(err)
	}
	if len(exprs) < 30 {
		t.Fatalf("the dashboard has %d queries; expected the whole dashboard", len(exprs))
	}
	for _, g := range RuleGroups(DefaultRuleOptions) {
		for _, r := range g.Rules {
			exprs = append(exprs, r.Expr)
		}
	}
	used := map[string]bool{}
	for _, e := range exprs {
		names := MetricNames(e)
		if len(names) == 0 {
			t.Errorf("no series found in %q", e)
		}
		for _, n := range names {
			used[n] = true
			if !produced[n] && external[n] == "" {
				t.Errorf("%q reads %s, which no exporter rule produces", e, n)
			}
		}
	}
	for _, key := range []string{"kafka_server_under_replicated_partitions", "kafka_controller_active_controller", "kafka_raft_current_leader", "jvm_memory_used_bytes"} {
		if !used[key] {
			t.Errorf("nothing reads %s", key)
		}
	}
}

func TestRulesAreWellFormed(t *testing.T) {
	t.Parallel()
	names := map[string]bool{}
	group := regexp.MustCompile(`\$(\d)`)
	for _, r := range Rules {
		if names[r.Name] {
			t.Errorf("%s: two rules write it", r.Name)
		}
		names[r.Name] = true
		if !regexp.MustCompile(`^[a-z_]+[a-z0-9_]*$`).MatchString(r.Name) || strings.Contains(r.Name, "$") {
			t.Errorf("%s: want a fixed lower-case name", r.Name)
		}
		if (r.Type == "COUNTER") != strings.HasSuffix(r.Name, "_total") {
			t.Errorf("%s: type %s; counters and only counters end in _total", r.Name, r.Type)
		}
		if r.Type != "COUNTER" && r.Type != "GAUGE" {
			t.Errorf("%s: type %q", r.Name, r.Type)
		}
		if r.Help == "" {
			t.Errorf("%s: no help", r.Name)
		}
		re, err := regexp.Compile("^" + r.Pattern + "$")
		if err != nil {
			t.Errorf("%s: pattern: %v", r.Name, err)
			continue
		}
		for k, v := range r.Labels {
			for _, m := range group.FindAllStringSubmatch(v, -1) {
				if int(m[1][0]-'0') > re.NumSubexp() {
					t.Errorf("%s: label %s uses %s but the pattern has %d groups", r.Name, k, m[0], re.NumSubexp())
				}
			}
		}
		if strings.Count(r.Pattern, "(") > 0 && len(r.Labels) == 0 {
			t.Errorf("%s: the pattern captures but no label uses it", r.Name)
		}
	}
}

func TestRuleGroupsRenderTheCluster(t *testing.T) {
	t.Parallel()
	if g := RuleGroups(RuleOptions{Namespace: "prod", Brokers: 5}); len(g[0].Rules) != len(Alerts)-1 {
		t.Errorf("without a volume size: %d rules, want all but KafkaLogsFillingVolume", len(g[0].Rules))
	}
	g := RuleGroups(RuleOptions{Namespace: "prod", Brokers: 5, StorageBytes: 10 << 30})
	if len(g) != 1 || len(g[0].Rules) != len(Alerts) {
		t.Fatalf("groups %+v", g)
	}
	for _, r := range g[0].Rules {
		if strings.Contains(r.Expr, "SEL") || strings.Contains(r.Expr, "BROKERS") {
			t.Errorf("%s: placeholder left in %q", r.Alert, r.Expr)
		}
		if !strings.Contains(r.Expr, `namespace="prod"`) {
			t.Errorf("%s: %q does not select namespace prod", r.Alert, r.Expr)
		}
		if r.Labels["severity"] != "critical" && r.Labels["severity"] != "warning" {
			t.Errorf("%s: severity %q", r.Alert, r.Labels["severity"])
		}
		if r.Alert == "KafkaBrokersMissing" && !strings.HasSuffix(r.Expr, "< 5") {
			t.Errorf("KafkaBrokersMissing: %q does not compare with 5 brokers", r.Expr)
		}
		if r.Alert == "KafkaLogsFillingVolume" && !strings.HasSuffix(r.Expr, "/ 10737418240 > 0.85") {
			t.Errorf("KafkaLogsFillingVolume: %q does not compare with the 10Gi volume", r.Expr)
		}
	}
}

func TestMetricNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expr string
		want []string
	}{
		{`up`, []string{"up"}},
		{`sum by (namespace) (kafka_a{namespace="x", job="y"}) > 0`, []string{"kafka_a"}},
		{`scalar(max(kafka_hw{ns="a"})) - kafka_leo{ns="a"}`, []string{"kafka_hw", "kafka_leo"}},
		{`sum by (request, error) (rate(kafka_err_total{error!="NONE"}[$__rate_interval]))`, []string{"kafka_err_total"}},
		{`min by (pvc) (a_bytes{l=~"data-kafka-[0-9]+"} / b_bytes{l=~"x"}) < 0.15`, []string{"a_bytes", "b_bytes"}},
		{`x_total and on (pod) y or z unless w offset 5m`, []string{"w", "x_total", "y", "z"}},
	}
	for _, tt := range tests {
		if got := MetricNames(tt.expr); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("MetricNames(%q) = %v, want %v", tt.expr, got, tt.want)
		}
	}
}

// The alert rules run in a real rule engine: promtool checks the file and runs its unit tests
// (prometheus-rules.test.yaml: a healthy cluster, a stopped broker, a lost quorum, full disks).
// promtool comes with Debian's prometheus package: scripts/install-prometheus.sh (make unit runs it).
func TestAlertRulesWithPromtool(t *testing.T) {
	t.Parallel()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool is not on PATH: the alert rules cannot be tested. Install it with scripts/install-prometheus.sh (make unit does)")
	}
	for _, args := range [][]string{{"check", "rules", "prometheus-rules.yaml"}, {"test", "rules", "prometheus-rules.test.yaml"}} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// The image pins the exporter this package writes rules for.
func TestImagePinsTheExporter(t *testing.T) {
	t.Parallel()
	dockerfile, err := os.ReadFile("../docker/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if want := "\nARG JMX_EXPORTER_VERSION=" + ExporterVersion + "\n"; !strings.Contains(string(dockerfile), want) {
		t.Errorf("docker/Dockerfile does not pin jmx_prometheus_javaagent %s (want a line %q)", ExporterVersion, strings.TrimSpace(want))
	}
}

// Grafana places panels on a 24-column grid: every panel fits, ids are unique, every query has a
// datasource and a refId.
func TestDashboardLayout(t *testing.T) {
	t.Parallel()
	var d struct {
		UID    string `json:"uid"`
		Panels []struct {
			ID      int                      `json:"id"`
			Type    string                   `json:"type"`
			Title   string                   `json:"title"`
			GridPos struct{ H, W, X, Y int } `json:"gridPos"`
			Targets []struct {
				RefID      string         `json:"refId"`
				Datasource map[string]any `json:"datasource"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(Dashboard(), &d); err != nil {
		t.Fatal(err)
	}
	if d.UID != DashboardUID {
		t.Errorf("uid %q", d.UID)
	}
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d twice", p.ID)
		}
		ids[p.ID] = true
		if g := p.GridPos; g.W < 1 || g.X < 0 || g.X+g.W > 24 || g.H < 1 {
			t.Errorf("panel %q: gridPos %+v does not fit 24 columns", p.Title, g)
		}
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			if tg.RefID == "" || tg.Datasource["uid"] != "${datasource}" {
				t.Errorf("panel %q: target %+v", p.Title, tg)
			}
		}
	}
}

// The exporter matches each MBean attribute, written "domain<key=value, ...><>attribute: value",
// against the rules in order, as Java's ^.*(?:pattern).*$ (a substring match): the first match
// names the series. MBean strings as Kafka 4.4 registers them (key order included).
func TestRulesMatchKafkasMBeans(t *testing.T) {
	t.Parallel()
	tests := []struct {
		bean   string
		name   string // "" = no series
		labels map[string]string
	}{
		{"kafka.server<type=KafkaServer, name=BrokerState><>Value: 3", "kafka_server_broker_state", nil},
		{"kafka.server<type=ReplicaManager, name=UnderReplicatedPartitions><>Value: 0", "kafka_server_under_replicated_partitions", nil},
		{"kafka.server<type=ReplicaManager, name=IsrShrinksPerSec><>Count: 2", "kafka_server_isr_shrinks_total", nil},
		{"kafka.server<type=ReplicaManager, name=IsrShrinksPerSec><>OneMinuteRate: 0.1", "", nil},
		{"kafka.server<type=BrokerTopicMetrics, name=MessagesInPerSec><>Count: 9", "kafka_server_messages_in_total", nil},
		{"kafka.server<type=BrokerTopicMetrics, name=MessagesInPerSec, topic=orders><>Count: 9", "kafka_server_topic_messages_in_total", map[string]string{"topic": "orders"}},
		{"kafka.server<type=BrokerTopicMetrics, name=ReplicationBytesInPerSec><>Count: 1", "kafka_server_replication_bytes_in_total", nil},
		{"kafka.network<type=RequestMetrics, name=RequestsPerSec, request=Produce, version=11><>Count: 5", "kafka_network_requests_total", map[string]string{"request": "Produce", "version": "11"}},
		{"kafka.network<type=RequestMetrics, name=ErrorsPerSec, request=Fetch, error=NONE><>Count: 1", "kafka_network_request_errors_total", map[string]string{"request": "Fetch", "error": "NONE"}},
		{"kafka.network<type=RequestMetrics, name=TotalTimeMs, request=Produce><>99thPercentile: 3.5", "kafka_network_request_time_ms", map[string]string{"request": "Produce", "quantile": "0.99"}},
		{"kafka.network<type=RequestMetrics, name=TotalTimeMs, request=Produce><>999thPercentile: 9", "", nil},
		{"kafka.network<type=RequestMetrics, name=TotalTimeMs, request=ApiVersions><>99thPercentile: 1", "", nil},
		{"kafka.log<type=Log, name=Size, topic=orders, partition=2><>Value: 1024", "kafka_log_size_bytes", map[string]string{"topic": "orders", "partition": "2"}},
		{"kafka.controller<type=KafkaController, name=ActiveControllerCount><>Value: 1", "kafka_controller_active_controller", nil},
		{"kafka.controller<type=KafkaController, name=FencedBrokerCount><>Value: 0", "kafka_controller_fenced_brokers", nil},
		{"kafka.server<type=raft-metrics><>current-leader: 0", "kafka_raft_current_leader", nil},
		{"kafka.server<type=raft-metrics><>high-watermark: 43", "kafka_raft_high_watermark", nil},
		{"kafka.server<type=broker-metadata-metrics><>last-applied-record-lag-ms: 5", "kafka_broker_metadata_lag_ms", nil},
		{"java.lang<type=OperatingSystem><>ProcessCpuTime: 3700000000", "kafka_process_cpu_seconds_total", nil},
	}
	group := regexp.MustCompile(`\$(\d)`)
	for _, tt := range tests {
		name, labels := "", map[string]string(nil)
		for _, r := range Rules {
			m := regexp.MustCompile(`^.*(?:` + r.Pattern + `).*$`).FindStringSubmatch(tt.bean)
			if m == nil {
				continue
			}
			name = r.Name
			for k, v := range r.Labels {
				if labels == nil {
					labels = map[string]string{}
				}
				labels[k] = group.ReplaceAllStringFunc(v, func(g string) string { return m[int(g[1]-'0')] })
			}
			break
		}
		if name != tt.name || !reflect.DeepEqual(labels, tt.labels) {
			t.Errorf("%s -> %q %v, want %q %v", tt.bean, name, labels, tt.name, tt.labels)
		}
	}
}
