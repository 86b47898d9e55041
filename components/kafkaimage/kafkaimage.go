// Package kafkaimage is the KafkaImage component: it builds the Kafka image from docker/ and pushes
// it to the registry, and returns the reference pinned by digest.
package kafkaimage

import (
	"fmt"
	"path/filepath"

	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kafka-kraft/kafka-kraft/internal/kraft"
)

// TypeToken is the component's Pulumi type.
const TypeToken = "kafka-kraft:index:KafkaImage"

// Args configures the build.
type Args struct {
	// Config is the validated stack configuration; Image and the registry address come from it.
	Config kraft.Config
	// Registry is the address to push to (host:port), an output of the Registry component when one
	// is deployed, so the push waits for it.
	Registry pulumi.StringInput
	// RegistryAuth are the push credentials when the registry takes any (nil: none).
	RegistryAuth *docker.RegistryArgs
}

// KafkaImage is a built and pushed Kafka image.
type KafkaImage struct {
	pulumi.ResourceState

	// Ref is the pushed image pinned by digest (repo@sha256:...). Pods use it, so a rebuilt image
	// with new content rolls them and an unchanged rebuild (same digest) does not.
	Ref pulumi.StringOutput `pulumi:"ref"`
}

// BuildArgs are the Dockerfile's build arguments for a Config (see docker/Dockerfile).
func BuildArgs(c kraft.Config) map[string]string {
	return map[string]string{
		"BASE_IMAGE":        c.Image.BaseImage,
		"KAFKA_VERSION":     c.Image.KafkaVersion,
		"KAFKA_DIST_SOURCE": c.Image.DistSource,
	}
}

// New builds and pushes the image.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*KafkaImage, error) {
	k := &KafkaImage{}
	if err := ctx.RegisterComponentResource(TypeToken, name, k, opts...); err != nil {
		return nil, err
	}
	c := args.Config
	imageName := args.Registry.ToStringOutput().ApplyT(func(reg string) string {
		return fmt.Sprintf("%s/%s:%s", reg, c.Image.Repository, c.Image.KafkaVersion)
	}).(pulumi.StringOutput)

	img, err := docker.NewImage(ctx, name, &docker.ImageArgs{
		ImageName: imageName,
		Build: &docker.DockerBuildArgs{
			Context:    pulumi.String(c.Image.Context),
			Dockerfile: pulumi.String(filepath.Join(c.Image.Context, "Dockerfile")),
			Args:       pulumi.ToStringMap(BuildArgs(c)),
		},
		Registry: args.RegistryAuth,
	}, pulumi.Parent(k))
	if err != nil {
		return nil, fmt.Errorf("kafka image: %w", err)
	}
	k.Ref = img.RepoDigest
	if err := ctx.RegisterResourceOutputs(k, pulumi.Map{"ref": k.Ref}); err != nil {
		return nil, err
	}
	return k, nil
}
