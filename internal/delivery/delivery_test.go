package delivery

import (
	"strings"
	"testing"

	"github.com/kafka-kraft/kafka-kraft/internal/kraft"
)

// cluster is the Kafka side the delivery settings are checked against (brokers on 31090-31092).
var cluster = kraft.Defaults("kafka-kraft", "dev")

func testConfig(mutate func(*Config)) Config {
	c := Defaults()
	if mutate != nil {
		mutate(&c)
	}
	return c
}

func TestValidateRejects(t *testing.T) {
	t.Parallel()
	const (
		byteQty  = "must be a positive Kubernetes byte quantity"
		imageRef = "must be an image reference"
	)
	tests := []struct {
		name   string
		mutate func(*Config)
		// wantKey is the config key every reported problem must name (quoted, as users type it).
		wantKey string
		// wantText is the part of the message that says what is allowed.
		wantText string
	}{
		{name: "registry node port colliding with a broker's", mutate: func(c *Config) { c.Registry.NodePort = 31091 }, wantKey: KeyRegistryNodePort, wantText: "collides with the broker node ports 31090-31092"},
		{name: "registry node port out of range", mutate: func(c *Config) { c.Registry.NodePort = 5000 }, wantKey: KeyRegistryNodePort, wantText: "must be within 30000-32767"},
		{name: "registry node port above the range", mutate: func(c *Config) { c.Registry.NodePort = 40000 }, wantKey: KeyRegistryNodePort, wantText: "must be within 30000-32767"},
		{name: "registry size in GB", mutate: func(c *Config) { c.Registry.Size = "2GB" }, wantKey: KeyRegistrySize, wantText: byteQty},
		{name: "prebuilt image with a space", mutate: func(c *Config) { c.Image.Prebuilt = "my image:1" }, wantKey: KeyImage, wantText: imageRef},
		{name: "prebuilt image with a short digest", mutate: func(c *Config) { c.Image.Prebuilt = "kafka@sha256:abc" }, wantKey: KeyImage, wantText: imageRef},
		{name: "base image with a space", mutate: func(c *Config) { c.Image.BaseImage = "eclipse temurin" }, wantKey: KeyBaseImage, wantText: "must be an image reference of a Java 17+ runtime"},
		{name: "registry image empty", mutate: func(c *Config) { c.Registry.Image = "" }, wantKey: KeyRegistryImage, wantText: imageRef},
		{name: "dist source ftp", mutate: func(c *Config) { c.Image.DistSource = "ftp" }, wantKey: KeyDistSource, wantText: `must be "apache" (download from the Apache site) or "context"`},
		{name: "image repository with capitals", mutate: func(c *Config) { c.Image.Repository = "Kafka-Kraft" }, wantKey: KeyImageRepository, wantText: "must be a lower-case repository name"},
		{name: "empty image context", mutate: func(c *Config) { c.Image.Context = "" }, wantKey: KeyImageContext, wantText: "must be the docker build context directory"},
		{name: "bad kcat image with kcat enabled", mutate: func(c *Config) { c.Kcat.Image = "kcat image" }, wantKey: KeyKcatImage, wantText: "must be an image reference such as registry.example.com/kcat:1.7.1"},
		{name: "existing registry with a space and a port past 65535", mutate: func(c *Config) { c.Registry.Existing = "bad host:99999" }, wantKey: KeyRegistry, wantText: "must be host or host:port of an existing registry"},
		{name: "existing registry port past 65535", mutate: func(c *Config) { c.Registry.Existing = "registry.example.com:99999" }, wantKey: KeyRegistry, wantText: "must be host or host:port"},
		{name: "existing registry without a host", mutate: func(c *Config) { c.Registry.Existing = ":5000" }, wantKey: KeyRegistry, wantText: "must be host or host:port"},
		{name: "existing registry given as a URL", mutate: func(c *Config) { c.Registry.Existing = "https://registry.example.com" }, wantKey: KeyRegistry, wantText: "must be host or host:port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := testConfig(tt.mutate).Validate(cluster)
			if err == nil {
				t.Fatalf("Validate() = nil, want an error naming %q", tt.wantKey)
			}
			msg := err.Error()
			for _, line := range strings.Split(msg, "\n") {
				if !strings.Contains(line, `config "`+tt.wantKey+`"`) {
					t.Errorf("problem %q does not name config %q", line, tt.wantKey)
				}
			}
			if !strings.Contains(msg, tt.wantText) {
				t.Errorf("Validate() = %q\nwant it to say %q", msg, tt.wantText)
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*Config)
	}{
		{name: "defaults"},
		{name: "existing registry with a port", mutate: func(c *Config) { c.Registry.Existing = "registry.example.com:5000" }},
		{name: "existing registry as an IP", mutate: func(c *Config) { c.Registry.Existing = "10.0.0.5" }},
		{name: "offline dist source", mutate: func(c *Config) { c.Image.DistSource = DistSourceContext }},
		{name: "kcat disabled ignores its image", mutate: func(c *Config) { c.Kcat.Enabled, c.Kcat.Image = false, "" }},
		{name: "registry node port next to the broker range", mutate: func(c *Config) { c.Registry.NodePort = 31093 }},
		{name: "existing registry ignores the unused in-cluster settings", mutate: func(c *Config) {
			c.Registry.Existing = "localhost:5000"
			c.Registry.NodePort, c.Registry.Image, c.Registry.Size = 0, "", ""
		}},
		{name: "prebuilt image pinned by digest", mutate: func(c *Config) {
			c.Image.Prebuilt = "registry.example.com/kafka-kraft:4.4.0@sha256:" + strings.Repeat("ab", 32)
		}},
		{name: "prebuilt image skips the build settings", mutate: func(c *Config) {
			c.Image.Prebuilt = "example.com/kafka:4"
			c.Image.DistSource, c.Image.Context = "ftp", ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := testConfig(tt.mutate).Validate(cluster); err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
		})
	}
}

func TestFromSettings(t *testing.T) {
	t.Parallel()
	get := func(m map[string]string) kraft.Lookup {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	c, err := FromSettings(get(map[string]string{
		KeyRegistry: "registry.example.com:5000", KeyRegistryImage: "registry:3", KeyRegistryNodePort: " 31600 ",
		KeyRegistrySize: "5Gi", KeyImage: "example.com/kafka:1", KeyImageRepository: "kafka", KeyBaseImage: "eclipse-temurin:17-jre",
		KeyDistSource: "context", KeyImageContext: "./img", KeyKcatEnabled: " false ", KeyKcatImage: "example.com/kcat:1",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Registry: Registry{Existing: "registry.example.com:5000", Image: "registry:3", NodePort: 31600, Size: "5Gi"},
		Image:    Image{Prebuilt: "example.com/kafka:1", Repository: "kafka", BaseImage: "eclipse-temurin:17-jre", DistSource: "context", Context: "./img"},
		Kcat:     Kcat{Enabled: false, Image: "example.com/kcat:1"},
	}
	if c != want {
		t.Errorf("FromSettings() = %+v\nwant %+v", c, want)
	}
	if c, err := FromSettings(get(nil)); err != nil || c != Defaults() {
		t.Errorf("FromSettings(nothing) = %+v, %v; want the defaults", c, err)
	}
	_, err = FromSettings(get(map[string]string{KeyRegistryNodePort: "31500/tcp", KeyKcatEnabled: "yes"}))
	if err == nil || !strings.Contains(err.Error(), `config "registryNodePort" = "31500/tcp": must be a whole number`) ||
		!strings.Contains(err.Error(), `config "kcat" = "yes": must be true or false`) {
		t.Errorf("FromSettings() = %v, want both malformed values named", err)
	}
}

func TestRegistryAddressAndImageName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		mutate    func(*Config)
		wantAddr  string
		wantImage string
	}{
		{name: "in-cluster registry on its node port", wantAddr: "localhost:31500", wantImage: "localhost:31500/kafka-kraft:4.4.0"},
		{
			name:      "existing registry",
			mutate:    func(c *Config) { c.Registry.Existing = "registry.example.com:5000" },
			wantAddr:  "registry.example.com:5000",
			wantImage: "registry.example.com:5000/kafka-kraft:4.4.0",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := testConfig(tt.mutate)
			if got := RegistryAddress(c); got != tt.wantAddr {
				t.Errorf("RegistryAddress() = %q, want %q", got, tt.wantAddr)
			}
			if got := ImageName(c, kraft.DefaultKafkaVersion); got != tt.wantImage {
				t.Errorf("ImageName() = %q, want %q", got, tt.wantImage)
			}
		})
	}
}
