// Package delivery is the pure part of how the Kafka image reaches the nodes: the in-cluster
// registry or an existing one, the image build, and the kcat client. These are the program's
// settings, not Kafka's (internal/kraft keeps those): defaults, parsing from the stack's config,
// validation naming the config key, and the names derived from them. No Pulumi, no I/O.
package delivery

import (
	"errors"
	"fmt"
	"net"
	"regexp"

	"github.com/kafka-kraft/kafka-kraft/internal/kraft"
)

// Config keys (without the project prefix) of the delivery settings.
const (
	KeyRegistry         = "registry"
	KeyRegistryImage    = "registryImage"
	KeyRegistryNodePort = "registryNodePort"
	KeyRegistrySize     = "registrySize"
	KeyImage            = "image"
	KeyImageRepository  = "imageRepository"
	KeyBaseImage        = "baseImage"
	KeyDistSource       = "kafkaDistSource"
	KeyImageContext     = "imageContext"
	KeyKcatEnabled      = "kcat"
	KeyKcatImage        = "kcatImage"
)

// Defaults; the README configuration table lists the same values.
const (
	DefaultRegistryImage    = "registry:2.8.3"
	DefaultRegistryNodePort = 31500
	DefaultRegistrySize     = "2Gi"
	DefaultImageRepository  = "kafka-kraft"
	DefaultBaseImage        = "eclipse-temurin:21.0.8_9-jre-noble"
	DefaultDistSource       = DistSourceApache
	DefaultImageContext     = "./docker"
	// DefaultKcatImage is empty: the program builds docker/kcat (kcat with librdkafka 2.8 from
	// Debian). Published kcat images ship a librdkafka older than 2.6.1, whose SCRAM fails against
	// Kafka 4.x brokers (edenhill/kcat#462).
	DefaultKcatImage = ""

	DistSourceApache  = "apache"
	DistSourceContext = "context"
)

// Config is how the Kafka image is obtained and delivered.
type Config struct {
	// Registry is the in-cluster registry, or an existing one.
	Registry Registry
	// Image selects how the Kafka image is obtained.
	Image Image
	// Kcat is the optional kcat client Deployment.
	Kcat Kcat
}

// Registry configures the in-cluster container registry.
type Registry struct {
	// Existing names a registry (host[:port]) to use instead of deploying one. Default "" (deploy one).
	Existing string
	// Image of the registry server. Default DefaultRegistryImage.
	Image string
	// NodePort exposes the registry on every node. Default DefaultRegistryNodePort.
	NodePort int
	// Size of the registry's volume. Default DefaultRegistrySize.
	Size string
}

// Image configures the Kafka image (its Kafka release is kraft.Config.KafkaVersion).
type Image struct {
	// Prebuilt is a ready image reference; when set nothing is built. Default "".
	Prebuilt string
	// Repository name inside the registry. Default DefaultImageRepository.
	Repository string
	// BaseImage is the JRE base image build argument. Default DefaultBaseImage.
	BaseImage string
	// DistSource is where the Kafka distribution comes from: DistSourceApache (download and verify
	// the release from the Apache site; default) or DistSourceContext (docker/dist in the build
	// context, for offline builds).
	DistSource string
	// Context is the docker build context directory. Default DefaultImageContext.
	Context string
}

// Kcat configures the kcat client.
type Kcat struct {
	// Enabled deploys the kafka-cat Deployment. Default true.
	Enabled bool
	// Image with kcat installed. Default DefaultKcatImage: built from <imageContext>/kcat and pushed
	// to the registry, like the Kafka image.
	Image string
}

// Keys lists the delivery config keys, in README order.
var Keys = []string{
	KeyRegistry, KeyRegistryImage, KeyRegistryNodePort, KeyRegistrySize,
	KeyImage, KeyImageRepository, KeyBaseImage, KeyDistSource, KeyImageContext,
	KeyKcatEnabled, KeyKcatImage,
}

// Defaults returns the delivery settings of a stack that sets none.
func Defaults() Config {
	return Config{
		Registry: Registry{Image: DefaultRegistryImage, NodePort: DefaultRegistryNodePort, Size: DefaultRegistrySize},
		Image: Image{Repository: DefaultImageRepository, BaseImage: DefaultBaseImage, DistSource: DefaultDistSource,
			Context: DefaultImageContext},
		Kcat: Kcat{Enabled: true, Image: DefaultKcatImage},
	}
}

// FromSettings builds the delivery settings from raw config values: Defaults, overridden by every
// key that is set; values of the wrong type are refused naming the key (as kraft.FromSettings).
func FromSettings(get kraft.Lookup) (Config, error) {
	c := Defaults()
	r := kraft.NewReader(get)
	r.String(KeyRegistry, &c.Registry.Existing)
	r.String(KeyRegistryImage, &c.Registry.Image)
	r.Int(KeyRegistryNodePort, &c.Registry.NodePort)
	r.String(KeyRegistrySize, &c.Registry.Size)
	r.String(KeyImage, &c.Image.Prebuilt)
	r.String(KeyImageRepository, &c.Image.Repository)
	r.String(KeyBaseImage, &c.Image.BaseImage)
	r.String(KeyDistSource, &c.Image.DistSource)
	r.String(KeyImageContext, &c.Image.Context)
	r.Bool(KeyKcatEnabled, &c.Kcat.Enabled)
	r.String(KeyKcatImage, &c.Kcat.Image)
	return c, r.Err()
}

var (
	// imageRef is a pragmatic docker reference check: [registry/]path[:tag][@sha256:hex].
	imageRef = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._:/-]*(:[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127})?(@sha256:[a-f0-9]{64})?$`)
	repoName = regexp.MustCompile(`^[a-z0-9]+([._/-][a-z0-9]+)*$`)
)

// IsImageReference reports whether s looks like a docker image reference.
func IsImageReference(s string) bool { return imageRef.MatchString(s) }

// Validate checks the delivery settings of a stack whose Kafka settings are k (the registry's
// NodePort must not collide with the brokers') and returns one error listing every problem, each
// naming the config key, the value and what is allowed.
func (c Config) Validate(k kraft.Config) error {
	var errs []error
	bad := func(key string, value any, format string, args ...any) {
		if s, ok := value.(string); ok {
			value = fmt.Sprintf("%q", s)
		}
		errs = append(errs, fmt.Errorf("%s = %v: %s", kraft.ConfigKeyName(key), value, fmt.Sprintf(format, args...)))
	}
	extLast := k.ExternalNodePortBase + max(k.Replicas, 1) - 1
	if c.Registry.Existing == "" {
		if c.Registry.NodePort < kraft.MinNodePort || c.Registry.NodePort > kraft.MaxNodePort {
			bad(KeyRegistryNodePort, c.Registry.NodePort, "must be within %d-%d", kraft.MinNodePort, kraft.MaxNodePort)
		} else if c.Registry.NodePort >= k.ExternalNodePortBase && c.Registry.NodePort <= extLast {
			bad(KeyRegistryNodePort, c.Registry.NodePort, "collides with the broker node ports %d-%d (%s)",
				k.ExternalNodePortBase, extLast, kraft.KeyExternalNodePortBase)
		}
		if !imageRef.MatchString(c.Registry.Image) {
			bad(KeyRegistryImage, c.Registry.Image, "must be an image reference such as registry:2.8.3")
		}
		if !kraft.IsByteQuantity(c.Registry.Size) {
			bad(KeyRegistrySize, c.Registry.Size, "must be a positive Kubernetes byte quantity such as 2Gi or 500Mi")
		}
	} else if !validHostPort(c.Registry.Existing) {
		bad(KeyRegistry, c.Registry.Existing, "must be host or host:port of an existing registry, such as registry.example.com:5000")
	}
	if c.Image.Prebuilt != "" {
		if !imageRef.MatchString(c.Image.Prebuilt) {
			bad(KeyImage, c.Image.Prebuilt, "must be an image reference such as registry.example.com/kafka-kraft:4.4.0 or name@sha256:<digest>")
		}
	} else {
		if !imageRef.MatchString(c.Image.BaseImage) {
			bad(KeyBaseImage, c.Image.BaseImage, "must be an image reference of a Java 17+ runtime, such as %s", DefaultBaseImage)
		}
		if c.Image.DistSource != DistSourceApache && c.Image.DistSource != DistSourceContext {
			bad(KeyDistSource, c.Image.DistSource, "must be %q (download from the Apache site) or %q (docker/dist in the build context)", DistSourceApache, DistSourceContext)
		}
		if !repoName.MatchString(c.Image.Repository) {
			bad(KeyImageRepository, c.Image.Repository, "must be a lower-case repository name such as kafka-kraft")
		}
		if c.Image.Context == "" {
			bad(KeyImageContext, c.Image.Context, "must be the docker build context directory, such as ./docker")
		}
	}
	if c.Kcat.Enabled && c.Kcat.Image != "" && !imageRef.MatchString(c.Kcat.Image) {
		bad(KeyKcatImage, c.Kcat.Image, "must be an image reference such as registry.example.com/kcat:1.7.1 (with librdkafka 2.6.1 or later for SCRAM against Kafka 4), or unset to build docker/kcat")
	}
	return errors.Join(errs...)
}

func validHostPort(s string) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		host, port = s, ""
	}
	if port != "" {
		var p int
		if _, err := fmt.Sscanf(port, "%d", &p); err != nil || p < 1 || p > 65535 || fmt.Sprint(p) != port {
			return false
		}
	}
	return host != "" && (net.ParseIP(host) != nil || kraft.IsDNSName(host))
}

// RegistryAddress is the registry that images are pushed to and pulled from: the existing one, or
// the in-cluster registry's NodePort on localhost (every node answers it, and containerd pulls from
// localhost over plain HTTP without extra configuration).
func RegistryAddress(c Config) string {
	if c.Registry.Existing != "" {
		return c.Registry.Existing
	}
	return fmt.Sprintf("localhost:%d", c.Registry.NodePort)
}

// ImageName is the tag the KafkaImage component builds and pushes for Kafka release kafkaVersion.
func ImageName(c Config, kafkaVersion string) string {
	return fmt.Sprintf("%s/%s:%s", RegistryAddress(c), c.Image.Repository, kafkaVersion)
}
