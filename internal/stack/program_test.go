package stack

// Mock tier: the whole program runs under pulumi.WithMocks with a recording monitor, and the tests
// assert on the inputs of the resources it registers. Nothing here talks to Kubernetes or Docker;
// the e2e tier (tests/e2e) proves the same program against a real cluster.

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/internals"

	"github.com/kafka-kraft/kafka-kraft/components/kcatclient"
	"github.com/kafka-kraft/kafka-kraft/components/kraftcluster"
	"github.com/kafka-kraft/kafka-kraft/internal/delivery"
	goldenfile "github.com/kafka-kraft/kafka-kraft/internal/golden"
	"github.com/kafka-kraft/kafka-kraft/internal/kraft"
	"github.com/kafka-kraft/kafka-kraft/internal/pki"
	"github.com/kafka-kraft/kafka-kraft/internal/scaledown"
)

const testDigest = "localhost:31500/kafka-kraft@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// recorded is one registered resource.
type recorded struct {
	Type, Name string
	// URN is the URN without its stack and project: "parentType$type::name".
	URN    string
	Inputs map[string]any
	// Secret lists the top-level inputs that are (or contain) Pulumi secrets.
	Secret []string
	// Deps are the URNs the resource depends on, through DependsOn or through its inputs.
	Deps []string
	// DeleteBeforeReplace is the resource option.
	DeleteBeforeReplace bool
}

// recorder is a MockResourceMonitor that records every resource and fakes only the outputs the
// program reads: the docker image's repoDigest and the stack reference's outputs.
type recorder struct {
	mu        sync.Mutex
	resources []recorded
	previous  map[string]any // the "deployed" output of the previous update, nil for a new stack
	// previousState is the securityState output of the previous update ("" for none).
	previousState string
}

func (r *recorder) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	r.mu.Lock()
	var deps []string
	dbr := false
	if rpc := args.RegisterRPC; rpc != nil {
		dbr = rpc.GetDeleteBeforeReplace()
		deps = append(deps, rpc.GetDependencies()...)
		for _, pd := range rpc.GetPropertyDependencies() {
			deps = append(deps, pd.GetUrns()...)
		}
	}
	var secret []string
	for k, v := range args.Inputs {
		if v.ContainsSecrets() {
			secret = append(secret, string(k))
		}
	}
	sort.Strings(secret)
	r.resources = append(r.resources, recorded{Type: args.TypeToken, Name: args.Name, URN: urnOf(args), Inputs: revealed(args.Inputs), Deps: deps, Secret: secret, DeleteBeforeReplace: dbr})
	r.mu.Unlock()
	outputs := args.Inputs.Copy()
	switch args.TypeToken {
	case "pulumi:pulumi:StackReference":
		outs := map[string]any{}
		if r.previous != nil {
			outs[OutputDeployed] = r.previous
			if ext, ok := r.previous[previousExternalKey]; ok {
				outs[OutputExternalBootstrapServers] = ext
			}
		}
		secretNames := []any{}
		if r.previousState != "" {
			outs[OutputSecurityState] = r.previousState
			secretNames = append(secretNames, OutputSecurityState)
		}
		outputs = resource.NewPropertyMapFromMap(map[string]any{"name": args.ID, "outputs": outs, "secretOutputNames": secretNames})
	case "docker:index/image:Image":
		outputs["repoDigest"] = resource.NewStringProperty(testDigest)
	}
	return args.Name + "-id", outputs, nil
}

// urnOf is the URN a resource gets, without the stack and project (which a test does not change):
// its type qualified by its parents' ("kafka-kraft:index:KraftCluster$kubernetes:apps/v1:StatefulSet")
// and its name. What Pulumi matches between the state and the program: a change of it is a
// replacement unless an alias says where the resource was.
func urnOf(args pulumi.MockResourceArgs) string {
	parent := ""
	if rpc := args.RegisterRPC; rpc != nil {
		parent = rpc.GetParent()
	} else if rpc := args.ReadRPC; rpc != nil {
		parent = rpc.GetParent()
	}
	qualified := args.TypeToken
	if parent != "" {
		if pt := string(resource.URN(parent).QualifiedType()); pt != "pulumi:pulumi:Stack" {
			qualified = pt + "$" + args.TypeToken
		}
	}
	return qualified + "::" + args.Name
}

// revealed is m as plain Go values with every secret's value in place (which inputs were secret
// is recorded apart, in recorded.Secret).
func revealed(m resource.PropertyMap) map[string]any {
	var reveal func(v resource.PropertyValue) resource.PropertyValue
	reveal = func(v resource.PropertyValue) resource.PropertyValue {
		switch {
		case v.IsSecret():
			return reveal(v.SecretValue().Element)
		case v.IsObject():
			out := resource.PropertyMap{}
			for k, e := range v.ObjectValue() {
				out[k] = reveal(e)
			}
			return resource.NewObjectProperty(out)
		case v.IsArray():
			var out []resource.PropertyValue
			for _, e := range v.ArrayValue() {
				out = append(out, reveal(e))
			}
			return resource.NewArrayProperty(out)
		}
		return v
	}
	return reveal(resource.NewObjectProperty(m)).ObjectValue().Mappable()
}

var (
	stateOnce sync.Once
	stateJSON string
)

// deployedState is the securityState of a deployed test stack (made once per test binary).
func deployedState(t *testing.T) string {
	t.Helper()
	stateOnce.Do(func() {
		st, err := pki.State{}.Complete("kafka-kraft test", now(), 10*365*24*time.Hour, nil, rand.Reader)
		if err != nil {
			panic(err)
		}
		stateJSON = st.JSON()
	})
	return stateJSON
}

// The clock of the certificate rotation window, fixed so that runs compare equal.
func init() { now = func() time.Time { return time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC) } }

// Call fails: the program makes no invokes, and an unexpected one should be noticed.
func (r *recorder) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return nil, fmt.Errorf("unexpected invoke %s", args.Token)
}

// run executes the program with the given config and returns the recorder, the outputs and the error.
func run(t *testing.T, config map[string]string, previous map[string]any, secretKeys ...string) (*recorder, map[string]string, error) {
	t.Helper()
	return runMode(t, false, config, previous, secretKeys...)
}

// runDry is run as a preview (ctx.DryRun()).
func runDry(t *testing.T, config map[string]string, previous map[string]any) (*recorder, map[string]string, error) {
	t.Helper()
	return runMode(t, true, config, previous)
}

func runMode(t *testing.T, dryRun bool, config map[string]string, previous map[string]any, secretKeys ...string) (*recorder, map[string]string, error) {
	t.Helper()
	return runState(t, dryRun, config, previous, "", secretKeys...)
}

// runState is runMode with the previous update's securityState output; the returned outputs hold
// this update's under OutputSecurityState.
func runState(t *testing.T, dryRun bool, config map[string]string, previous map[string]any, state string, secretKeys ...string) (*recorder, map[string]string, error) {
	t.Helper()
	if previous != nil && state == "" {
		// A deployed stack has its secret material, as the program keeps it.
		state = deployedState(t)
	}
	rec := &recorder{previous: previous, previousState: state}
	outs := map[string]string{}
	cfg := map[string]string{}
	for k, v := range config {
		cfg["kafka-kraft:"+k] = v
	}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		out, err := Deploy(ctx)
		if err != nil {
			return err
		}
		for name, o := range map[string]pulumi.StringOutput{
			OutputBootstrapServers: out.BootstrapServers, OutputExternalBootstrapServers: out.ExternalBootstrapServers,
			OutputRegistry: out.Registry, OutputImage: out.Image, OutputNamespace: out.Namespace,
			OutputClusterID: out.ClusterID, OutputKcatCommand: out.KcatCommand,
		} {
			res, err := internals.UnsafeAwaitOutput(ctx.Context(), o)
			if err != nil {
				return err
			}
			s, _ := res.Value.(string)
			outs[name] = s
		}
		outs[OutputSecurityState] = out.Security.JSON()
		return nil
	}, pulumi.WithMocksWithOrganization("organization", "kafka-kraft", "test", rec), func(ri *pulumi.RunInfo) {
		ri.Config = cfg
		ri.DryRun = dryRun
		for _, k := range secretKeys {
			ri.ConfigSecretKeys = append(ri.ConfigSecretKeys, "kafka-kraft:"+k)
		}
	})
	return rec, outs, err
}

func (r *recorder) ofType(typ string) []recorded {
	var out []recorded
	for _, res := range r.resources {
		if res.Type == typ {
			out = append(out, res)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (r *recorder) one(t *testing.T, typ, name string) recorded {
	t.Helper()
	for _, res := range r.resources {
		if res.Type == typ && res.Name == name {
			return res
		}
	}
	t.Fatalf("no %s named %q; registered: %v", typ, name, r.names())
	return recorded{}
}

func (r *recorder) names() []string {
	var n []string
	for _, res := range r.resources {
		n = append(n, res.Type+"/"+res.Name)
	}
	sort.Strings(n)
	return n
}

// get walks a path like "spec.template.spec.containers.0.image" through decoded inputs.
func get(t *testing.T, v any, path string) any {
	t.Helper()
	for _, p := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			var i int
			if _, err := fmt.Sscanf(p, "%d", &i); err != nil || i >= len(x) {
				t.Fatalf("path %s: bad index %q in %v", path, p, x)
			}
			v = x[i]
		default:
			t.Fatalf("path %s: cannot descend into %T at %q", path, v, p)
		}
	}
	return v
}

// containerEnv is the kafka container's plain env of a pod template.
func containerEnv(t *testing.T, pod any) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, e := range get(t, pod, "spec.containers.0.env").([]any) {
		m := e.(map[string]any)
		if v, ok := m["value"].(string); ok {
			out[m["name"].(string)] = v
		} else if _, ok := m["value"]; !ok && m["valueFrom"] == nil {
			out[m["name"].(string)] = ""
		}
	}
	return out
}

func hasPort(t *testing.T, pod any, name string, port int) bool {
	t.Helper()
	for _, p := range get(t, pod, "spec.containers.0.ports").([]any) {
		m := p.(map[string]any)
		if m["name"] == name && num(m["containerPort"]) == port {
			return true
		}
	}
	return false
}

func num(v any) int {
	switch x := v.(type) {
	case float64:
		return int(x)
	case int:
		return x
	}
	return -1
}

const (
	tStatefulSet = "kubernetes:apps/v1:StatefulSet"
	tDeployment  = "kubernetes:apps/v1:Deployment"
	tService     = "kubernetes:core/v1:Service"
	tPV          = "kubernetes:core/v1:PersistentVolume"
	tPVC         = "kubernetes:core/v1:PersistentVolumeClaim"
	tConfigMap   = "kubernetes:core/v1:ConfigMap"
	tNamespace   = "kubernetes:core/v1:Namespace"
	tPDB         = "kubernetes:policy/v1:PodDisruptionBudget"
	tImage       = "docker:index/image:Image"
	tJob         = "kubernetes:batch/v1:Job"
	tSecret      = "kubernetes:core/v1:Secret"
)

func TestDefaultsDeployTheOriginalTopology(t *testing.T) {
	t.Parallel()
	rec, outs, err := run(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Components with their type tokens, children parented under them.
	for _, typ := range []string{"kafka-kraft:index:Registry", "kafka-kraft:index:KafkaImage", "kafka-kraft:index:KraftCluster", "kafka-kraft:index:KcatClient"} {
		if len(rec.ofType(typ)) != 1 {
			t.Errorf("want one %s, got %v", typ, rec.names())
		}
	}
	if ns := rec.one(t, tNamespace, "kafka-kraft"); get(t, ns.Inputs, "metadata.name") != "kafka-kraft" {
		t.Errorf("namespace name = %v", get(t, ns.Inputs, "metadata.name"))
	}

	sts := rec.one(t, tStatefulSet, "kafka")
	spec := get(t, sts.Inputs, "spec").(map[string]any)
	if got := num(spec["replicas"]); got != 3 {
		t.Errorf("replicas = %d, want 3", got)
	}
	if spec["podManagementPolicy"] != "Parallel" {
		t.Errorf("podManagementPolicy = %v, want Parallel (a quorum cannot form from scratch with OrderedReady)", spec["podManagementPolicy"])
	}
	if spec["serviceName"] != kraft.HeadlessServiceName {
		t.Errorf("serviceName = %v", spec["serviceName"])
	}
	selector := get(t, spec, "selector.matchLabels").(map[string]any)
	wantSelector := map[string]any{"app.kubernetes.io/name": "kafka", "app.kubernetes.io/instance": "test", "app.kubernetes.io/part-of": "kafka-kraft"}
	if fmt.Sprint(selector) != fmt.Sprint(wantSelector) {
		t.Errorf("selector = %v, want exactly %v (immutable: nothing that can change)", selector, wantSelector)
	}
	container := get(t, spec, "template.spec.containers.0").(map[string]any)
	if container["image"] != testDigest {
		t.Errorf("image = %v, want the digest-pinned reference %s", container["image"], testDigest)
	}
	// Readiness is the node's own "caught up, safe to restart the next one" check (kafka-ready asks
	// the local broker only); liveness and startup stay on the broker port, so a broker that is
	// catching up is never restarted for it.
	if cmd := fmt.Sprint(get(t, container, "readinessProbe.exec.command")); cmd != "[/opt/kafka/bin/kafka-ready -timeout 2s]" {
		t.Errorf("readiness command = %s, want the image's kafka-ready", cmd)
	}
	for _, probe := range []string{"livenessProbe", "startupProbe"} {
		if get(t, container, probe+".tcpSocket.port") != float64(kraft.ClientPort) {
			t.Errorf("%s must check the CLIENT listener's port (the NetworkPolicy admits the node listeners from Kafka pods only), got %v", probe, container[probe])
		}
	}
	for _, k := range []string{"requests.cpu", "requests.memory", "limits.cpu", "limits.memory"} {
		if get(t, container, "resources."+k) == nil {
			t.Errorf("resources.%s unset", k)
		}
	}
	if get(t, container, "securityContext.readOnlyRootFilesystem") != true || get(t, container, "securityContext.allowPrivilegeEscalation") != false {
		t.Errorf("container securityContext = %v", container["securityContext"])
	}
	podSec := get(t, spec, "template.spec.securityContext").(map[string]any)
	if podSec["runAsNonRoot"] != true || num(podSec["runAsUser"]) != kraft.KafkaUID || num(podSec["fsGroup"]) != kraft.KafkaUID {
		t.Errorf("pod securityContext = %v, want non-root uid/fsGroup %d", podSec, kraft.KafkaUID)
	}
	// hostPath volumes ignore fsGroup: the init container hands the directory to the Kafka user.
	initC := get(t, spec, "template.spec.initContainers.0").(map[string]any)
	if !strings.Contains(fmt.Sprint(initC["command"]), "chown") || num(get(t, initC, "securityContext.runAsUser")) != 0 {
		t.Errorf("data-permissions init container = %v", initC)
	}
	annotations := get(t, spec, "template.metadata.annotations").(map[string]any)
	if h, _ := annotations["kafka-kraft.io/config-hash"].(string); len(h) != 16 {
		t.Errorf("config hash annotation = %q", h)
	}
	env := map[string]any{}
	for _, e := range container["env"].([]any) {
		e := e.(map[string]any)
		env[e["name"].(string)] = e
	}
	for _, name := range []string{"POD_NAME", "KAFKA_CLUSTER_ID", "KAFKA_CONFIG_DIR", "KAFKA_HEAP_OPTS"} {
		if env[name] == nil {
			t.Errorf("env %s missing (the entrypoint contract)", name)
		}
	}
	if get(t, spec, "volumeClaimTemplates.0.spec.storageClassName") != "" {
		t.Errorf("hostPath mode must disable dynamic provisioning with storageClassName \"\"")
	}

	headless := rec.one(t, tService, "kafka-headless")
	if get(t, headless.Inputs, "spec.publishNotReadyAddresses") != true || get(t, headless.Inputs, "spec.clusterIP") != "None" {
		t.Errorf("headless service spec = %v", headless.Inputs["spec"])
	}
	for i := 0; i < 3; i++ {
		svc := rec.one(t, tService, fmt.Sprintf("kafka-external-%d", i))
		if got := num(get(t, svc.Inputs, "spec.ports.0.nodePort")); got != 31090+i {
			t.Errorf("external %d nodePort = %d", i, got)
		}
		if get(t, svc.Inputs, "spec.selector").(map[string]any)["statefulset.kubernetes.io/pod-name"] != fmt.Sprintf("kafka-%d", i) {
			t.Errorf("external %d must select exactly pod kafka-%d", i, i)
		}
		if get(t, svc.Inputs, "spec.publishNotReadyAddresses") != true {
			t.Errorf("external %d must reach its broker while it is not Ready (it may still lead partitions)", i)
		}
	}

	// One pre-bound hostPath PV and claim per node, plus the registry's.
	pvs := rec.ofType(tPV)
	if len(pvs) != 4 {
		t.Fatalf("want 4 PVs (3 nodes + registry), got %d: %v", len(pvs), rec.names())
	}
	pv := rec.one(t, tPV, "kafka-data-kafka-0-pv")
	if get(t, pv.Inputs, "spec.hostPath.path") != "/mnt/kafka/test/kafka-0" || get(t, pv.Inputs, "spec.claimRef.name") != "data-kafka-0" ||
		get(t, pv.Inputs, "spec.persistentVolumeReclaimPolicy") != "Retain" {
		t.Errorf("pv kafka-0 spec = %v", pv.Inputs["spec"])
	}
	if get(t, pv.Inputs, "metadata.name") != "kafka-kraft-test-kafka-kraft-data-kafka-0" {
		t.Errorf("pv name = %v", get(t, pv.Inputs, "metadata.name"))
	}

	pdb := rec.one(t, tPDB, "kafka")
	if num(get(t, pdb.Inputs, "spec.maxUnavailable")) != 1 {
		t.Errorf("pdb = %v", pdb.Inputs["spec"])
	}
	podSpec := get(t, spec, "template.spec").(map[string]any)
	if podSpec["enableServiceLinks"] != false {
		t.Error("enableServiceLinks must be false (kafka-* Services would inject KAFKA_* variables)")
	}
	spread := fmt.Sprint(get(t, podSpec, "topologySpreadConstraints"))
	for _, want := range []string{"kubernetes.io/hostname", "topology.kubernetes.io/zone", "ScheduleAnyway", "maxSkew:1"} {
		if !strings.Contains(spread, want) {
			t.Errorf("topology spread %s lacks %q", spread, want)
		}
	}
	// The voters (ordinals 0-2) never share a node while another usable node has none.
	voters := fmt.Sprint(get(t, podSpec, "topologySpreadConstraints.2"))
	for _, want := range []string{"key:apps.kubernetes.io/pod-index", "operator:In", "values:[0 1 2]", "whenUnsatisfiable:DoNotSchedule", "nodeTaintsPolicy:Honor", "topologyKey:kubernetes.io/hostname"} {
		if !strings.Contains(voters, want) {
			t.Errorf("voter spread %s lacks %q", voters, want)
		}
	}

	// The ConfigMap is content-addressed and immutable, and the StatefulSet depends on it and mounts
	// exactly it: a new one exists before the pods refer to it, and since its name changes with its
	// content the provider replaces it create-first (a fixed name was deleted first, and took the
	// dependent StatefulSet with it).
	cm := rec.one(t, tConfigMap, "kafka-config")
	cmName := get(t, cm.Inputs, "metadata.name").(string)
	if !regexp.MustCompile(`^kafka-config-[0-9a-f]{10}$`).MatchString(cmName) || cm.Inputs["immutable"] != true {
		t.Errorf("configmap name %q immutable %v, want kafka-config-<hash> and immutable", cmName, cm.Inputs["immutable"])
	}
	if got := get(t, spec, "template.spec.volumes.0.configMap.name"); got != cmName {
		t.Errorf("the pods mount configmap %v, want %s", got, cmName)
	}
	dependsOnCM := false
	for _, dep := range sts.Deps {
		dependsOnCM = dependsOnCM || strings.HasSuffix(dep, "kubernetes:core/v1:ConfigMap::kafka-config")
	}
	if !dependsOnCM {
		t.Errorf("the StatefulSet must depend on its ConfigMap; deps %v", sts.Deps)
	}
	data := cm.Inputs["data"].(map[string]any)
	if len(data) != 5 || data[kraft.BrokerTemplateFile] == nil || !strings.Contains(data["server.properties"].(string), "controller.quorum.voters=0@kafka-0.kafka-svc.kafka-kraft.svc.cluster.local:9093,1@") {
		t.Errorf("configmap data keys = %v", data)
	}

	reg := rec.one(t, tService, "registry")
	if num(get(t, reg.Inputs, "spec.ports.0.nodePort")) != 31500 || get(t, reg.Inputs, "spec.type") != "NodePort" {
		t.Errorf("registry service = %v", reg.Inputs["spec"])
	}
	regDeploy := rec.one(t, tDeployment, "registry")
	if get(t, regDeploy.Inputs, "spec.template.spec.containers.0.image") != delivery.DefaultRegistryImage {
		t.Errorf("registry image = %v", get(t, regDeploy.Inputs, "spec.template.spec.containers.0.image"))
	}
	if num(get(t, regDeploy.Inputs, "spec.template.spec.securityContext.runAsUser")) != kraft.KafkaUID ||
		!strings.Contains(fmt.Sprint(get(t, regDeploy.Inputs, "spec.template.spec.initContainers.0.command")), "chown") {
		t.Errorf("registry must run non-root with its hostPath directory handed over: %v", get(t, regDeploy.Inputs, "spec.template.spec"))
	}
	img := rec.one(t, tImage, "kafka-image")
	if get(t, img.Inputs, "imageName") != "localhost:31500/kafka-kraft:4.4.0" || get(t, img.Inputs, "build.args.KAFKA_DIST_SOURCE") != "apache" ||
		get(t, img.Inputs, "build.context") != "./docker" {
		t.Errorf("image inputs = %v", img.Inputs)
	}
	// kcat is built too (docker/kcat: published kcat images fail SCRAM against Kafka 4) and runs
	// pinned by digest.
	kcatImg := rec.one(t, tImage, "kcat-image")
	if get(t, kcatImg.Inputs, "imageName") != "localhost:31500/kafka-kraft-kcat:1.7.1" || get(t, kcatImg.Inputs, "build.context") != "docker/kcat" {
		t.Errorf("kcat image inputs = %v", kcatImg.Inputs)
	}
	kcat := rec.one(t, tDeployment, "kcat")
	if get(t, kcat.Inputs, "metadata.name") != kcatclient.Name || get(t, kcat.Inputs, "spec.template.spec.containers.0.image") != testDigest {
		t.Errorf("kcat deployment = %v, image %v", kcat.Inputs["metadata"], get(t, kcat.Inputs, "spec.template.spec.containers.0.image"))
	}

	want := map[string]string{
		OutputBootstrapServers:         "kafka-svc.kafka-kraft.svc.cluster.local:9095",
		OutputExternalBootstrapServers: "127.0.0.1:31090,127.0.0.1:31091,127.0.0.1:31092",
		OutputRegistry:                 "localhost:31500",
		OutputImage:                    testDigest,
		OutputNamespace:                "kafka-kraft",
		OutputClusterID:                kraft.DeriveClusterID("kafka-kraft", "test", "kafka-kraft"),
		OutputKcatCommand:              "kubectl -n kafka-kraft exec deploy/kafka-cat -- kcat -F /etc/kcat/kcat.conf -L -b kafka-svc:9095",
	}
	for k, v := range want {
		if outs[k] != v {
			t.Errorf("output %s = %q, want %q", k, outs[k], v)
		}
	}
}

func TestConfigurations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		config map[string]string
		check  func(t *testing.T, rec *recorder, outs map[string]string)
	}{
		{
			name:   "one replica is a single controller with replication factor 1",
			config: map[string]string{"replicas": "1"},
			check: func(t *testing.T, rec *recorder, outs map[string]string) {
				sts := rec.one(t, tStatefulSet, "kafka")
				if num(get(t, sts.Inputs, "spec.replicas")) != 1 {
					t.Error("replicas != 1")
				}
				props := rec.one(t, tConfigMap, "kafka-config").Inputs["data"].(map[string]any)["server.properties"].(string)
				for _, want := range []string{"offsets.topic.replication.factor=1", "transaction.state.log.replication.factor=1", "min.insync.replicas=1", "controller.quorum.voters=0@kafka-0."} {
					if !strings.Contains(props, want+"\n") && !strings.Contains(props, want) {
						t.Errorf("server.properties lacks %q:\n%s", want, props)
					}
				}
				if len(rec.ofType(tService)) != 4 { // headless, metrics, one external, registry
					t.Errorf("services: %v", rec.names())
				}
				if outs[OutputExternalBootstrapServers] != "127.0.0.1:31090" {
					t.Errorf("external = %s", outs[OutputExternalBootstrapServers])
				}
			},
		},
		{
			name:   "five replicas with three controllers makes two broker-only nodes",
			config: map[string]string{"replicas": "5", "controllers": "3"},
			check: func(t *testing.T, rec *recorder, outs map[string]string) {
				data := rec.one(t, tConfigMap, "kafka-config").Inputs["data"].(map[string]any)
				broker, _ := data[kraft.BrokerTemplateFile].(string)
				if !strings.Contains(data["node-2.properties"].(string), "process.roles=broker,controller") ||
					!strings.Contains(broker, "process.roles=broker\n") || data["node-3.properties"] != nil {
					t.Errorf("roles wrong: node-2=%q, broker template=%q, node-3=%v", data["node-2.properties"], broker, data["node-3.properties"])
				}
				if strings.Contains(broker, "CONTROLLER://") {
					t.Error("broker-only node must not listen as a controller")
				}
				if strings.Contains(data["server.properties"].(string), "3@kafka-3") {
					t.Error("broker-only node listed as a voter")
				}
				if len(rec.ofType(tPV)) != 6 {
					t.Errorf("want 5 node PVs + registry, got %v", rec.names())
				}
				if outs[OutputExternalBootstrapServers] != "127.0.0.1:31090,127.0.0.1:31091,127.0.0.1:31092,127.0.0.1:31093,127.0.0.1:31094" {
					t.Errorf("external = %s", outs[OutputExternalBootstrapServers])
				}
			},
		},
		{
			name:   "an existing registry deploys no registry and is pushed to",
			config: map[string]string{"registry": "registry.example.com:5000"},
			check: func(t *testing.T, rec *recorder, outs map[string]string) {
				if len(rec.ofType("kafka-kraft:index:Registry")) != 0 || len(rec.ofType(tPV)) != 3 {
					t.Errorf("registry deployed anyway: %v", rec.names())
				}
				if get(t, rec.one(t, tImage, "kafka-image").Inputs, "imageName") != "registry.example.com:5000/kafka-kraft:4.4.0" {
					t.Error("image not pushed to the existing registry")
				}
				if outs[OutputRegistry] != "registry.example.com:5000" {
					t.Errorf("registry output = %s", outs[OutputRegistry])
				}
			},
		},
		{
			name:   "a prebuilt image skips the build",
			config: map[string]string{"image": "example.com/kafka:4.4.0", "kcatImage": "example.com/kcat:1.7.1"},
			check: func(t *testing.T, rec *recorder, outs map[string]string) {
				if len(rec.ofType(tImage)) != 0 || len(rec.ofType("kafka-kraft:index:KafkaImage")) != 0 {
					t.Errorf("image built anyway: %v", rec.names())
				}
				if get(t, rec.one(t, tStatefulSet, "kafka").Inputs, "spec.template.spec.containers.0.image") != "example.com/kafka:4.4.0" {
					t.Error("statefulset does not run the prebuilt image")
				}
				if outs[OutputImage] != "example.com/kafka:4.4.0" {
					t.Errorf("image output = %s", outs[OutputImage])
				}
			},
		},
		{
			name:   "a storage class provisions dynamically without hostPath or root init",
			config: map[string]string{"storageClass": "local-path", "storageSize": "5Gi"},
			check: func(t *testing.T, rec *recorder, outs map[string]string) {
				if len(rec.ofType(tPV)) != 0 {
					t.Errorf("hostPath PVs created with a storage class: %v", rec.names())
				}
				spec := get(t, rec.one(t, tStatefulSet, "kafka").Inputs, "spec").(map[string]any)
				if get(t, spec, "volumeClaimTemplates.0.spec.storageClassName") != "local-path" ||
					get(t, spec, "volumeClaimTemplates.0.spec.resources.requests.storage") != "5Gi" {
					t.Errorf("claim template = %v", get(t, spec, "volumeClaimTemplates.0"))
				}
				if ic, ok := get(t, spec, "template.spec").(map[string]any)["initContainers"]; ok {
					for _, c := range ic.([]any) {
						if name := c.(map[string]any)["name"]; name != "tls-cert" {
							t.Errorf("init container %v: no root init container is needed when fsGroup applies", name)
						}
					}
				}
				regClaim := rec.one(t, tPVC, "registry-data")
				if get(t, regClaim.Inputs, "spec.storageClassName") != "local-path" ||
					get(t, regClaim.Inputs, "metadata.annotations").(map[string]any)["pulumi.com/skipAwait"] != "true" {
					t.Errorf("registry claim = %v", regClaim.Inputs)
				}
			},
		},
		{
			name:   "kcat can be turned off",
			config: map[string]string{"kcat": "false"},
			check: func(t *testing.T, rec *recorder, outs map[string]string) {
				if len(rec.ofType("kafka-kraft:index:KcatClient")) != 0 {
					t.Error("kcat deployed anyway")
				}
				if outs[OutputKcatCommand] != `kcat -L -b 127.0.0.1:31090,127.0.0.1:31091,127.0.0.1:31092 -X security.protocol=SASL_SSL -X sasl.mechanisms=SCRAM-SHA-512 -X ssl.ca.location=ca.crt -X sasl.username=admin -X sasl.password="$KAFKA_PASSWORD"` {
					t.Errorf("kcat command = %s", outs[OutputKcatCommand])
				}
			},
		},
		{
			name:   "broker properties reach server.properties",
			config: map[string]string{"brokerProperties": `{"log.retention.hours": 24, "auto.create.topics.enable": false}`},
			check: func(t *testing.T, rec *recorder, outs map[string]string) {
				props := rec.one(t, tConfigMap, "kafka-config").Inputs["data"].(map[string]any)["server.properties"].(string)
				if !strings.Contains(props, "log.retention.hours=24\n") || !strings.Contains(props, "auto.create.topics.enable=false\n") {
					t.Errorf("server.properties:\n%s", props)
				}
			},
		},
		{
			name:   "metrics by default: a named port, the exporter's env, scrape annotations and a headless Service",
			config: map[string]string{},
			check: func(t *testing.T, rec *recorder, outs map[string]string) {
				pod := get(t, rec.one(t, tStatefulSet, "kafka").Inputs, "spec.template").(map[string]any)
				if env := containerEnv(t, pod); env["KAFKA_METRICS_PORT"] != "9404" {
					t.Errorf("KAFKA_METRICS_PORT = %q", env["KAFKA_METRICS_PORT"])
				}
				if !hasPort(t, pod, "metrics", 9404) {
					t.Error("no container port metrics/9404")
				}
				ann := get(t, pod, "metadata.annotations").(map[string]any)
				if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != "9404" {
					t.Errorf("annotations %v", ann)
				}
				svc := rec.one(t, tService, "kafka-metrics").Inputs
				if get(t, svc, "spec.clusterIP") != "None" || get(t, svc, "spec.publishNotReadyAddresses") != true ||
					get(t, svc, "spec.ports.0.name") != "metrics" || get(t, svc, "spec.selector").(map[string]any)["app.kubernetes.io/name"] != "kafka" {
					t.Errorf("metrics service %v", svc["spec"])
				}
				// Prometheus runs in another namespace: the NetworkPolicy admits the port from anywhere.
				np := rec.one(t, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "kafka").Inputs
				if ports := jsonOf(get(t, np, "spec.ingress.1.ports")); !strings.Contains(ports, `"port":9404`) {
					t.Errorf("network policy client rule ports %s", ports)
				}
				if len(rec.ofType("kubernetes:monitoring.coreos.com/v1:ServiceMonitor")) != 0 {
					t.Error("a ServiceMonitor without monitoring prometheus-operator")
				}
			},
		},
		{
			name:   "prometheus-operator adds a ServiceMonitor, the alert rules and the dashboard",
			config: map[string]string{"monitoring": "prometheus-operator", "namespace": "prod", "replicas": "5"},
			check: func(t *testing.T, rec *recorder, outs map[string]string) {
				sm := rec.one(t, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "kafka-servicemonitor").Inputs
				svcLabels := get(t, rec.one(t, tService, "kafka-metrics").Inputs, "metadata.labels").(map[string]any)
				for k, v := range get(t, sm, "spec.selector.matchLabels").(map[string]any) {
					if svcLabels[k] != v {
						t.Errorf("ServiceMonitor selects %s=%v; the metrics Service has %v", k, v, svcLabels[k])
					}
				}
				if get(t, sm, "spec.endpoints.0.port") != "metrics" || jsonOf(get(t, sm, "spec.namespaceSelector.matchNames")) != `["prod"]` {
					t.Errorf("ServiceMonitor spec %s", jsonOf(sm["spec"]))
				}
				rules := jsonOf(get(t, rec.one(t, "kubernetes:monitoring.coreos.com/v1:PrometheusRule", "kafka-rules").Inputs, "spec.groups"))
				for _, want := range []string{`"alert":"KafkaUnderReplicatedPartitions"`, `namespace=\"prod\", job=\"kafka-metrics\"`, `(kafka_controller_active_brokers{namespace=\"prod\", job=\"kafka-metrics\"}) \u003c 5`} {
					if !strings.Contains(rules, want) {
						t.Errorf("PrometheusRule lacks %s:\n%s", want, rules)
					}
				}
				dash := rec.one(t, tConfigMap, "kafka-dashboard").Inputs
				if get(t, dash, "metadata.labels").(map[string]any)["grafana_dashboard"] != "1" ||
					!strings.Contains(get(t, dash, "data").(map[string]any)["kafka-kraft.json"].(string), `"uid": "kafka-kraft"`) {
					t.Errorf("dashboard ConfigMap %v", dash["metadata"])
				}
			},
		},
		{
			name:   "monitoring none runs no exporter",
			config: map[string]string{"monitoring": "none"},
			check: func(t *testing.T, rec *recorder, outs map[string]string) {
				pod := get(t, rec.one(t, tStatefulSet, "kafka").Inputs, "spec.template").(map[string]any)
				if env := containerEnv(t, pod); env["KAFKA_METRICS_PORT"] != "" {
					t.Errorf("KAFKA_METRICS_PORT = %q, want empty (the image's default would serve 9404)", env["KAFKA_METRICS_PORT"])
				}
				if hasPort(t, pod, "metrics", 9404) || strings.Contains(jsonOf(get(t, pod, "metadata")), "prometheus.io") {
					t.Error("metrics port or annotations with monitoring none")
				}
				for _, s := range rec.ofType(tService) {
					if s.Name == "kafka-metrics" {
						t.Error("a metrics Service with monitoring none")
					}
				}
			},
		},
		{
			name:   "growing brokers on a deployed stack is allowed",
			config: map[string]string{"replicas": "4"},
			check: func(t *testing.T, rec *recorder, outs map[string]string) {
				if num(get(t, rec.one(t, tStatefulSet, "kafka").Inputs, "spec.replicas")) != 4 {
					t.Error("replicas != 4")
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			prev := map[string]any(nil)
			if tt.config["replicas"] == "4" {
				prev = deployedMap(t, kraft.Defaults("kafka-kraft", "test"))
			}
			rec, outs, err := run(t, tt.config, prev)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, rec, outs)
		})
	}
}

// deployedMap is the "deployed" output a previous update of c would have recorded.
func deployedMap(t *testing.T, c kraft.Config) map[string]any {
	t.Helper()
	d := kraft.DeployedOf(c)
	b, err := json.Marshal(map[string]any{
		"replicas": d.Replicas, "controllers": d.Controllers, "clusterId": d.ClusterID, "namespace": d.Namespace,
		"storageClass": d.StorageClass, "storageSize": d.StorageSize, "hostPath": d.HostPath,
		"volumeGenerations": append([]int{}, d.VolumeGenerations...), "kafkaVersion": d.KafkaVersion, "security": d.Security,
	})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRejectedConfigurationsCreateNothing(t *testing.T) {
	t.Parallel()
	deployed := deployedMap(t, kraft.Defaults("kafka-kraft", "test"))
	tests := []struct {
		name     string
		config   map[string]string
		previous map[string]any
		want     []string // substrings of the error
	}{
		{"zero replicas", map[string]string{"replicas": "0"}, nil, []string{`"replicas"`, "at least 1"}},
		{"replicas not a number", map[string]string{"replicas": "three"}, nil, []string{`"replicas"`, "whole number"}},
		{"even controllers", map[string]string{"replicas": "4", "controllers": "2"}, nil, []string{`"controllers"`, "odd"}},
		{"more controllers than replicas", map[string]string{"replicas": "1", "controllers": "3"}, nil, []string{`"controllers"`, "must not exceed"}},
		{"node port below the range", map[string]string{"externalNodePortBase": "9094"}, nil, []string{`"externalNodePortBase"`, "30000-32767"}},
		{"node ports running past the range", map[string]string{"externalNodePortBase": "32766"}, nil, []string{`"externalNodePortBase"`, "32766-32768"}},
		{"registry port colliding with brokers", map[string]string{"registryNodePort": "31091"}, nil, []string{`"registryNodePort"`, "collides"}},
		{"malformed storage size", map[string]string{"storageSize": "10GB"}, nil, []string{`"storageSize"`, "1Gi"}},
		{"managed broker property", map[string]string{"brokerProperties": `{"node.id": "7"}`}, nil, []string{`"brokerProperties.node.id"`, "managed"}},
		{"unknown broker property", map[string]string{"brokerProperties": `{"log.retention.hourz": "7"}`}, nil, []string{`"brokerProperties.log.retention.hourz"`, "not a Kafka"}},
		{"kcat not a boolean", map[string]string{"kcat": "yes"}, nil, []string{`"kcat"`, "true or false"}},
		{"unknown dist source", map[string]string{"kafkaDistSource": "ftp"}, nil, []string{`"kafkaDistSource"`, `"apache"`, `"context"`}},
		{"bad namespace", map[string]string{"namespace": "Kafka_NS"}, nil, []string{`"namespace"`, "DNS-1123"}},
		{"changing controllers of a deployed cluster", map[string]string{"controllers": "1"}, deployed, []string{`"controllers"`, "cannot change from 3 to 1"}},
		{"removing brokers of a deployed cluster", map[string]string{"replicas": "2", "controllers": "3"}, deployed, []string{`"controllers"`, "must not exceed"}},
		{"shrinking to one controller-compatible size", map[string]string{"replicas": "3", "controllers": "3", "storageClass": "local-path"}, deployed, []string{`"storageClass"`, "cannot change"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec, _, err := run(t, tt.config, tt.previous)
			if err == nil {
				t.Fatalf("accepted; registered %v", rec.names())
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			for _, r := range rec.resources {
				if r.Type != "pulumi:pulumi:Stack" && r.Type != "pulumi:pulumi:StackReference" {
					t.Errorf("%s %q was registered before the error", r.Type, r.Name)
				}
			}
		})
	}
}

// previousExternalKey, in a run's previous outputs, becomes the previous update's
// externalBootstrapServers output (the address a scale-down reaches the cluster through).
const previousExternalKey = "__externalBootstrapServers"

// fakeMoves stands in for scaledown.Run in this tier (tests/e2e moves replicas on a real cluster):
// it records each call by its first bootstrap address, and refuses for "refuse:9092".
var fakeMoves sync.Map

func init() {
	moveReplicas = func(_ context.Context, o scaledown.Options) (*scaledown.Report, error) {
		fakeMoves.Store(o.Brokers[0], o)
		switch o.Brokers[0] {
		case "refuse:9092":
			return nil, &scaledown.Refused{Keep: o.Keep, Topics: map[string]int{"orders": 5}}
		case "unreachable:9092":
			return nil, errors.New("dial tcp unreachable:9092: connection refused")
		}
		return &scaledown.Report{}, nil
	}
}

// TestScaleDownWithTheClusterOutOfReach: preview only warns (up checks again), up fails before
// registering anything, saying that nothing else changed and that up again resumes.
func TestScaleDownWithTheClusterOutOfReach(t *testing.T) {
	t.Parallel()
	c := kraft.Defaults("kafka-kraft", "test")
	c.Replicas = 5
	prev := deployedMap(t, c)
	prev[previousExternalKey] = "unreachable:9092"
	config := map[string]string{"replicas": "4", "controllers": "3"}
	if _, _, err := runDry(t, config, prev); err != nil {
		t.Errorf("preview with the cluster out of reach: %v; want a warning only", err)
	}
	rec, _, err := run(t, config, prev)
	if err == nil || !strings.Contains(err.Error(), "nothing else was changed, and `up` again resumes the moves") || !strings.Contains(err.Error(), "unreachable:9092") {
		t.Errorf("up with the cluster out of reach: err = %v", err)
	}
	for _, r := range rec.resources {
		if r.Type != "pulumi:pulumi:Stack" && r.Type != "pulumi:pulumi:StackReference" {
			t.Errorf("%s %q was registered although the replicas could not be moved", r.Type, r.Name)
		}
	}
}

// TestScaleDownMovesReplicasFirst: replicas 5 -> 4 on a deployed cluster moves the replicas off
// broker 4 through the previous update's external addresses, keeping four, throttled, before any
// resource is registered; the removed ordinal's storage is not registered any more, the StatefulSet
// deletes removed claims, and the ordinal's volume generation is raised. A refusal (a topic with
// more replicas than brokers would remain) registers nothing.
func TestScaleDownMovesReplicasFirst(t *testing.T) {
	t.Parallel()
	c := kraft.Defaults("kafka-kraft", "test")
	c.Replicas = 5
	prev := deployedMap(t, c)
	prev[previousExternalKey] = "shrink:9092,b:9093"
	rec, _, err := run(t, map[string]string{"replicas": "4", "controllers": "3", "reassignmentThrottle": "10Mi"}, prev)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := fakeMoves.Load("shrink:9092")
	if !ok {
		t.Fatal("no replicas moved before the scale-down")
	}
	if o := got.(scaledown.Options); o.Keep != 4 || o.Throttle != 10<<20 || len(o.Brokers) != 2 {
		t.Errorf("moves: keep %d, throttle %d, brokers %v; want 4, 10Mi, the previous external addresses", o.Keep, o.Throttle, o.Brokers)
	}
	sts := rec.one(t, tStatefulSet, "kafka")
	if got := get(t, sts.Inputs, "spec.persistentVolumeClaimRetentionPolicy.whenScaled"); got != "Delete" {
		t.Errorf("whenScaled = %v, want Delete (a broker added later must not start on stale data)", got)
	}
	for _, pv := range rec.ofType(tPV) {
		if strings.Contains(fmt.Sprint(get(t, pv.Inputs, "metadata.name")), "kafka-4") {
			t.Errorf("the removed broker's volume is still registered: %v", get(t, pv.Inputs, "metadata.name"))
		}
	}
	// What the next update reads back: the generations survive the stack output's JSON.
	c.VolumeGenerations = kraft.NextVolumeGenerations(kraft.DeployedOf(c), 4)
	if got := fmt.Sprint(deployedFromMap(deployedMap(t, c)).VolumeGenerations); got != "[0 0 0 0 1]" {
		t.Errorf("volumeGenerations read back = %s, want [0 0 0 0 1]", got)
	}

	// Refused: nothing registered, the topic named.
	prev[previousExternalKey] = "refuse:9092"
	rec, _, err = run(t, map[string]string{"replicas": "4", "controllers": "3"}, prev)
	if err == nil || !strings.Contains(err.Error(), `unsafe change refused (nothing was changed)`) || !strings.Contains(err.Error(), "orders (replication factor 5)") ||
		!strings.Contains(err.Error(), `"replicas" cannot change from 5 to 4`) {
		t.Errorf("refused scale-down: err = %v", err)
	}
	for _, r := range rec.resources {
		if r.Type != "pulumi:pulumi:Stack" && r.Type != "pulumi:pulumi:StackReference" {
			t.Errorf("%s %q was registered before the refusal", r.Type, r.Name)
		}
	}

	// No scale-down, no moves.
	prev[previousExternalKey] = "same:9092"
	if _, _, err := run(t, map[string]string{"replicas": "5", "controllers": "3"}, prev); err != nil {
		t.Fatal(err)
	}
	if _, moved := fakeMoves.Load("same:9092"); moved {
		t.Error("replicas moved without a scale-down")
	}
}

// TestRegrowGetsFreshStorage: after 5 -> 4, growing to 5 again gives ordinal 4 a new hostPath
// volume (name and directory suffixed -g1), never the removed broker's.
func TestRegrowGetsFreshStorage(t *testing.T) {
	t.Parallel()
	c := kraft.Defaults("kafka-kraft", "test")
	c.Replicas, c.VolumeGenerations = 4, []int{0, 0, 0, 0, 1}
	rec, _, err := run(t, map[string]string{"replicas": "5", "controllers": "3"}, deployedMap(t, c))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, pv := range rec.ofType(tPV) {
		name := fmt.Sprint(get(t, pv.Inputs, "metadata.name"))
		if strings.Contains(name, "data-kafka-4") {
			found = true
			if !strings.HasSuffix(name, "-g1") || !strings.HasSuffix(fmt.Sprint(get(t, pv.Inputs, "spec.hostPath.path")), "/kafka-4-g1") {
				t.Errorf("regrown ordinal 4: pv %s at %v, want generation 1", name, get(t, pv.Inputs, "spec.hostPath.path"))
			}
		}
	}
	if !found {
		t.Error("no volume for ordinal 4")
	}
}

// TestRemovingVotersIsRefused: the voters (the first controllers ordinals) are never removed.
func TestRemovingVotersIsRefused(t *testing.T) {
	t.Parallel()
	c := kraft.Defaults("kafka-kraft", "test")
	c.Replicas = 5
	rec, _, err := run(t, map[string]string{"replicas": "2", "controllers": "3"}, deployedMap(t, c))
	// Validation catches it first: controllers (the voters) must not exceed replicas.
	if err == nil || !strings.Contains(err.Error(), `config "controllers" = 3: must not exceed replicas (2)`) {
		t.Fatalf("err = %v", err)
	}
	if len(rec.ofType(tStatefulSet)) != 0 {
		t.Error("statefulset registered")
	}
}

// TestClusterSettingsJobFollowsTheStatefulSet: the Admin-API settings (kafka-ready cluster) run in a
// Job created after the StatefulSet (so after its rollout is awaited), named by its command, with
// the effective min.insync.replicas and the internal topics' replication factor.
func TestClusterSettingsJobFollowsTheStatefulSet(t *testing.T) {
	t.Parallel()
	rec, _, err := run(t, map[string]string{"replicas": "3", "brokerProperties": `{"min.insync.replicas": "3"}`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	jobs := rec.ofType("kubernetes:batch/v1:Job")
	if len(jobs) != 1 {
		t.Fatalf("want one Job, got %d: %v", len(jobs), rec.names())
	}
	job := jobs[0]
	if name := get(t, job.Inputs, "metadata.name").(string); !strings.HasPrefix(name, "kafka-cluster-config-") {
		t.Errorf("job name %q", name)
	}
	cmd := fmt.Sprint(get(t, job.Inputs, "spec.template.spec.containers.0.command"))
	for _, want := range []string{"/opt/kafka/bin/kafka-ready cluster", "-brokers 3", "-set min.insync.replicas=3", "-internal-rf 3"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("job command %s lacks %q", cmd, want)
		}
	}
	if get(t, job.Inputs, "spec.template.spec.containers.0.image") != testDigest {
		t.Errorf("job image = %v, want the Kafka image", get(t, job.Inputs, "spec.template.spec.containers.0.image"))
	}
	afterSet := false
	for _, d := range job.Deps {
		afterSet = afterSet || strings.HasSuffix(d, "kubernetes:apps/v1:StatefulSet::kafka")
	}
	if !afterSet {
		t.Errorf("the Job must depend on the StatefulSet (run after its rollout); deps %v", job.Deps)
	}
}

// TestClusterWaitsForItsNamespace: the KraftCluster takes its namespace as a plain name, so the
// order comes from the component's DependsOn on the Namespace resource (its children wait for the
// component's registration, which waits for the namespace).
func TestClusterWaitsForItsNamespace(t *testing.T) {
	t.Parallel()
	r, _, err := run(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cluster := r.one(t, "kafka-kraft:index:KraftCluster", "kafka")
	if !slices.ContainsFunc(cluster.Deps, func(d string) bool { return strings.HasSuffix(d, "kubernetes:core/v1:Namespace::kafka-kraft") }) {
		t.Errorf("the KraftCluster must depend on the Namespace; deps %v", cluster.Deps)
	}
}

// TestDisruptionBudgetAndSpreadFollowTheSettings: a single voter gets a budget of zero (a drain
// must not take the only voter), and spread hard makes the per-node spread a scheduling rule.
func TestDisruptionBudgetAndSpreadFollowTheSettings(t *testing.T) {
	t.Parallel()
	rec, _, err := run(t, map[string]string{"replicas": "3", "controllers": "1", "spread": "hard"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := num(get(t, rec.one(t, tPDB, "kafka").Inputs, "spec.maxUnavailable")); got != 0 {
		t.Errorf("one voter: pdb maxUnavailable = %d, want 0", got)
	}
	spread := fmt.Sprint(get(t, rec.one(t, tStatefulSet, "kafka").Inputs, "spec.template.spec.topologySpreadConstraints.0"))
	if !strings.Contains(spread, "kubernetes.io/hostname") || !strings.Contains(spread, "DoNotSchedule") {
		t.Errorf("spread hard: first constraint %s, want hostname DoNotSchedule", spread)
	}
	if all := get(t, rec.one(t, tStatefulSet, "kafka").Inputs, "spec.template.spec.topologySpreadConstraints").([]any); len(all) != 2 {
		t.Errorf("one voter: %d spread constraints, want 2 (no voter rule): %v", len(all), all)
	}
	if _, _, err := run(t, map[string]string{"spread": "strict"}, nil); err == nil || !strings.Contains(err.Error(), `"spread"`) || !strings.Contains(err.Error(), `"hard"`) {
		t.Errorf("spread strict: err = %v, want the key and the allowed values named", err)
	}
}

// TestSecretBrokerPropertiesStaySecret: a secret brokerProperties value (by its name, or every one
// when the object was set with --secret) never reaches the ConfigMap: it goes to a Secret whose
// data is a Pulumi secret, mounted into the pods, and its name changes with its content.
func TestSecretBrokerPropertiesStaySecret(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name       string
		props      string
		secretKeys []string
		hidden     string
	}{
		{"by name", `{"ssl.keystore.password": "hunter2", "log.retention.hours": 24}`, nil, "hunter2"},
		{"whole object set with --secret", `{"log.retention.hours": 97}`, []string{"brokerProperties"}, "log.retention.hours=97"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec, _, err := run(t, map[string]string{"brokerProperties": tt.props}, nil, tt.secretKeys...)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rec.resources {
				if r.Type != tSecret && strings.Contains(fmt.Sprint(r.Inputs), tt.hidden) {
					t.Errorf("%s %s holds %q", r.Type, r.Name, tt.hidden)
				}
			}
			sec := rec.one(t, tSecret, "kafka-secret-config")
			if !slices.Contains(sec.Secret, "stringData") || !strings.Contains(fmt.Sprint(sec.Inputs["stringData"]), tt.hidden) {
				t.Errorf("secret config: secret inputs %v, data %v", sec.Secret, sec.Inputs["stringData"])
			}
			name := get(t, sec.Inputs, "metadata.name").(string)
			if !strings.Contains(fmt.Sprint(get(t, rec.one(t, tStatefulSet, "kafka").Inputs, "spec.template.spec.volumes")), name) {
				t.Errorf("the StatefulSet does not mount %s", name)
			}
		})
	}
}

// TestSecurityResources: with security on (the default) the CA and the users are in Secrets the
// pods and the Job mount, a NetworkPolicy guards the node listeners, the Job gets the TLS and
// users flags, and no plain input of any resource holds the CA key or a password. Read back from
// the previous update, the same CA and passwords are used again (no Secret changes name).
func TestSecurityResources(t *testing.T) {
	t.Parallel()
	cfg := map[string]string{"users": `{"orders": {"acls": [{"resource": "topic", "name": "orders", "operations": ["write"]}]}}`}
	rec, outs, err := run(t, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	tlsSecret := rec.one(t, tSecret, "kafka-tls")
	users := rec.one(t, tSecret, "kafka-users")
	data := func(r recorded, k string) string {
		d, _ := r.Inputs["stringData"].(map[string]any)
		return fmt.Sprint(d[k])
	}
	caKey, usersFile := data(tlsSecret, "ca.key"), data(users, "users.json")
	if !strings.Contains(caKey, "PRIVATE KEY") || !strings.Contains(usersFile, `"orders"`) || !strings.Contains(usersFile, `"admin"`) {
		t.Fatalf("tls secret %.40q..., users %q", caKey, usersFile)
	}
	var parsed map[string]struct{ Password string }
	if err := json.Unmarshal([]byte(usersFile), &parsed); err != nil || len(parsed["orders"].Password) != 32 || len(parsed["admin"].Password) != 32 {
		t.Fatalf("users.json = %v, %v: want generated passwords for admin and orders", parsed, err)
	}
	for _, r := range rec.resources {
		if r.Type == tSecret {
			if !slices.Contains(r.Secret, "stringData") {
				t.Errorf("Secret %s: stringData is not a Pulumi secret", r.Name)
			}
			continue
		}
		in := fmt.Sprint(r.Inputs)
		for what, s := range map[string]string{"the CA key": caKey[30:80], "the admin password": parsed["admin"].Password, "a user password": parsed["orders"].Password} {
			if strings.Contains(in, s) {
				t.Errorf("%s %s holds %s", r.Type, r.Name, what)
			}
		}
	}
	np := rec.one(t, "kubernetes:networking.k8s.io/v1:NetworkPolicy", "kafka")
	if rules := fmt.Sprint(get(t, np.Inputs, "spec.ingress")); !strings.Contains(rules, "9092") || !strings.Contains(rules, "cluster-config") {
		t.Errorf("network policy ingress %s", rules)
	}
	job := rec.one(t, tJob, "kafka-cluster-config")
	if !job.DeleteBeforeReplace {
		t.Error("the cluster Job must be deleted before its replacement runs (two would work against each other)")
	}
	cmd := fmt.Sprint(get(t, job.Inputs, "spec.template.spec.containers.0.command"))
	if !strings.Contains(cmd, "-tls-ca-dir /etc/kafka-kraft-tls -users /etc/kafka-kraft-users/users.json") {
		t.Errorf("job command %s", cmd)
	}
	vols := fmt.Sprint(get(t, job.Inputs, "spec.template.spec.volumes"))
	for _, s := range []recorded{tlsSecret, users} {
		if !strings.Contains(vols, get(t, s.Inputs, "metadata.name").(string)) {
			t.Errorf("the Job does not mount %s: %s", s.Name, vols)
		}
	}
	// The node's certificate is issued by an init container, the only one that mounts the CA key:
	// the Kafka container sees ca.crt alone. With hostPath storage it is the one that also hands the
	// data directory over (kraftcluster.nodeInitContainers).
	sts := rec.one(t, tStatefulSet, "kafka")
	var initCmd string
	for _, ic := range get(t, sts.Inputs, "spec.template.spec.initContainers").([]any) {
		if m := ic.(map[string]any); m["name"] == kraftcluster.DataAndTLSInitContainerName {
			initCmd = fmt.Sprint(m["command"])
		}
	}
	if !strings.Contains(initCmd, "'/opt/kafka/bin/kafka-ready' 'cert'") || !strings.Contains(initCmd, "@POD@.kafka-svc.kafka-kraft.svc.cluster.local") || !strings.Contains(initCmd, "$(POD_NAME)") {
		t.Errorf("tls init container command %q", initCmd)
	}
	for _, v := range get(t, sts.Inputs, "spec.template.spec.volumes").([]any) {
		m := v.(map[string]any)
		if m["name"] == "tls-ca" && fmt.Sprint(m["secret"].(map[string]any)["items"]) != "[map[key:ca.crt path:ca.crt]]" {
			t.Errorf("the Kafka container's CA volume holds more than ca.crt: %v", m)
		}
	}
	if mounts := fmt.Sprint(get(t, sts.Inputs, "spec.template.spec.containers.0.volumeMounts")); !strings.Contains(mounts, "tls-ca") || strings.Contains(mounts, "name:tls ") || strings.Contains(mounts, "name:tls]") {
		t.Errorf("kafka container mounts %s: want tls-ca (ca.crt only), never the tls volume with the key", mounts)
	}

	// The registry takes the stack's credentials only: the pods pull with the pull secret, the
	// build pushes with the password (a Pulumi secret), the registry checks the htpasswd.
	pull := rec.one(t, tSecret, "registry-pull")
	if cfg := data(pull, ".dockerconfigjson"); !strings.Contains(cfg, `"localhost:31500"`) || !strings.Contains(cfg, `"kafka-kraft"`) {
		t.Errorf("pull secret %s", cfg)
	}
	for _, r := range []recorded{rec.one(t, tStatefulSet, "kafka"), rec.one(t, tJob, "kafka-cluster-config"), rec.one(t, tDeployment, "kcat")} {
		if ps := fmt.Sprint(get(t, r.Inputs, "spec.template.spec.imagePullSecrets")); !strings.Contains(ps, "registry-pull") {
			t.Errorf("%s pulls without the pull secret: %s", r.Name, ps)
		}
	}
	img := rec.one(t, tImage, "kafka-image")
	if !slices.Contains(img.Secret, "registry") || get(t, img.Inputs, "registry.username") != "kafka-kraft" {
		t.Errorf("image push: registry %v (secret inputs %v)", img.Inputs["registry"], img.Secret)
	}
	if env := fmt.Sprint(get(t, rec.one(t, tDeployment, "registry").Inputs, "spec.template.spec.containers.0.env")); !strings.Contains(env, "REGISTRY_AUTH_HTPASSWD_PATH") {
		t.Errorf("registry env %s", env)
	}

	// The next update reads the state back: same CA, same passwords, same Secret names.
	again, _, err := runState(t, false, cfg, deployedMap(t, kraft.Defaults("kafka-kraft", "test")), outs[OutputSecurityState])
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"kafka-tls", "kafka-users", "kcat-config", "registry-auth", "registry-pull"} {
		a, b := rec.one(t, tSecret, n), again.one(t, tSecret, n)
		if get(t, a.Inputs, "metadata.name") != get(t, b.Inputs, "metadata.name") || fmt.Sprint(a.Inputs["stringData"]) != fmt.Sprint(b.Inputs["stringData"]) {
			t.Errorf("Secret %s changed on an update that changed nothing", n)
		}
	}
}

// TestEveryPodIsRestricted: every pod the program creates runs with the RuntimeDefault seccomp
// profile, without Service environment variables (Services named kafka-* or registry would inject
// KAFKA_* and REGISTRY_* variables that images read as configuration), and its main container
// cannot escalate privileges.
func TestEveryPodIsRestricted(t *testing.T) {
	t.Parallel()
	rec, _, err := run(t, map[string]string{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, typ := range []string{tStatefulSet, tDeployment, "kubernetes:batch/v1:Job"} {
		for _, r := range rec.ofType(typ) {
			n++
			pod := get(t, r.Inputs, "spec.template.spec").(map[string]any)
			if get(t, pod, "securityContext.seccompProfile.type") != "RuntimeDefault" || get(t, pod, "securityContext.runAsNonRoot") != true {
				t.Errorf("%s %s: pod securityContext %v", typ, r.Name, pod["securityContext"])
			}
			if pod["enableServiceLinks"] != false {
				t.Errorf("%s %s: enableServiceLinks %v, want false", typ, r.Name, pod["enableServiceLinks"])
			}
			if get(t, pod, "containers.0.securityContext.allowPrivilegeEscalation") != false {
				t.Errorf("%s %s: container securityContext %v", typ, r.Name, get(t, pod, "containers.0.securityContext"))
			}
		}
	}
	if n != 4 {
		t.Errorf("checked %d workloads, want 4 (kafka, registry, kcat, cluster-config job)", n)
	}
}

// TestKafkaUpgradeRollsAndRaisesTheFeatures: kafkaVersion 4.3.1 -> 4.4.0 on a deployed cluster
// updates the StatefulSet in place (a roll) and the cluster-settings Job raises the finalized
// features to 4.4.0's once every node runs it; the deployment records 4.4.0.
func TestKafkaUpgradeRollsAndRaisesTheFeatures(t *testing.T) {
	t.Parallel()
	old := kraft.Defaults("kafka-kraft", "test")
	old.KafkaVersion = "4.3.1"
	rec, _, err := run(t, map[string]string{"kafkaVersion": "4.4.0"}, deployedMap(t, old))
	if err != nil {
		t.Fatal(err)
	}
	var cmd string
	for _, j := range rec.ofType(tJob) {
		cmd = fmt.Sprint(get(t, j.Inputs, "spec.template.spec.containers.0.command"))
	}
	if !strings.Contains(cmd, "-feature metadata.version=33") {
		t.Errorf("cluster job %s does not raise metadata.version to 4.4's 33", cmd)
	}
	if got := get(t, rec.one(t, tStatefulSet, "kafka").Inputs, "spec.template.metadata.labels"); !strings.Contains(fmt.Sprint(got), "4.4.0") {
		t.Errorf("pod labels %v do not name 4.4.0", got)
	}
}

// TestURNsAreStable records the URNs of the default stack's resources: a rename of a resource, a
// component or a type token would make `up` replace them on every deployed stack (the StatefulSet
// with every node at once) unless the change carries an alias. Review testdata/urns.golden when it
// changes (go test ./internal/stack -run URNsAreStable -update) and add the aliases.
func TestURNsAreStable(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		config map[string]string
	}{
		{"urns.golden", nil},
		{"urns-prometheus-operator.golden", map[string]string{kraft.KeyMonitoring: kraft.MonitoringOperator}},
	} {
		rec, _, err := run(t, tt.config, nil)
		if err != nil {
			t.Fatal(err)
		}
		var urns []string
		for _, r := range rec.resources {
			urns = append(urns, r.URN)
		}
		sort.Strings(urns)
		goldenfile.Compare(t, "testdata/"+tt.name, strings.Join(urns, "\n")+"\n", *updateGolden)
	}
}

// TestInputsOfADeployedDefaultStack records every resource of an update of a deployed default stack
// (fixed secret material, testdata/deployed-state.json, and a fixed clock) with its inputs. A
// refactoring of the program or the components must leave it unchanged: then a deployed stack's
// next `up` changes nothing. A deliberate change shows here, resource by resource, for review
// (go test ./internal/stack -run InputsOfADeployed -update).
func TestInputsOfADeployedDefaultStack(t *testing.T) {
	t.Parallel()
	state, err := os.ReadFile("testdata/deployed-state.json")
	if err != nil {
		t.Fatal(err)
	}
	rec, _, err := runState(t, false, nil, deployedMap(t, kraft.Defaults("kafka-kraft", "test")), string(state))
	if err != nil {
		t.Fatal(err)
	}
	sorted := append([]recorded(nil), rec.resources...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].URN < sorted[j].URN })
	var b strings.Builder
	for _, r := range sorted {
		inputs, err := json.MarshalIndent(r.Inputs, "  ", "  ")
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s\n  secret: %v, deleteBeforeReplace: %v\n  %s\n", r.URN, r.Secret, r.DeleteBeforeReplace, inputs)
	}
	goldenfile.Compare(t, "testdata/inputs.golden", b.String(), *updateGolden)
}
