package registry

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/internals"

	"github.com/kafka-kraft/kafka-kraft/internal/delivery"
	"github.com/kafka-kraft/kafka-kraft/internal/kraft"
	"github.com/kafka-kraft/kafka-kraft/internal/pulumitest"
)

// deploy runs New under mocks and returns the recorded inputs and the Address output.
func deploy(t *testing.T, args *Args) (pulumitest.Resources, string, error) {
	t.Helper()
	var address string
	res, err := pulumitest.Run(t, func(ctx *pulumi.Context) error {
		r, err := New(ctx, "registry", args)
		if err != nil {
			return err
		}
		out, err := internals.UnsafeAwaitOutput(ctx.Context(), r.Address)
		address, _ = out.Value.(string)
		return err
	}, nil)
	return res, address, err
}

func get(t *testing.T, v resource.PropertyValue, path string) resource.PropertyValue {
	t.Helper()
	for _, p := range strings.Split(path, ".") {
		switch {
		case v.IsObject():
			v = v.ObjectValue()[resource.PropertyKey(p)]
		case v.IsArray() && len(v.ArrayValue()) > 0 && p == "0":
			v = v.ArrayValue()[0]
		default:
			t.Fatalf("path %s: cannot descend into %v at %q", path, v, p)
		}
	}
	return v
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	res, address, err := deploy(t, &Args{Namespace: pulumi.String("tools"), Instance: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	if address != "localhost:31500" {
		t.Errorf("Address = %q, want localhost:31500", address)
	}
	dep := resource.NewObjectProperty(res["kubernetes:apps/v1:Deployment/registry"])
	if img := get(t, dep, "spec.template.spec.containers.0.image").StringValue(); img != DefaultImage {
		t.Errorf("image %q, want %q", img, DefaultImage)
	}
	if ns := get(t, dep, "metadata.namespace").StringValue(); ns != "tools" {
		t.Errorf("namespace %q", ns)
	}
	svc := resource.NewObjectProperty(res["kubernetes:core/v1:Service/registry"])
	if p := get(t, svc, "spec.ports.0.nodePort").NumberValue(); p != DefaultNodePort {
		t.Errorf("nodePort %v", p)
	}
	pv := resource.NewObjectProperty(res["kubernetes:core/v1:PersistentVolume/registry-data-pv"])
	if n := get(t, pv, "metadata.name").StringValue(); n != "demo-registry-data" {
		t.Errorf("PV name %q, want demo-registry-data", n)
	}
	if p := get(t, pv, "spec.hostPath.path").StringValue(); p != "/mnt/kafka/demo/registry" {
		t.Errorf("hostPath %q", p)
	}
	if l := get(t, dep, "metadata.labels").ObjectValue()["app.kubernetes.io/instance"].StringValue(); l != "demo" {
		t.Errorf("instance label %q", l)
	}
	for key := range res {
		if strings.HasPrefix(key, "kubernetes:core/v1:Secret/") {
			t.Errorf("%s without Auth", key)
		}
	}
}

func TestAuthAndStorageClass(t *testing.T) {
	t.Parallel()
	res, address, err := deploy(t, &Args{Namespace: pulumi.String("tools"), Instance: "demo", NodePort: 31555, StorageClass: "fast",
		Auth: &Auth{Username: "u", Password: "p4ssw0rd", Htpasswd: "u:$2y$hash", SecretName: "registry-auth-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if address != "localhost:31555" {
		t.Errorf("Address = %q", address)
	}
	if _, ok := res["kubernetes:core/v1:PersistentVolume/registry-data-pv"]; ok {
		t.Error("a hostPath PV with a StorageClass")
	}
	pull := resource.NewObjectProperty(res["kubernetes:core/v1:Secret/registry-pull"])
	if !strings.Contains(get(t, pull, "stringData").String(), "localhost:31555") {
		t.Errorf("pull secret does not name the registry: %v", pull)
	}
	dep := resource.NewObjectProperty(res["kubernetes:apps/v1:Deployment/registry"])
	if env := get(t, dep, "spec.template.spec.containers.0.env").String(); !strings.Contains(env, "REGISTRY_AUTH") {
		t.Errorf("env %s", env)
	}
}

func TestValidateNamesTheField(t *testing.T) {
	t.Parallel()
	ok := Args{Namespace: pulumi.String("tools"), Instance: "demo"}
	tests := []struct {
		name   string
		change func(*Args)
		want   string
	}{
		{"namespace", func(a *Args) { a.Namespace = nil }, "registry.Args.Namespace is required"},
		{"instance", func(a *Args) { a.Instance = "Not a label!" }, `registry.Args.Instance = "Not a label!": must be a label value`},
		{"node port", func(a *Args) { a.NodePort = 80 }, `registry.Args.NodePort = "80": must be a NodePort, 30000 to 32767`},
		{"size", func(a *Args) { a.Size = "lots" }, `registry.Args.Size = "lots": must be a Kubernetes quantity`},
		{"auth", func(a *Args) { a.Auth = &Auth{Username: "u"} }, "registry.Args.Auth: Username, Password, Htpasswd and SecretName are all required"},
	}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid args: %v", err)
	}
	for _, tt := range tests {
		a := ok
		tt.change(&a)
		if err := a.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Validate() = %v, want %q", tt.name, err, tt.want)
		}
		if _, _, err := deploy(t, &a); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: New did not refuse: %v", tt.name, err)
		}
	}
}

// The defaults are the stack's: a program that leaves a field empty gets what `pulumi up` deploys.
func TestDefaultsAreTheStacks(t *testing.T) {
	t.Parallel()
	c, d := kraft.Defaults("p", "s"), delivery.Defaults()
	if DefaultImage != d.Registry.Image || DefaultNodePort != d.Registry.NodePort || DefaultSize != d.Registry.Size || DefaultHostPathRoot != c.Storage.HostPath {
		t.Errorf("defaults %q %d %q %q differ from the stack's %+v, %q", DefaultImage, DefaultNodePort, DefaultSize, DefaultHostPathRoot, d.Registry, c.Storage.HostPath)
	}
}
