package kraftcluster

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/internals"

	"github.com/kafka-kraft/kafka-kraft/internal/kraft"
	"github.com/kafka-kraft/kafka-kraft/internal/pki"
	"github.com/kafka-kraft/kafka-kraft/internal/pulumitest"
)

const testImage = "registry.example.com/kafka-kraft@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// credentials are made once: a CA per test would only cost time.
var credentials, otherCredentials = newCredentials("kraftcluster test"), newCredentials("another")

func newCredentials(name string) Credentials {
	c, err := NewCredentials(name)
	if err != nil {
		panic(err)
	}
	return c
}

// outputs are the component's outputs, awaited.
type outputs struct{ bootstrap, external, clusterID, ca string }

// deploy runs New under mocks (project "project", stack "stack").
func deploy(t *testing.T, args *Args) (pulumitest.Resources, outputs, error) {
	t.Helper()
	var out outputs
	res, err := pulumitest.Run(t, func(ctx *pulumi.Context) error {
		k, err := New(ctx, "kafka", args)
		if err != nil {
			return err
		}
		for _, o := range []struct {
			v   pulumi.StringOutput
			dst *string
		}{{k.BootstrapServers, &out.bootstrap}, {k.ExternalBootstrapServers, &out.external}, {k.ClusterID, &out.clusterID}, {k.CACertificate, &out.ca}} {
			r, err := internals.UnsafeAwaitOutput(ctx.Context(), o.v)
			if err != nil {
				return err
			}
			*o.dst, _ = r.Value.(string)
		}
		return nil
	}, nil)
	return res, out, err
}

func get(t *testing.T, m resource.PropertyMap, path string) resource.PropertyValue {
	t.Helper()
	v := resource.NewObjectProperty(m)
	for _, p := range strings.Split(path, ".") {
		switch {
		case v.IsObject():
			v = v.ObjectValue()[resource.PropertyKey(p)]
		case v.IsArray() && p == "0" && len(v.ArrayValue()) > 0:
			v = v.ArrayValue()[0]
		default:
			t.Fatalf("path %s: cannot descend into %v at %q", path, v, p)
		}
	}
	return v
}

// ofType lists the recorded resources of a type token, by name.
func ofType(res pulumitest.Resources, typ string) []string {
	var names []string
	for k := range res {
		if name, ok := strings.CutPrefix(k, typ+"/"); ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// TestDefaults: an image and credentials are all it takes; the rest is the program's default
// cluster (three voters, TLS, hostPath volumes, metrics).
func TestDefaults(t *testing.T) {
	t.Parallel()
	res, out, err := deploy(t, &Args{Image: pulumi.String(testImage), Security: Security{Credentials: credentials}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "kafka-svc.kafka-kraft.svc.cluster.local:9095"; out.bootstrap != want {
		t.Errorf("BootstrapServers = %q, want %q", out.bootstrap, want)
	}
	if want := "127.0.0.1:31090,127.0.0.1:31091,127.0.0.1:31092"; out.external != want {
		t.Errorf("ExternalBootstrapServers = %q, want %q", out.external, want)
	}
	if want := kraft.DeriveClusterID("project", "stack-kafka", DefaultNamespace); out.clusterID != want {
		t.Errorf("ClusterID = %q, want %q (derived from project, instance and namespace)", out.clusterID, want)
	}
	if out.ca != credentials.CACert {
		t.Errorf("CACertificate is not the given CA")
	}

	sts := res["kubernetes:apps/v1:StatefulSet/kafka"]
	if sts == nil {
		t.Fatalf("no StatefulSet; registered %v", res)
	}
	for path, want := range map[string]any{
		"metadata.namespace":                    DefaultNamespace,
		"spec.replicas":                         float64(3),
		"spec.template.spec.containers.0.image": testImage,
	} {
		if got := get(t, sts, path).V; got != want {
			t.Errorf("StatefulSet %s = %v, want %v", path, got, want)
		}
	}
	if l := get(t, sts, "metadata.labels").ObjectValue()["app.kubernetes.io/instance"].StringValue(); l != "stack-kafka" {
		t.Errorf("instance label %q, want <stack>-<component name>", l)
	}
	pv := res["kubernetes:core/v1:PersistentVolume/kafka-data-kafka-0-pv"]
	if dir := get(t, pv, "spec.hostPath.path").StringValue(); dir != "/mnt/kafka/stack-kafka/kafka-0" {
		t.Errorf("hostPath %q, want a directory of this instance (two clusters in one program never share one)", dir)
	}
	if got := ofType(res, "kubernetes:core/v1:PersistentVolume"); len(got) != 3 {
		t.Errorf("hostPath PVs %v, want one per node", got)
	}
	if got := ofType(res, "kubernetes:core/v1:Service"); !slices.Equal(got, []string{"kafka-external-0", "kafka-external-1", "kafka-external-2", "kafka-headless", "kafka-metrics"}) {
		t.Errorf("Services %v", got)
	}
	if got := ofType(res, "kubernetes:core/v1:Secret"); !slices.Equal(got, []string{"kafka-tls", "kafka-users"}) {
		t.Errorf("Secrets %v, want the CA and the users", got)
	}
	tls := res["kubernetes:core/v1:Secret/kafka-tls"]
	if name := get(t, tls, "metadata.name").StringValue(); name != (pki.State{Salt: credentials.NameKey}).Name("kafka-tls", credentials.CACert, credentials.CAKey) {
		t.Errorf("CA Secret name %q is not the HMAC of its content under NameKey", name)
	}
	if !get(t, tls, "stringData").ContainsSecrets() {
		t.Error("the CA key is not a Pulumi secret")
	}
	if len(ofType(res, "kubernetes:networking.k8s.io/v1:NetworkPolicy")) != 1 || len(ofType(res, "kubernetes:batch/v1:Job")) != 1 ||
		len(ofType(res, "kubernetes:policy/v1:PodDisruptionBudget")) != 1 || len(ofType(res, "kubernetes:core/v1:ConfigMap")) != 1 {
		t.Errorf("want one NetworkPolicy, Job, PodDisruptionBudget and ConfigMap; registered %v", res)
	}
}

// TestPlainClusterOnAStorageClass: security none needs no credentials, a StorageClass no PVs,
// and every object lands in the given namespace.
func TestPlainClusterOnAStorageClass(t *testing.T) {
	t.Parallel()
	res, out, err := deploy(t, &Args{Image: pulumi.String(testImage), Namespace: "data", Instance: "orders", Replicas: 1,
		Storage: Storage{Class: "fast", Size: "5Gi"}, Security: Security{Mode: SecurityNone}, Monitoring: MonitoringNone})
	if err != nil {
		t.Fatal(err)
	}
	if want := "kafka-svc.data.svc.cluster.local:9092"; out.bootstrap != want {
		t.Errorf("BootstrapServers = %q, want %q", out.bootstrap, want)
	}
	if out.ca != "" {
		t.Errorf("CACertificate = %q with security none", out.ca)
	}
	if pvs := ofType(res, "kubernetes:core/v1:PersistentVolume"); len(pvs) != 0 {
		t.Errorf("PVs %v with a StorageClass", pvs)
	}
	if s := ofType(res, "kubernetes:core/v1:Secret"); len(s) != 0 {
		t.Errorf("Secrets %v with security none", s)
	}
	if np := ofType(res, "kubernetes:networking.k8s.io/v1:NetworkPolicy"); len(np) != 0 {
		t.Errorf("NetworkPolicy %v with security none", np)
	}
	for key, r := range res {
		if ns, ok := r["metadata"].V.(resource.PropertyMap); ok && key != "kubernetes:core/v1:PersistentVolume" {
			if v, ok := ns["namespace"]; ok && v.StringValue() != "data" {
				t.Errorf("%s in namespace %v", key, v)
			}
		}
	}
	sts := res["kubernetes:apps/v1:StatefulSet/kafka"]
	claim := get(t, sts, "spec.volumeClaimTemplates.0.spec")
	if claim.ObjectValue()["storageClassName"].StringValue() != "fast" {
		t.Errorf("claim template %v, want class fast", claim)
	}
}

func TestValidateNamesTheField(t *testing.T) {
	t.Parallel()
	// The ACL leaves Pattern out: literal by default.
	ok := Args{Image: pulumi.String(testImage), Security: Security{Credentials: credentials,
		Users: map[string]User{"orders": {Password: "a-long-password", ACLs: []ACL{{Resource: "topic", Name: "orders", Operations: []string{"write"}}}}}}}
	tests := []struct {
		name   string
		change func(*Args)
		want   string
	}{
		{"image", func(a *Args) { a.Image = nil }, "kraftcluster.Args.Image is required"},
		{"replicas", func(a *Args) { a.Replicas = -1 }, "kraftcluster.Args.Replicas = -1: must be at least 1"},
		{"controllers", func(a *Args) { a.Controllers = 2 }, "kraftcluster.Args.Controllers = 2: must be an odd number"},
		{"namespace", func(a *Args) { a.Namespace = "Kafka" }, `kraftcluster.Args.Namespace = "Kafka": must be a DNS-1123 label`},
		{"instance", func(a *Args) { a.Instance = "Prod_EU" }, `kraftcluster.Args.Instance "Prod_EU": with hostPath storage (no kraftcluster.Args.Storage.Class)`},
		{"version", func(a *Args) { a.KafkaVersion = "3.9.0" }, `kraftcluster.Args.KafkaVersion = "3.9.0": must be one of 4.3.1, 4.4.0`},
		{"storage", func(a *Args) { a.Storage.Size = "lots" }, `kraftcluster.Args.Storage.Size = "lots"`},
		{"heap", func(a *Args) { a.Resources.HeapOpts = "-Xmx2g" }, `kraftcluster.Args.Resources.HeapOpts = "-Xmx2g": -Xmx leaves less than 256Mi`},
		{"property", func(a *Args) { a.BrokerProperties = map[string]string{"no.such": "1"} }, `kraftcluster.Args.BrokerProperties["no.such"] = [hidden]: "no.such" is not a Kafka 4.4.0 broker setting`},
		{"managed property", func(a *Args) { a.BrokerProperties = map[string]string{"node.id": "1"} }, `managed keys with kraftcluster.Args.Security.Mode "tls"`},
		{"request over limit", func(a *Args) { a.Resources.CPURequest = "2" }, `kraftcluster.Args.Resources.CPURequest = "2": must not exceed kraftcluster.Args.Resources.CPULimit (1)`},
		{"security", func(a *Args) { a.Security.Mode = "mtls" }, `kraftcluster.Args.Security.Mode = "mtls": must be "tls"`},
		{"credentials", func(a *Args) { a.Security.Credentials = Credentials{} }, "kraftcluster.Args.Security.Credentials: with Security.Mode \"tls\" the CA (CACert, CAKey), AdminPassword and NameKey are required"},
		{"bad CA", func(a *Args) { a.Security.Credentials.CACert = "not PEM" }, "kraftcluster.Args.Security.Credentials: the CA certificate: no PEM certificate found"},
		{"someone else's CA key", func(a *Args) { a.Security.Credentials.CAKey = otherCredentials.CAKey }, "kraftcluster.Args.Security.Credentials: the CA key does not belong to the CA certificate"},
		{"expired CA", func(a *Args) { a.RotationDate = time.Now().AddDate(11, 0, 0) }, "kraftcluster.Args.Security.Credentials: the CA certificate is valid from"},
		{"short admin password", func(a *Args) { a.Security.Credentials.AdminPassword = "admin" }, "kraftcluster.Args.Security.Credentials.AdminPassword = [hidden]: must be at least 12 characters"},
		{"user password", func(a *Args) { a.Security.Users = map[string]User{"orders": {}} }, `kraftcluster.Args.Security.Users["orders"].Password is required`},
		{"short user password", func(a *Args) { a.Security.Users = map[string]User{"orders": {Password: "short"}} }, `kraftcluster.Args.Security.Users["orders"].Password = [hidden]: must be at least 12 characters`},
		{"acl", func(a *Args) {
			a.Security.Users = map[string]User{"orders": {Password: "a-long-password", ACLs: []ACL{{Resource: "table", Name: "x", Pattern: "literal", Operations: []string{"read"}}}}}
		}, `kraftcluster.Args.Security.Users["orders"].ACLs[0].Resource = "table": must be one of topic, group, cluster, transactional-id`},
		{"monitoring", func(a *Args) { a.Monitoring = "grafana" }, `kraftcluster.Args.Monitoring = "grafana"`},
		{"spread", func(a *Args) { a.Spread = "wide" }, `kraftcluster.Args.Spread = "wide"`},
		{"secret property without a name key", func(a *Args) {
			a.Security = Security{Mode: SecurityNone}
			a.BrokerProperties = map[string]string{"ssl.keystore.password": "s3cret"}
		}, "kraftcluster.Args.Security.Credentials.NameKey is required when BrokerProperties hold secrets"},
	}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid args: %v", err)
	}
	if _, _, err := deploy(t, &ok); err != nil {
		t.Fatalf("valid args: %v", err)
	}
	for _, tt := range tests {
		a := ok
		a.Security.Users = map[string]User{}
		tt.change(&a)
		if err := a.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Validate() = %v\nwant %q", tt.name, err, tt.want)
		}
		res, _, err := deploy(t, &a)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: New did not refuse: %v", tt.name, err)
		}
		if len(res) != 0 {
			t.Errorf("%s: refused, yet registered %d resources", tt.name, len(res))
		}
	}
}

// TestDefaultsAreTheStacks: a program that leaves a field empty gets the cluster `pulumi up`
// deploys by default.
func TestDefaultsAreTheStacks(t *testing.T) {
	t.Parallel()
	got := Args{RotationDate: time.Unix(0, 0)}.withDefaults("s", "kafka").config("p")
	want := kraft.Defaults("p", "s")
	for _, f := range []struct {
		name      string
		got, want any
	}{
		{"Namespace", got.Namespace, want.Namespace}, {"Replicas", got.Replicas, want.Replicas}, {"Controllers", got.Controllers, want.Controllers},
		{"ClusterDomain", got.ClusterDomain, want.ClusterDomain}, {"ExternalHost", got.ExternalHost, want.ExternalHost},
		{"ExternalNodePortBase", got.ExternalNodePortBase, want.ExternalNodePortBase}, {"Storage", got.Storage, want.Storage},
		{"Resources", got.Resources, want.Resources}, {"Spread", got.Spread, want.Spread}, {"ReassignmentThrottle", got.ReassignmentThrottle, want.ReassignmentThrottle},
		{"Security.Mode", got.Security.Mode, want.Security.Mode}, {"Monitoring", got.Monitoring, want.Monitoring},
		{"KafkaVersion", got.KafkaVersion, want.KafkaVersion}, {"ClusterID", got.ClusterID, want.ClusterID},
		{"BrokerProperties", len(got.BrokerProperties), len(want.BrokerProperties)}, {"Users", len(got.Security.Users), len(want.Security.Users)},
	} {
		if f.got != f.want {
			t.Errorf("default %s = %v, the stack's is %v", f.name, f.got, f.want)
		}
	}
	if c := (Args{Replicas: 1}).withDefaults("s", "kafka"); c.Controllers != 1 {
		t.Errorf("one replica gets %d controllers, want 1", c.Controllers)
	}
}

func TestNewCredentials(t *testing.T) {
	t.Parallel()
	other, err := NewCredentials("another")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []Credentials{credentials, other} {
		cert, err := pki.ParseCert(c.CACert)
		if err != nil || !cert.IsCA {
			t.Errorf("CACert is not a CA certificate: %v", err)
		}
		if len(c.AdminPassword) < 32 || c.NameKey == "" || !strings.Contains(c.CAKey, "PRIVATE KEY") {
			t.Errorf("credentials incomplete: password %d characters, name key %q", len(c.AdminPassword), c.NameKey)
		}
	}
	if other.CACert == credentials.CACert || other.AdminPassword == credentials.AdminPassword || other.NameKey == credentials.NameKey {
		t.Error("two NewCredentials share material")
	}
}

// TestInitContainers: what runs before Kafka in each pod. Every init container costs a pod start
// about a second (the kubelet's relist), so hostPath with TLS gets one container doing both; the
// e2e tier runs that one on every default stack.
func TestInitContainers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		storage Storage
		mode    string
		want    []string
	}{
		{name: "hostPath and tls", mode: SecurityTLS, want: []string{DataAndTLSInitContainerName}},
		{name: "hostPath without security", mode: SecurityNone, want: []string{"data-permissions"}},
		{name: "storage class and tls", storage: Storage{Class: "fast"}, mode: SecurityTLS, want: []string{"tls-cert"}},
		{name: "storage class without security", storage: Storage{Class: "fast"}, mode: SecurityNone, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sec := Security{Mode: tt.mode}
			if tt.mode == SecurityTLS {
				sec.Credentials = credentials
			}
			res, _, err := deploy(t, &Args{Image: pulumi.String(testImage), Storage: tt.storage, Security: sec})
			if err != nil {
				t.Fatal(err)
			}
			spec := get(t, res["kubernetes:apps/v1:StatefulSet/kafka"], "spec.template.spec").ObjectValue()
			var got []string
			var inits []resource.PropertyMap
			if ic, ok := spec["initContainers"]; ok {
				for _, c := range ic.ArrayValue() {
					inits = append(inits, c.ObjectValue())
					got = append(got, c.ObjectValue()["name"].StringValue())
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("init containers %v, want %v", got, tt.want)
			}
			if len(tt.want) != 1 || tt.want[0] != DataAndTLSInitContainerName {
				return
			}
			c := inits[0]
			cmd := c["command"].ArrayValue()
			script := cmd[len(cmd)-1].StringValue()
			// In order, failing as a whole: the data directory handed over, the certificate issued
			// for this pod, the runtime directory given to Kafka's user (the certificate is written
			// as root).
			steps := []string{"set -e;", `chown -R 1001:1001 "$d"`, "'/opt/kafka/bin/kafka-ready' 'cert' '-ca-dir' '/etc/kafka-kraft-tls'",
				"'-pod' '$(POD_NAME)'", "'-out' '/tmp/kafka/tls/node.pem'", "chown -R 1001:1001 '/tmp/kafka'"}
			at := 0
			for _, s := range steps {
				i := strings.Index(script[at:], s)
				if i < 0 {
					t.Fatalf("script %q lacks %q after offset %d", script, s, at)
				}
				at += i + len(s)
			}
			if u := get(t, c, "securityContext.runAsUser").V; u != float64(0) {
				t.Errorf("runAsUser %v, want 0 (chown)", u)
			}
			if caps := get(t, c, "securityContext.capabilities.add").V; len(caps.([]resource.PropertyValue)) != 3 {
				t.Errorf("capabilities added %v, want CHOWN, DAC_OVERRIDE and FOWNER only", caps)
			}
			var mounts []string
			for _, m := range c["volumeMounts"].ArrayValue() {
				mounts = append(mounts, m.ObjectValue()["name"].StringValue()+":"+m.ObjectValue()["mountPath"].StringValue())
			}
			if want := []string{"data:/var/lib/kafka/data", "tls:/etc/kafka-kraft-tls", "tmp:/tmp"}; !slices.Equal(mounts, want) {
				t.Errorf("mounts %v, want %v", mounts, want)
			}
			for _, m := range get(t, res["kubernetes:apps/v1:StatefulSet/kafka"], "spec.template.spec.containers.0.volumeMounts").ArrayValue() {
				if m.ObjectValue()["name"].StringValue() == "tls" {
					t.Errorf("the Kafka container mounts the CA key volume")
				}
			}
		})
	}
}
