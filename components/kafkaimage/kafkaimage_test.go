package kafkaimage

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kafka-kraft/kafka-kraft/internal/delivery"
	"github.com/kafka-kraft/kafka-kraft/internal/pulumitest"
)

func deploy(t *testing.T, args *Args) (pulumitest.Resources, error) {
	t.Helper()
	return pulumitest.Run(t, func(ctx *pulumi.Context) error {
		_, err := New(ctx, "kafka-image", args)
		return err
	}, map[string]resource.PropertyMap{"docker:index/image:Image": {"repoDigest": resource.NewStringProperty("localhost:31500/kafka-kraft@sha256:abc")}})
}

// The defaults are the stack's: a program that leaves a field empty builds what `pulumi up` builds.
func TestDefaultsAreTheStacks(t *testing.T) {
	t.Parallel()
	c := delivery.Defaults()
	if DefaultRepository != c.Image.Repository || DefaultBaseImage != c.Image.BaseImage || DefaultDistSource != c.Image.DistSource || DefaultContext != c.Image.Context {
		t.Errorf("defaults %q %q %q %q differ from the stack's %+v", DefaultRepository, DefaultBaseImage, DefaultDistSource, DefaultContext, c.Image)
	}
}

func TestBuildWithDefaults(t *testing.T) {
	t.Parallel()
	res, err := deploy(t, &Args{Registry: pulumi.String("localhost:31500"), KafkaVersion: "4.4.0"})
	if err != nil {
		t.Fatal(err)
	}
	img := res["docker:index/image:Image/kafka-image"]
	if name := img["imageName"].StringValue(); name != "localhost:31500/kafka-kraft:4.4.0" {
		t.Errorf("imageName %q", name)
	}
	build := img["build"].ObjectValue()
	if ctx := build["context"].StringValue(); ctx != DefaultContext {
		t.Errorf("context %q", ctx)
	}
	args := build["args"].ObjectValue()
	if args["KAFKA_VERSION"].StringValue() != "4.4.0" || args["KAFKA_DIST_SOURCE"].StringValue() != "apache" || args["BASE_IMAGE"].StringValue() != DefaultBaseImage {
		t.Errorf("build args %v", args)
	}
}

func TestValidateNamesTheField(t *testing.T) {
	t.Parallel()
	ok := Args{Registry: pulumi.String("r:1"), KafkaVersion: "4.4.0"}
	tests := []struct {
		name   string
		change func(*Args)
		want   string
	}{
		{"registry", func(a *Args) { a.Registry = nil }, "kafkaimage.Args.Registry is required"},
		{"version", func(a *Args) { a.KafkaVersion = "3.9.0" }, `kafkaimage.Args.KafkaVersion = "3.9.0": must be one of 4.3.1, 4.4.0`},
		{"no version", func(a *Args) { a.KafkaVersion = "" }, `kafkaimage.Args.KafkaVersion = "": must be one of`},
		{"dist source", func(a *Args) { a.DistSource = "git" }, `kafkaimage.Args.DistSource = "git": must be "apache"`},
		{"repository", func(a *Args) { a.Repository = "Kafka:latest" }, `kafkaimage.Args.Repository = "Kafka:latest": must be a lower-case repository path`},
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
		if _, err := deploy(t, &a); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: New did not refuse: %v", tt.name, err)
		}
	}
}
