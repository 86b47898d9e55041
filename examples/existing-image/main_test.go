package main

import (
	"encoding/json"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kafka-kraft/kafka-kraft/components/kraftcluster"
)

// recorder records every registered resource (inputs and dependencies) and echoes its inputs.
type recorder struct {
	mu   sync.Mutex
	res  map[string]resource.PropertyMap
	deps map[string][]string
}

func (r *recorder) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := args.TypeToken + "/" + args.Name
	r.res[key] = args.Inputs
	if rpc := args.RegisterRPC; rpc != nil {
		r.deps[key] = rpc.GetDependencies()
	}
	return args.Name + "-id", args.Inputs, nil
}

func (r *recorder) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	panic("unexpected invoke " + args.Token)
}

// run runs Program under mocks with the stack configuration config (keys without the project).
func run(t *testing.T, config map[string]string) (*recorder, error) {
	t.Helper()
	var b strings.Builder
	b.WriteString("{")
	first := true
	for k, v := range config {
		if !first {
			b.WriteString(",")
		}
		first = false
		b.WriteString(`"project:` + k + `":` + quote(v))
	}
	b.WriteString("}")
	t.Setenv("PULUMI_CONFIG", b.String())
	r := &recorder{res: map[string]resource.PropertyMap{}, deps: map[string][]string{}}
	err := pulumi.RunErr(Program, pulumi.WithMocks("project", "stack", r))
	return r, err
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

func credentialsJSON(t *testing.T) string {
	t.Helper()
	c, err := kraftcluster.NewCredentials("example test")
	if err != nil {
		t.Fatal(err)
	}
	return `{"caCert":` + quote(c.CACert) + `,"caKey":` + quote(c.CAKey) + `,"adminPassword":"` + c.AdminPassword + `","nameKey":"` + c.NameKey + `"}`
}

const image = "registry.example.com/kafka-kraft:4.4.0"

// TestDeploysTheClusterFromAnExistingImage: the cluster runs the given image in the example's
// namespace, after it; nothing builds or hosts an image, and the user gets its ACLs.
func TestDeploysTheClusterFromAnExistingImage(t *testing.T) {
	r, err := run(t, map[string]string{"image": image, "credentials": credentialsJSON(t), "ordersAppPassword": "an-orders-app-password"})
	if err != nil {
		t.Fatal(err)
	}
	sts := resource.NewObjectProperty(r.res["kubernetes:apps/v1:StatefulSet/orders"])
	if sts.IsNull() {
		t.Fatalf("no StatefulSet; registered %d resources", len(r.res))
	}
	containers := sts.ObjectValue()["spec"].ObjectValue()["template"].ObjectValue()["spec"].ObjectValue()["containers"].ArrayValue()
	if got := containers[0].ObjectValue()["image"].StringValue(); got != image {
		t.Errorf("image %q, want %q", got, image)
	}
	if ns := sts.ObjectValue()["metadata"].ObjectValue()["namespace"].StringValue(); ns != "orders-kafka" {
		t.Errorf("namespace %q", ns)
	}
	for key := range r.res {
		if strings.HasPrefix(key, "docker:") || strings.HasPrefix(key, "kafka-kraft:index:Registry") || strings.HasPrefix(key, "kafka-kraft:index:KcatClient") || strings.HasPrefix(key, "kafka-kraft:index:KafkaImage") {
			t.Errorf("%s registered: the example uses an existing image, no registry, no kcat", key)
		}
	}
	waits := false
	for _, d := range r.deps["kafka-kraft:index:KraftCluster/orders"] {
		waits = waits || strings.HasSuffix(d, "kubernetes:core/v1:Namespace::orders-kafka")
	}
	if !waits {
		t.Errorf("the KraftCluster does not wait for its namespace: deps %v", r.deps["kafka-kraft:index:KraftCluster/orders"])
	}
	users := r.res["kubernetes:core/v1:Secret/orders-users"]
	if users == nil {
		t.Fatal("no users Secret")
	}
	data := users["stringData"]
	if data.IsSecret() {
		data = data.SecretValue().Element
	}
	var file map[string]struct {
		Password string `json:"password"`
		ACLs     []struct {
			Resource, Name, Pattern string
			Operations              []string
		} `json:"acls"`
	}
	if err := json.Unmarshal([]byte(data.ObjectValue()["users.json"].StringValue()), &file); err != nil {
		t.Fatalf("users file: %v", err)
	}
	app := file["orders-app"]
	if app.Password != "an-orders-app-password" || len(app.ACLs) != 2 || app.ACLs[0].Pattern != "prefixed" {
		t.Errorf("orders-app in the users file = %+v, want its password and two prefixed ACLs", app)
	}
	if _, ok := file[kraftcluster.AdminUser]; !ok {
		t.Errorf("users file without the admin user: %v", file)
	}
	ext := r.res["kubernetes:core/v1:Service/orders-external-0"]
	if p := ext["spec"].ObjectValue()["ports"].ArrayValue()[0].ObjectValue()["nodePort"].NumberValue(); p != 31190 {
		t.Errorf("broker 0's node port %v, want 31190", p)
	}
}

// TestRefusesMissingCredentials: without credentials the program stops before it makes anything;
// with incomplete ones the component refuses before any of its children is made, naming the field.
func TestRefusesMissingCredentials(t *testing.T) {
	r, err := run(t, map[string]string{"image": image, "ordersAppPassword": "an-orders-app-password"})
	if err == nil || !strings.Contains(err.Error(), `config "credentials"`) || len(r.res) != 0 {
		t.Errorf("err = %v with %d resources, want the setting named and nothing made", err, len(r.res))
	}
	r, err = run(t, map[string]string{"image": image, "credentials": "{}", "ordersAppPassword": "an-orders-app-password"})
	if err == nil || !strings.Contains(err.Error(), "kraftcluster.Args.Security.Credentials") {
		t.Fatalf("err = %v, want the credentials field named", err)
	}
	for key := range r.res {
		if !strings.HasPrefix(key, "kubernetes:core/v1:Namespace/") {
			t.Errorf("%s registered although the cluster was refused", key)
		}
	}
}

// TestUsesThePublicAPIOnly: the example stands for a program outside this repository, which cannot
// import kafka-kraft's internal packages (Go's internal rule is by import path, so the example,
// under the repository's path, could: this test keeps it honest).
func TestUsesThePublicAPIOnly(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range parsed.Imports {
			if strings.Contains(imp.Path.Value, "kafka-kraft/kafka-kraft/internal") {
				t.Errorf("%s imports %s", f, imp.Path.Value)
			}
		}
	}
}
