package kraftcluster

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kafka-kraft/kafka-kraft/internal/kraft"
	"github.com/kafka-kraft/kafka-kraft/monitoring"
)

const (
	// ScrapeInterval is the ServiceMonitor's: alerts with `for: 1m` see four samples.
	ScrapeInterval = "15s"
	// DashboardLabel is the label Grafana's dashboard sidecar (kube-prometheus-stack, the Grafana
	// chart) loads ConfigMaps by.
	DashboardLabel = "grafana_dashboard"
)

// metricsOn: every node runs the exporter unless monitoring is "none".
func metricsOn(c kraft.Config) bool { return c.Monitoring != kraft.MonitoringNone }

// metricsEnv tells the entrypoint which port the exporter serves on ("" = none: the image's default
// would serve 9404 otherwise).
func metricsEnv(c kraft.Config) *corev1.EnvVarArgs {
	port := ""
	if metricsOn(c) {
		port = strconv.Itoa(monitoring.MetricsPort)
	}
	return &corev1.EnvVarArgs{Name: pulumi.String("KAFKA_METRICS_PORT"), Value: pulumi.String(port)}
}

// metricsAnnotations are the prometheus.io/* pod annotations that a Prometheus scraping annotated
// pods (the common kubernetes_sd "pods" job) follows with no other setup.
func metricsAnnotations(c kraft.Config, into pulumi.StringMap) {
	if !metricsOn(c) {
		return
	}
	into["prometheus.io/scrape"] = pulumi.String("true")
	into["prometheus.io/port"] = pulumi.String(strconv.Itoa(monitoring.MetricsPort))
	into["prometheus.io/path"] = pulumi.String("/metrics")
}

// metricsServiceSpec lists every node's metrics port. Headless and with not-ready pods too: a
// Prometheus discovers each pod as its own target through it, and a node that is not Ready (the
// moment its metrics matter most) is scraped as well.
func metricsServiceSpec(c kraft.Config) *corev1.ServiceSpecArgs {
	return &corev1.ServiceSpecArgs{
		ClusterIP:                pulumi.String("None"),
		PublishNotReadyAddresses: pulumi.Bool(true),
		Selector:                 pulumi.ToStringMap(kraft.SelectorLabels(c, kraft.StatefulSetName)),
		Ports: corev1.ServicePortArray{&corev1.ServicePortArgs{
			Name: pulumi.String(monitoring.MetricsPortName), Port: pulumi.Int(monitoring.MetricsPort),
			TargetPort: pulumi.String(monitoring.MetricsPortName),
		}},
	}
}

// serviceMonitorSpec has the Prometheus Operator scrape every pod through the metrics Service; its
// targets get job="kafka-metrics" (the Service's name), which the alert rules select.
func serviceMonitorSpec(c kraft.Config) map[string]any {
	return map[string]any{
		"selector":          map[string]any{"matchLabels": kraft.SelectorLabels(c, monitoring.MetricsServiceName)},
		"namespaceSelector": map[string]any{"matchNames": []string{c.Namespace}},
		"endpoints": []any{map[string]any{
			"port": monitoring.MetricsPortName, "path": "/metrics",
			"interval": ScrapeInterval, "scrapeTimeout": "10s",
		}},
	}
}

// prometheusRuleSpec is monitoring's alert rules for this cluster.
func prometheusRuleSpec(c kraft.Config) map[string]any {
	return map[string]any{"groups": jsonValue(monitoring.RuleGroups(monitoring.RuleOptionsOf(c)))}
}

// jsonValue turns a struct into the plain maps and slices a custom resource's fields are.
func jsonValue(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain structs of strings always encode
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

// newMonitoring creates the metrics Service and, with "prometheus-operator", the ServiceMonitor, the
// PrometheusRule and the Grafana dashboard ConfigMap. None of them touches the pods: switching
// between "metrics" and "prometheus-operator" rolls nothing.
func newMonitoring(ctx *pulumi.Context, name string, c kraft.Config, namespace pulumi.StringInput, parent pulumi.ResourceOption) error {
	if !metricsOn(c) {
		return nil
	}
	meta := func(n string) *metav1.ObjectMetaArgs {
		return &metav1.ObjectMetaArgs{Name: pulumi.String(n), Namespace: namespace,
			Labels: pulumi.ToStringMap(kraft.StableLabels(c, monitoring.MetricsServiceName))}
	}
	if _, err := corev1.NewService(ctx, name+"-metrics", &corev1.ServiceArgs{
		Metadata: meta(monitoring.MetricsServiceName),
		Spec:     metricsServiceSpec(c),
	}, parent); err != nil {
		return fmt.Errorf("metrics service: %w", err)
	}
	if c.Monitoring != kraft.MonitoringOperator {
		return nil
	}
	if _, err := apiextensions.NewCustomResource(ctx, name+"-servicemonitor", &apiextensions.CustomResourceArgs{
		ApiVersion:  pulumi.String("monitoring.coreos.com/v1"),
		Kind:        pulumi.String("ServiceMonitor"),
		Metadata:    meta(kraft.StatefulSetName),
		OtherFields: kubernetes.UntypedArgs{"spec": serviceMonitorSpec(c)},
	}, parent); err != nil {
		return fmt.Errorf("service monitor: %w", err)
	}
	if _, err := apiextensions.NewCustomResource(ctx, name+"-rules", &apiextensions.CustomResourceArgs{
		ApiVersion:  pulumi.String("monitoring.coreos.com/v1"),
		Kind:        pulumi.String("PrometheusRule"),
		Metadata:    meta(kraft.StatefulSetName),
		OtherFields: kubernetes.UntypedArgs{"spec": prometheusRuleSpec(c)},
	}, parent); err != nil {
		return fmt.Errorf("prometheus rule: %w", err)
	}
	dashMeta := meta(kraft.StatefulSetName + "-dashboard")
	dashMeta.Labels = pulumi.ToStringMap(withLabel(kraft.StableLabels(c, monitoring.MetricsServiceName), DashboardLabel, "1"))
	if _, err := corev1.NewConfigMap(ctx, name+"-dashboard", &corev1.ConfigMapArgs{
		Metadata: dashMeta,
		Data:     pulumi.StringMap{"kafka-kraft.json": pulumi.String(string(monitoring.Dashboard()))},
	}, parent); err != nil {
		return fmt.Errorf("grafana dashboard: %w", err)
	}
	return nil
}

func withLabel(l map[string]string, k, v string) map[string]string {
	l[k] = v
	return l
}
