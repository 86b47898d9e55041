// Package kafkaimage is the KafkaImage component: it builds the Kafka image from docker/ and pushes
// it to the registry, and returns the reference pinned by digest.
package kafkaimage

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kafka-kraft/kafka-kraft/internal/kraft"
)

// TypeToken is the component's Pulumi type.
const TypeToken = "kafka-kraft:index:KafkaImage"

// Defaults of Args.
const (
	DefaultRepository = "kafka-kraft"
	DefaultBaseImage  = "eclipse-temurin:21.0.8_9-jre-noble"
	DefaultDistSource = "apache"
	DefaultContext    = "./docker"
)

// Args configures the build. A zero field takes the default its comment names.
type Args struct {
	// Registry is the address to push to (host[:port]). Required; pass the Registry component's
	// Address output so the push waits for the registry.
	Registry pulumi.StringInput
	// RegistryAuth are the push credentials when the registry takes any. Default nil: none.
	RegistryAuth *docker.RegistryArgs
	// Repository is the image's repository in the registry: <Registry>/<Repository>:<KafkaVersion>.
	// Default DefaultRepository.
	Repository string
	// KafkaVersion is the Kafka release built in. Required: one of the releases this module
	// knows (4.3.1, 4.4.0), so the rest of the program knows its settings.
	KafkaVersion string
	// BaseImage is any Debian/Ubuntu-based image with Java 17+. Default DefaultBaseImage.
	BaseImage string
	// DistSource is where the Kafka jars come from: "apache" (the Apache archive, checksum
	// verified) or "context" (dist/ in the build context, scripts/fetch-kafka-dist.sh). Default
	// DefaultDistSource.
	DistSource string
	// Context is the Docker build context: this repository's docker/ folder. Default
	// DefaultContext (relative to the program's working directory).
	Context string
}

func (a Args) withDefaults() Args {
	if a.Repository == "" {
		a.Repository = DefaultRepository
	}
	if a.BaseImage == "" {
		a.BaseImage = DefaultBaseImage
	}
	if a.DistSource == "" {
		a.DistSource = DefaultDistSource
	}
	if a.Context == "" {
		a.Context = DefaultContext
	}
	return a
}

// Validate checks the fields after the defaults, naming the field and what it allows.
func (a Args) Validate() error {
	a = a.withDefaults()
	var errs []error
	if a.Registry == nil {
		errs = append(errs, errors.New("kafkaimage.Args.Registry is required"))
	}
	if _, ok := kraft.Releases[a.KafkaVersion]; !ok {
		errs = append(errs, fmt.Errorf("kafkaimage.Args.KafkaVersion = %q: must be one of %s", a.KafkaVersion, strings.Join(kraft.ReleaseVersions(), ", ")))
	}
	if a.DistSource != "apache" && a.DistSource != "context" {
		errs = append(errs, fmt.Errorf("kafkaimage.Args.DistSource = %q: must be \"apache\" (download from the Apache site) or \"context\" (dist/ in the build context)", a.DistSource))
	}
	if strings.ContainsAny(a.Repository, " :@") || a.Repository != strings.ToLower(a.Repository) {
		errs = append(errs, fmt.Errorf("kafkaimage.Args.Repository = %q: must be a lower-case repository path without a tag or digest", a.Repository))
	}
	return errors.Join(errs...)
}

// KafkaImage is a built and pushed Kafka image.
type KafkaImage struct {
	pulumi.ResourceState

	// Ref is the pushed image pinned by digest (repo@sha256:...). Pods use it, so a rebuilt image
	// with new content rolls them and an unchanged rebuild (same digest) does not. Example:
	// "localhost:31500/kafka-kraft@sha256:0123...".
	Ref pulumi.StringOutput `pulumi:"ref"`
}

// BuildArgs are the Dockerfile's build arguments for args (see docker/Dockerfile).
func BuildArgs(args Args) map[string]string {
	a := args.withDefaults()
	return map[string]string{
		"BASE_IMAGE":        a.BaseImage,
		"KAFKA_VERSION":     a.KafkaVersion,
		"KAFKA_DIST_SOURCE": a.DistSource,
	}
}

// New builds and pushes the image.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*KafkaImage, error) {
	if args == nil {
		return nil, errors.New("kafkaimage.New: args are required")
	}
	if err := args.Validate(); err != nil {
		return nil, err
	}
	a := args.withDefaults()
	k := &KafkaImage{}
	if err := ctx.RegisterComponentResource(TypeToken, name, k, opts...); err != nil {
		return nil, err
	}
	imageName := a.Registry.ToStringOutput().ApplyT(func(reg string) string {
		return fmt.Sprintf("%s/%s:%s", reg, a.Repository, a.KafkaVersion)
	}).(pulumi.StringOutput)

	img, err := docker.NewImage(ctx, name, &docker.ImageArgs{
		ImageName: imageName,
		Build: &docker.DockerBuildArgs{
			Context:    pulumi.String(a.Context),
			Dockerfile: pulumi.String(filepath.Join(a.Context, "Dockerfile")),
			Args:       pulumi.ToStringMap(BuildArgs(a)),
		},
		Registry: a.RegistryAuth,
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
