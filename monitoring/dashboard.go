package monitoring

import (
	"encoding/json"
	"strings"
)

// DashboardUID is the Grafana dashboard's uid (stable, so links and imports keep working).
const DashboardUID = "kafka-kraft"

// panel is one dashboard panel: a stat (one number, red above 0 when alarming) or a time series.
type panel struct {
	title, unit, kind string // kind: "stat" or "timeseries"
	// alarm: a stat whose any value above 0 is bad (red), else it is informative (blue).
	alarm   bool
	targets [][2]string // expr, legend
}

type row struct {
	title  string
	panels []panel
}

func stat(title, expr string, alarm bool) panel {
	return panel{title: title, kind: "stat", alarm: alarm, targets: [][2]string{{expr, ""}}}
}

func series(title, unit string, targets ...[2]string) panel {
	return panel{title: title, kind: "timeseries", unit: unit, targets: targets}
}

func t(expr, legend string) [2]string { return [2]string{expr, legend} }

// ns is the dashboard's selector (its $namespace variable, and the job the ServiceMonitor gives the
// targets: a second scrape of the same pods under another job, say through the pod annotations,
// would count everything twice). Queries write it as {{SEL}}.
const ns = `namespace="$namespace", job="` + MetricsServiceName + `"`

// rows are the dashboard, top to bottom: what is wrong first, then why.
var rows = []row{
	{"Cluster", []panel{
		stat("Active brokers", `max(kafka_controller_active_brokers{{{SEL}}})`, false),
		stat("Fenced brokers", `max(kafka_controller_fenced_brokers{{{SEL}}})`, true),
		stat("Active controllers", `sum(kafka_controller_active_controller{{{SEL}}})`, false),
		stat("Offline partitions", `max(kafka_controller_offline_partitions{{{SEL}}})`, true),
		stat("Under-replicated partitions", `sum(kafka_server_under_replicated_partitions{{{SEL}}})`, true),
		stat("Under min ISR partitions", `sum(kafka_server_under_min_isr_partitions{{{SEL}}})`, true),
		{title: "Largest broker's logs", kind: "stat", unit: "bytes", targets: [][2]string{{`max(sum by (pod) (kafka_log_size_bytes{{{SEL}}}))`, ""}}},
		stat("Topics", `max(kafka_controller_global_topics{{{SEL}}})`, false),
		stat("Partitions", `max(kafka_controller_global_partitions{{{SEL}}})`, false),
	}},
	{"KRaft quorum", []panel{
		series("Quorum leader as each node sees it (-1 = none)", "none", t(`kafka_raft_current_leader{{{SEL}}}`, "{{pod}}")),
		series("Quorum epoch (a step is an election)", "none", t(`kafka_raft_current_epoch{{{SEL}}}`, "{{pod}}")),
		series("Metadata records behind the committed offset", "none",
			t(`scalar(max(kafka_raft_high_watermark{{{SEL}}})) - kafka_raft_log_end_offset{{{SEL}}}`, "{{pod}}")),
		series("Metadata applied lag", "ms",
			t(`kafka_broker_metadata_lag_ms{{{SEL}}}`, "broker {{pod}}"),
			t(`kafka_controller_last_applied_record_lag_ms{{{SEL}}}`, "controller {{pod}}")),
		series("Metadata commit latency (leader)", "ms", t(`kafka_raft_commit_latency_avg_ms{{{SEL}}}`, "{{pod}}")),
		series("Broker states (3 = RUNNING)", "none", t(`kafka_server_broker_state{{{SEL}}}`, "{{pod}}")),
	}},
	{"Traffic", []panel{
		series("Records in", "short", t(`sum by (pod) (rate(kafka_server_messages_in_total{{{SEL}}}[$__rate_interval]))`, "{{pod}}")),
		series("Bytes in / out", "Bps",
			t(`sum(rate(kafka_server_bytes_in_total{{{SEL}}}[$__rate_interval]))`, "in"),
			t(`sum(rate(kafka_server_bytes_out_total{{{SEL}}}[$__rate_interval]))`, "out"),
			t(`sum(rate(kafka_server_replication_bytes_in_total{{{SEL}}}[$__rate_interval]))`, "replication")),
		series("Records in per topic", "short", t(`sum by (topic) (rate(kafka_server_topic_messages_in_total{{{SEL}}}[$__rate_interval]))`, "{{topic}}")),
		series("Requests", "reqps", t(`sum by (request) (rate(kafka_network_requests_total{{{SEL}}}[$__rate_interval]))`, "{{request}}")),
		series("Request time p99", "ms", t(`max by (request) (kafka_network_request_time_ms{{{SEL}}, quantile="0.99"})`, "{{request}}")),
		series("Error responses", "reqps",
			t(`sum by (request, error) (rate(kafka_network_request_errors_total{{{SEL}}, error!="NONE"}[$__rate_interval]))`, "{{request}} {{error}}"),
			t(`sum(rate(kafka_server_failed_produce_requests_total{{{SEL}}}[$__rate_interval]))`, "failed produce"),
			t(`sum(rate(kafka_server_failed_fetch_requests_total{{{SEL}}}[$__rate_interval]))`, "failed fetch")),
	}},
	{"Brokers", []panel{
		series("Partitions and leaders per broker", "none",
			t(`kafka_server_partitions{{{SEL}}}`, "partitions {{pod}}"),
			t(`kafka_server_leader_partitions{{{SEL}}}`, "leaders {{pod}}")),
		series("ISR shrinks / expands", "short",
			t(`sum by (pod) (rate(kafka_server_isr_shrinks_total{{{SEL}}}[$__rate_interval]))`, "shrinks {{pod}}"),
			t(`sum by (pod) (rate(kafka_server_isr_expands_total{{{SEL}}}[$__rate_interval]))`, "expands {{pod}}")),
		series("Follower lag (records)", "none", t(`kafka_server_replica_fetcher_max_lag{{{SEL}}}`, "{{pod}}")),
		series("Idle (1 = idle, 0 = saturated)", "percentunit",
			t(`kafka_server_request_handler_idle_ratio{{{SEL}}}`, "request handlers {{pod}}"),
			t(`kafka_network_processor_idle_ratio{{{SEL}}}`, "network {{pod}}")),
		series("Log size per topic", "bytes", t(`sum by (topic) (kafka_log_size_bytes{{{SEL}}})`, "{{topic}}")),
		series("Preferred leader imbalance", "none", t(`max(kafka_controller_preferred_replica_imbalance{{{SEL}}})`, "partitions")),
	}},
	{"JVM", []panel{
		series("Heap", "bytes",
			t(`jvm_memory_used_bytes{{{SEL}}, area="heap"}`, "used {{pod}}"),
			t(`jvm_memory_max_bytes{{{SEL}}, area="heap"}`, "max {{pod}}")),
		series("GC time", "percentunit", t(`sum by (pod) (rate(jvm_gc_collection_seconds_sum{{{SEL}}}[$__rate_interval]))`, "{{pod}}")),
		series("CPU (cores)", "none", t(`rate(kafka_process_cpu_seconds_total{{{SEL}}}[$__rate_interval])`, "{{pod}}")),
		series("Open file descriptors", "none",
			t(`kafka_process_open_fds{{{SEL}}}`, "open {{pod}}"),
			t(`kafka_process_max_fds{{{SEL}}}`, "max {{pod}}")),
		series("Threads", "none", t(`jvm_threads_current{{{SEL}}}`, "{{pod}}")),
		series("Scrape duration", "s", t(`jmx_scrape_duration_seconds{{{SEL}}}`, "{{pod}}")),
	}},
}

// Dashboard renders the Grafana dashboard (monitoring/kafka-kraft-dashboard.json): a datasource
// and a namespace variable, one row per concern.
func Dashboard() []byte {
	ds := map[string]any{"type": "prometheus", "uid": "${datasource}"}
	var panels []any
	id, y := 1, 0
	for _, r := range rows {
		panels = append(panels, map[string]any{
			"type": "row", "id": id, "title": r.title, "collapsed": false,
			"gridPos": map[string]int{"h": 1, "w": 24, "x": 0, "y": y},
		})
		id, y = id+1, y+1
		x := 0
		for _, p := range r.panels {
			w, h := 8, 8
			if p.kind == "stat" {
				w, h = 24/len(r.panels), 4
				if w < 2 {
					w = 2
				}
			}
			if x+w > 24 {
				x, y = 0, y+h
			}
			var targets []any
			for i, tg := range p.targets {
				targets = append(targets, map[string]any{
					"datasource": ds, "refId": string(rune('A' + i)),
					"expr": strings.ReplaceAll(tg[0], "{{SEL}}", ns), "legendFormat": tg[1],
				})
			}
			color := "blue"
			if p.alarm {
				color = "green"
			}
			steps := []any{map[string]any{"color": color, "value": nil}}
			if p.alarm {
				steps = append(steps, map[string]any{"color": "red", "value": 1})
			}
			unit := p.unit
			if unit == "" {
				unit = "none"
			}
			panels = append(panels, map[string]any{
				"type": p.kind, "id": id, "title": p.title, "datasource": ds,
				"gridPos": map[string]int{"h": h, "w": w, "x": x, "y": y},
				"fieldConfig": map[string]any{"defaults": map[string]any{
					"unit": unit, "thresholds": map[string]any{"mode": "absolute", "steps": steps},
				}, "overrides": []any{}},
				"targets": targets,
			})
			id, x = id+1, x+w
		}
		y += 8
	}
	d := map[string]any{
		"uid": DashboardUID, "title": "Kafka KRaft (kafka-kraft)", "editable": true,
		"tags":          []string{"kafka", "kraft", "kafka-kraft"},
		"schemaVersion": 39, "version": 1, "refresh": "30s",
		"time": map[string]string{"from": "now-1h", "to": "now"},
		"templating": map[string]any{"list": []any{
			map[string]any{"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus"},
			map[string]any{
				"name": "namespace", "label": "Namespace", "type": "query", "datasource": ds,
				"query": "label_values(kafka_server_broker_state, namespace)", "refresh": 2,
			},
		}},
		"panels": panels,
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		panic(err) // maps of strings and numbers always encode
	}
	return append(b, '\n')
}

// DashboardExprs are the PromQL expressions of a dashboard's panels (of a rendered or edited file).
func DashboardExprs(dashboard []byte) ([]string, error) {
	var d struct {
		Panels []struct {
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(dashboard, &d); err != nil {
		return nil, err
	}
	var out []string
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			out = append(out, tg.Expr)
		}
	}
	return out, nil
}
