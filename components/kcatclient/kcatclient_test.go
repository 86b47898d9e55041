package kcatclient

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/internals"

	"github.com/kafka-kraft/kafka-kraft/internal/pulumitest"
)

func deploy(t *testing.T, args *Args) (pulumitest.Resources, string, error) {
	t.Helper()
	var exec string
	res, err := pulumitest.Run(t, func(ctx *pulumi.Context) error {
		k, err := New(ctx, "kcat", args)
		if err != nil {
			return err
		}
		out, err := internals.UnsafeAwaitOutput(ctx.Context(), k.ExecCommand)
		exec, _ = out.Value.(string)
		return err
	}, map[string]resource.PropertyMap{"docker:index/image:Image": {"repoDigest": resource.NewStringProperty("localhost:31500/kafka-kraft-kcat@sha256:abc")}})
	return res, exec, err
}

func minimal() Args {
	return Args{Namespace: pulumi.String("tools"), Instance: "demo", BootstrapServers: pulumi.String("kafka-svc.tools.svc.cluster.local:9092"),
		Registry: pulumi.String("localhost:31500")}
}

func TestBuildsItsImageAndSpeaksPlaintextByDefault(t *testing.T) {
	t.Parallel()
	res, exec, err := deploy(t, new(minimal()))
	if err != nil {
		t.Fatal(err)
	}
	img := res["docker:index/image:Image/kcat-image"]
	if img == nil || img["imageName"].StringValue() != "localhost:31500/"+ImageRepository+":1.7.1" || img["build"].ObjectValue()["context"].StringValue() != "docker/kcat" {
		t.Errorf("image %v", img)
	}
	dep := res["kubernetes:apps/v1:Deployment/kcat"]
	spec := dep["spec"].ObjectValue()["template"].ObjectValue()["spec"].ObjectValue()
	c := spec["containers"].ArrayValue()[0].ObjectValue()
	if c["image"].StringValue() != "localhost:31500/kafka-kraft-kcat@sha256:abc" {
		t.Errorf("container image %v (want the built digest)", c["image"])
	}
	if env := c["env"].ArrayValue()[0].ObjectValue(); env["value"].StringValue() != "kafka-svc.tools.svc.cluster.local:9092" {
		t.Errorf("KAFKA_BOOTSTRAP %v", env)
	}
	if _, ok := spec["imagePullSecrets"]; ok {
		t.Error("pull secrets without PullSecret")
	}
	if _, ok := res["kubernetes:core/v1:Secret/kcat-config"]; ok {
		t.Error("a config Secret without ClientConfig")
	}
	if exec != "kubectl -n tools exec deploy/kafka-cat -- kcat -L -b kafka-svc.tools.svc.cluster.local:9092" {
		t.Errorf("ExecCommand %q", exec)
	}
}

func TestGivenImageConfigAndPullSecret(t *testing.T) {
	t.Parallel()
	a := minimal()
	a.Image, a.Registry = pulumi.String("example/kcat:1.7.1"), nil
	a.ExecBootstrap = pulumi.String("kafka-svc:9095")
	a.ClientConfig, a.ClientConfigSecret = ClientConfig("CA PEM", "admin", "pw"), "kafka-cat-config-1"
	a.PullSecret = "pull"
	res, exec, err := deploy(t, &a)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := res["docker:index/image:Image/kcat-image"]; ok {
		t.Error("built an image although Image is given")
	}
	sec := res["kubernetes:core/v1:Secret/kcat-config"]
	if sec == nil || !strings.Contains(sec["stringData"].String(), "sasl.username=admin") {
		t.Errorf("config Secret %v", sec)
	}
	if exec != "kubectl -n tools exec deploy/kafka-cat -- kcat -F /etc/kcat/kcat.conf -L -b kafka-svc:9095" {
		t.Errorf("ExecCommand %q", exec)
	}
	spec := res["kubernetes:apps/v1:Deployment/kcat"]["spec"].ObjectValue()["template"].ObjectValue()["spec"].ObjectValue()
	if !strings.Contains(spec["imagePullSecrets"].String(), "pull") {
		t.Errorf("pull secrets %v", spec["imagePullSecrets"])
	}
}

func TestValidateNamesTheField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*Args)
		want   string
	}{
		{"namespace", func(a *Args) { a.Namespace = nil }, "kcatclient.Args.Namespace is required"},
		{"instance", func(a *Args) { a.Instance = "" }, `kcatclient.Args.Instance = "": must be a label value`},
		{"bootstrap", func(a *Args) { a.BootstrapServers = nil }, "kcatclient.Args.BootstrapServers is required"},
		{"registry", func(a *Args) { a.Registry = nil }, "kcatclient.Args.Registry is required when Image is not set"},
		{"config", func(a *Args) { a.ClientConfig = map[string]string{"kcat.conf": ""} }, "kcatclient.Args.ClientConfig and ClientConfigSecret go together"},
	}
	if err := minimal().Validate(); err != nil {
		t.Fatalf("valid args: %v", err)
	}
	for _, tt := range tests {
		a := minimal()
		tt.change(&a)
		if err := a.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Validate() = %v, want %q", tt.name, err, tt.want)
		}
		if _, _, err := deploy(t, &a); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: New did not refuse: %v", tt.name, err)
		}
	}
}
