// Package stack is the kafka-kraft program: it reads the stack's configuration, refuses bad or unsafe
// settings before creating anything, composes the four components and exports the outputs.
// main.go runs it with pulumi.Run; the tests and the Automation API run the same function.
package stack

import (
	"cmp"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/kafka-kraft/kafka-kraft/components/kafkaimage"
	"github.com/kafka-kraft/kafka-kraft/components/kcatclient"
	"github.com/kafka-kraft/kafka-kraft/components/kraftcluster"
	"github.com/kafka-kraft/kafka-kraft/components/registry"
	"github.com/kafka-kraft/kafka-kraft/internal/clientauth"
	"github.com/kafka-kraft/kafka-kraft/internal/delivery"
	"github.com/kafka-kraft/kafka-kraft/internal/kraft"
	"github.com/kafka-kraft/kafka-kraft/internal/pki"
	"github.com/kafka-kraft/kafka-kraft/internal/scaledown"
)

// Output names, shared with the smoke test and the end-to-end tests.
const (
	OutputBootstrapServers         = "bootstrapServers"
	OutputExternalBootstrapServers = "externalBootstrapServers"
	OutputRegistry                 = "registry"
	OutputImage                    = "image"
	OutputNamespace                = "namespace"
	OutputClusterID                = "clusterId"
	OutputKcatCommand              = "kcatCommand"
	// OutputDeployed records the settings a running cluster cannot change safely; the next update
	// reads it back to refuse such changes (see kraft.CheckTransition).
	OutputDeployed = "deployed"
	// OutputSecurityState is the stack's secret material (internal/pki.State: the CA and its key,
	// the admin password, generated user passwords), a secret output: the next update reads it
	// back, so the CA and the passwords stay the same from update to update.
	OutputSecurityState = "securityState"
	// OutputCACertificate is the cluster CA (PEM) clients verify the brokers with.
	OutputCACertificate = "caCertificate"
	// OutputAdminUser and OutputAdminPassword (secret) are the SCRAM super user's credentials;
	// OutputUserPasswords (secret) the passwords of the users, by name.
	OutputAdminUser     = "adminUser"
	OutputAdminPassword = "adminPassword"
	OutputUserPasswords = "userPasswords"
	// OutputRegistryUser and OutputRegistryPassword (secret) log in to the in-cluster registry.
	OutputRegistryUser     = "registryUser"
	OutputRegistryPassword = "registryPassword"
	// OutputSecurityProtocol is what a client outside the cluster sets as security.protocol.
	OutputSecurityProtocol = "securityProtocol"
)

// Settings are everything a stack sets: the Kafka cluster (the pure core's kraft.Config) and how
// its image reaches the nodes (registry, image build, kcat: delivery.Config).
type Settings struct {
	kraft.Config
	Delivery delivery.Config
}

// Keys lists every config key the program reads: the cluster's, then the delivery settings'.
func Keys() []string { return append(slices.Clone(kraft.Keys), delivery.Keys...) }

// ParseSettings builds and validates the Settings from raw config values.
func ParseSettings(project, stack string, get kraft.Lookup) (Settings, error) {
	c, err := kraft.FromSettings(project, stack, get)
	d, derr := delivery.FromSettings(get)
	s := Settings{Config: c, Delivery: d}
	if err := errors.Join(err, derr); err != nil {
		return s, err
	}
	return s, errors.Join(c.Validate(), d.Validate(c))
}

// LoadConfig reads and validates the stack configuration.
func LoadConfig(ctx *pulumi.Context) (Settings, error) {
	cfg := config.New(ctx, "")
	return ParseSettings(ctx.Project(), ctx.Stack(), func(key string) (string, bool) {
		v, err := cfg.Try(key)
		return v, err == nil
	})
}

// Outputs are the stack outputs Deploy produces, before they are exported.
type Outputs struct {
	Config                   Settings
	BootstrapServers         pulumi.StringOutput
	ExternalBootstrapServers pulumi.StringOutput
	Registry                 pulumi.StringOutput
	Image                    pulumi.StringOutput
	Namespace                pulumi.StringOutput
	ClusterID                pulumi.StringOutput
	KcatCommand              pulumi.StringOutput
	// Settled resolves once the cluster runs Config (kraftcluster.KraftCluster.Settled).
	Settled pulumi.StringOutput
	// Security is the stack's secret material after this update.
	Security pki.State
}

// Program is the Pulumi program: Deploy, then export the outputs.
func Program(ctx *pulumi.Context) error {
	out, err := Deploy(ctx)
	if err != nil {
		return err
	}
	d := kraft.DeployedOf(out.Config.Config)
	ctx.Export(OutputBootstrapServers, out.BootstrapServers)
	ctx.Export(OutputExternalBootstrapServers, out.ExternalBootstrapServers)
	ctx.Export(OutputRegistry, out.Registry)
	ctx.Export(OutputImage, out.Image)
	ctx.Export(OutputNamespace, out.Namespace)
	ctx.Export(OutputClusterID, out.ClusterID)
	ctx.Export(OutputKcatCommand, out.KcatCommand)
	ctx.Export(OutputSecurityState, pulumi.ToSecret(pulumi.String(out.Security.JSON())))
	if out.Config.Delivery.Registry.Existing == "" {
		ctx.Export(OutputRegistryUser, pulumi.String(pki.RegistryUser))
		ctx.Export(OutputRegistryPassword, pulumi.ToSecret(pulumi.String(out.Security.RegistryPassword)))
	}
	if out.Config.Security.Enabled() {
		ctx.Export(OutputSecurityProtocol, pulumi.String("SASL_SSL"))
		ctx.Export(OutputCACertificate, pulumi.String(out.Security.CACert))
		ctx.Export(OutputAdminUser, pulumi.String(kraft.AdminUser))
		ctx.Export(OutputAdminPassword, pulumi.ToSecret(pulumi.String(out.Security.AdminPassword)))
		passwords := pulumi.StringMap{}
		for name, u := range out.Config.Security.Users {
			passwords[name] = pulumi.String(cmp.Or(u.Password, out.Security.Passwords[name]))
		}
		ctx.Export(OutputUserPasswords, pulumi.ToSecret(passwords))
	} else {
		ctx.Export(OutputSecurityProtocol, pulumi.String("PLAINTEXT"))
	}
	// The broker count and the release are recorded only once the cluster runs them (Settled): an
	// update that fails after a scale-down moved the replicas but before the StatefulSet shrank
	// must not record the smaller count, or the next update would shrink without moving what was
	// written to the removed brokers meanwhile (and a failed upgrade would refuse going back).
	// The Pulumi CLI pinned here keeps every previous output of a failed update anyway (checked by
	// hand, 27 Nov 2026); this keeps it so whatever the CLI does with outputs registered before.
	settled := func(v pulumi.Input) pulumi.Output {
		return pulumi.All(out.Settled, v).ApplyT(func(xs []any) any { return xs[1] })
	}
	ctx.Export(OutputDeployed, pulumi.Map{
		"replicas":     settled(pulumi.Int(d.Replicas)),
		"controllers":  pulumi.Int(d.Controllers),
		"clusterId":    pulumi.String(d.ClusterID),
		"namespace":    pulumi.String(d.Namespace),
		"storageClass": pulumi.String(d.StorageClass),
		"storageSize":  pulumi.String(d.StorageSize),
		"hostPath":     pulumi.String(d.HostPath),
		// Per ordinal, how often a scale-down removed its broker (kraft.BrokerVolume).
		"volumeGenerations": pulumi.ToIntArray(append([]int{}, d.VolumeGenerations...)),
		// The release the nodes run: a later release older than its metadata.version is refused.
		"kafkaVersion": settled(pulumi.String(d.KafkaVersion)),
		"security":     settled(pulumi.String(d.Security)),
	})
	return nil
}

// Deploy validates the configuration, checks it against the running deployment and creates the
// resources.
func Deploy(ctx *pulumi.Context) (*Outputs, error) {
	settings, err := LoadConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("invalid configuration (nothing was changed):\n%w", err)
	}
	c, d := settings.Config, settings.Delivery
	prev, prevState, err := previousDeployment(ctx)
	if err != nil {
		return nil, err
	}
	if err := kraft.CheckTransition(prev, c); err != nil {
		return nil, fmt.Errorf("unsafe change refused (nothing was changed):\n%w", err)
	}
	if prev.Security == kraft.SecurityTLS && (prevState.CACert == "" || prevState.CAKey == "") {
		// A new CA would roll the nodes onto certificates the others do not trust (every node
		// cut off from the rest as it restarts), and new passwords would lock the clients out.
		return nil, fmt.Errorf("unsafe update refused (nothing was changed): the previous update ran with %s %q but its %q output (the cluster CA, its key and the passwords) is missing or unreadable; "+
			"restore it (pulumi stack export/import from a backup of the state) or deploy a new stack", kraft.KeySecurity, kraft.SecurityTLS, OutputSecurityState)
	}
	if prev.Replicas > c.Replicas {
		// Before any resource is registered: a refusal changes nothing, and the StatefulSet shrinks
		// only once the removed brokers hold no replica.
		if err := shrink(ctx, prev, prevState, c); err != nil {
			return nil, err
		}
	}
	sec, err := securityState(ctx, prevState, &c)
	if err != nil {
		return nil, err
	}
	c.VolumeGenerations = kraft.NextVolumeGenerations(prev, c.Replicas)

	ns, err := corev1.NewNamespace(ctx, c.Namespace, &corev1.NamespaceArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name:   pulumi.String(c.Namespace),
			Labels: pulumi.ToStringMap(kraft.Labels(c, "kafka-kraft")),
		},
	})
	if err != nil {
		return nil, fmt.Errorf("namespace %q: %w", c.Namespace, err)
	}
	namespace := ns.Metadata.Name().Elem()

	// The registry address is an output of the Registry component when one is deployed, so the
	// image push waits until the registry answers.
	registryAddr := pulumi.String(delivery.RegistryAddress(d)).ToStringOutput()
	var imageDeps []pulumi.Resource
	var pushAuth *docker.RegistryArgs
	if d.Registry.Existing == "" {
		// Our registry takes pushes and pulls with the stack's credentials only; the pods pull with
		// the pull secret. (An existing registry is the user's: its credentials are theirs too.)
		c.ImagePullSecret = registry.PullSecretName
		pushAuth = &docker.RegistryArgs{Server: registryAddr, Username: pulumi.String(pki.RegistryUser), Password: pulumi.ToSecret(pulumi.String(sec.RegistryPassword)).(pulumi.StringOutput)}
		reg, err := registry.New(ctx, "registry", &registry.Args{
			Namespace: namespace, Instance: c.Stack, Image: d.Registry.Image, NodePort: d.Registry.NodePort, Size: d.Registry.Size,
			StorageClass: c.Storage.Class, VolumeName: kraft.PersistentVolumeName(c, registry.Name+"-data"), HostPath: kraft.HostPathDir(c, registry.Name),
			Auth: &registry.Auth{
				Username: pki.RegistryUser, Password: sec.RegistryPassword, Htpasswd: sec.RegistryHtpasswd, SecretName: sec.Name("registry-auth", sec.RegistryHtpasswd),
			}})
		if err != nil {
			return nil, err
		}
		registryAddr = reg.Address
		imageDeps = append(imageDeps, reg)
	}

	image := pulumi.String(d.Image.Prebuilt).ToStringOutput()
	if d.Image.Prebuilt == "" {
		img, err := kafkaimage.New(ctx, "kafka-image", &kafkaimage.Args{Registry: registryAddr, RegistryAuth: pushAuth,
			Repository: d.Image.Repository, KafkaVersion: c.KafkaVersion, BaseImage: d.Image.BaseImage, DistSource: d.Image.DistSource, Context: d.Image.Context},
			pulumi.DependsOn(imageDeps))
		if err != nil {
			return nil, err
		}
		image = img.Ref
	}

	cluster, err := kraftcluster.New(ctx, "kafka", clusterArgs(c, image, sec), pulumi.DependsOn([]pulumi.Resource{ns}))
	if err != nil {
		return nil, err
	}

	// Without the in-cluster kcat: kcat on this machine through the external listener (with the CA
	// saved from the caCertificate output and the admin password in $KAFKA_PASSWORD: no secret in
	// a plain output).
	kcatCommand := pulumi.Sprintf("kcat -L -b %s", cluster.ExternalBootstrapServers)
	if c.Security.Enabled() {
		kcatCommand = pulumi.Sprintf("kcat -L -b %s -X security.protocol=SASL_SSL -X sasl.mechanisms=%s -X ssl.ca.location=ca.crt -X sasl.username=%s -X sasl.password=\"$KAFKA_PASSWORD\"",
			cluster.ExternalBootstrapServers, kraft.ScramMechanism, kraft.AdminUser)
	}
	if d.Kcat.Enabled {
		var kcatImage pulumi.StringInput
		if d.Kcat.Image != "" {
			kcatImage = pulumi.String(d.Kcat.Image)
		}
		// kcat dials the headless Service's short name, which is in the brokers' certificates.
		args := &kcatclient.Args{Namespace: namespace, Instance: c.Stack, BootstrapServers: pulumi.String(kraft.BootstrapServers(c)),
			ExecBootstrap: pulumi.Sprintf("%s:%d", kraft.HeadlessServiceName, kraft.InternalPort),
			Image:         kcatImage, Registry: registryAddr, RegistryAuth: pushAuth, Context: d.Image.Context, PullSecret: c.ImagePullSecret}
		if c.Security.Enabled() {
			args.ExecBootstrap = pulumi.Sprintf("%s:%d", kraft.HeadlessServiceName, kraft.ClientPort)
			args.ClientConfig = kcatclient.ClientConfig(sec.CACert, kraft.AdminUser, sec.AdminPassword)
			args.ClientConfigSecret = sec.Name("kafka-cat-config", sec.CACert, sec.AdminPassword)
		}
		kcat, err := kcatclient.New(ctx, "kcat", args)
		if err != nil {
			return nil, err
		}
		kcatCommand = kcat.ExecCommand
	}

	return &Outputs{
		Config:                   Settings{Config: c, Delivery: d},
		BootstrapServers:         cluster.BootstrapServers,
		ExternalBootstrapServers: cluster.ExternalBootstrapServers,
		Registry:                 registryAddr,
		Image:                    image,
		Namespace:                namespace,
		ClusterID:                cluster.ClusterID,
		KcatCommand:              kcatCommand,
		Settled:                  cluster.Settled,
		Security:                 sec,
	}, nil
}

// clusterArgs maps the stack's configuration and secret material onto the KraftCluster's Args.
// Users without a password in the configuration get the one generated for them.
func clusterArgs(c kraft.Config, image pulumi.StringInput, sec pki.State) *kraftcluster.Args {
	users := make(map[string]kraftcluster.User, len(c.Security.Users))
	for name, u := range c.Security.Users {
		acls := make([]kraftcluster.ACL, len(u.ACLs))
		for i, a := range u.ACLs {
			acls[i] = kraftcluster.ACL{Resource: a.Resource, Name: a.Name, Pattern: a.Pattern, Operations: a.Operations}
		}
		users[name] = kraftcluster.User{Password: cmp.Or(u.Password, sec.Passwords[name]), ACLs: acls}
	}
	r := c.Resources
	return &kraftcluster.Args{
		Image: image, KafkaVersion: c.KafkaVersion, ImagePullSecret: c.ImagePullSecret,
		Namespace: c.Namespace, Instance: c.Stack,
		Replicas: c.Replicas, Controllers: c.Controllers, ClusterID: c.ClusterID, ClusterDomain: c.ClusterDomain,
		ExternalHost: c.ExternalHost, ExternalNodePortBase: c.ExternalNodePortBase,
		Storage:   kraftcluster.Storage{Size: c.Storage.Size, Class: c.Storage.Class, HostPath: c.Storage.HostPath},
		Resources: kraftcluster.Resources{CPURequest: r.CPURequest, CPULimit: r.CPULimit, MemoryRequest: r.MemoryRequest, MemoryLimit: r.MemoryLimit, HeapOpts: r.HeapOpts},
		Spread:    c.Spread, ReassignmentThrottle: c.ReassignmentThrottle,
		BrokerProperties: c.BrokerProperties, SecretBrokerProperties: c.SecretBrokerProperties,
		Security: kraftcluster.Security{Mode: c.Security.Mode, Users: users, Credentials: kraftcluster.Credentials{
			CACert: sec.CACert, CAKey: sec.CAKey, AdminPassword: sec.AdminPassword, NameKey: sec.Salt,
		}},
		Monitoring:        c.Monitoring,
		RotationDate:      now(),
		VolumeGenerations: c.VolumeGenerations,
	}
}

// now is the clock of the certificate rotation window and the CA's validity (tests fix it).
var now = time.Now

// securityState completes the stack's secret material (generated on the first update, read back
// from the previous one after that).
func securityState(ctx *pulumi.Context, prev pki.State, c *kraft.Config) (pki.State, error) {
	caValidity := time.Duration(kraft.CACertYears) * 365 * 24 * time.Hour
	st, err := prev.Complete("kafka-kraft "+c.Project+"/"+c.Stack, now(), caValidity,
		pki.Users(c.Security.Users, func(u kraft.User) bool { return u.Password != "" }), rand.Reader)
	if err != nil {
		return pki.State{}, err
	}
	if c.Security.Enabled() && st.CAExpiresWithin(now(), 365*24*time.Hour) {
		_ = ctx.Log.Warn("the cluster CA ends within a year; kafka-kraft does not rotate a CA in place yet (README, Security): deploy a new stack and move the clients before it ends", nil)
	}
	// Secret broker settings: every one when brokerProperties was set with --secret.
	c.SecretBrokerProperties = ctx.IsConfigSecret(ctx.Project() + ":" + kraft.KeyBrokerProperties)
	if c.Security.Enabled() {
		for name, u := range c.Security.Users {
			if u.Password != "" && !ctx.IsConfigSecret(ctx.Project()+":"+kraft.KeyUsers) {
				_ = ctx.Log.Warn(fmt.Sprintf("users.%s.password is kept in clear text in Pulumi.%s.yaml: set %q with `pulumi config set --secret`, or leave the password out and the program generates one", name, c.Stack, kraft.KeyUsers), nil)
			}
		}
	}
	return st, nil
}

// clientAuth is how the program's own client (the scale-down) reaches the running cluster: as
// the admin user over TLS when it was deployed with security on.
func clientAuth(prev kraft.Deployed, st pki.State) clientauth.Auth {
	if prev.Security != kraft.SecurityTLS {
		return clientauth.Auth{}
	}
	return clientauth.Auth{CACert: st.CACert, Username: kraft.AdminUser, Password: st.AdminPassword}
}

// moveReplicas is scaledown.Run; the mock tier replaces it (no Kafka there).
var moveReplicas = scaledown.Run

// shrink moves every replica off the brokers a scale-down removes (ordinals c.Replicas and up),
// through the running cluster's external listener (the addresses the previous update exported).
// Preview only checks: it refuses a topic with more replicas than brokers would remain, and lists
// the moves; when the cluster cannot be reached then, the `up` checks again before it changes
// anything.
func shrink(ctx *pulumi.Context, prev kraft.Deployed, st pki.State, c kraft.Config) error {
	refusedErr := func(err error) error {
		return fmt.Errorf("unsafe change refused (nothing was changed):\nconfig %q cannot change from %d to %d now: %w", kraft.KeyReplicas, prev.Replicas, c.Replicas, err)
	}
	if prev.ExternalBootstrap == "" {
		return refusedErr(errors.New("the previous update recorded no external bootstrap address to reach the cluster through"))
	}
	brokers := strings.Split(prev.ExternalBootstrap, ",")
	_, err := moveReplicas(ctx.Context(), scaledown.Options{
		Brokers: brokers, Keep: c.Replicas, Throttle: kraft.ReassignmentThrottleBytes(c), DryRun: ctx.DryRun(),
		Log:  func(s string) { _ = ctx.Log.Info("scale-down: "+s, nil) },
		Auth: clientAuth(prev, st),
	})
	var refused *scaledown.Refused
	switch {
	case errors.As(err, &refused):
		return refusedErr(err)
	case err != nil && ctx.DryRun():
		_ = ctx.Log.Warn(fmt.Sprintf("scale-down: could not check the cluster at %s now (%v); `up` moves the replicas off brokers %d and up before it changes anything, and stops if it cannot",
			prev.ExternalBootstrap, err, c.Replicas), nil)
		return nil
	case err != nil:
		return fmt.Errorf("scale-down from %d to %d brokers: moving the replicas off brokers %d and up through %s failed; nothing else was changed, and `up` again resumes the moves: %w",
			prev.Replicas, c.Replicas, c.Replicas, prev.ExternalBootstrap, err)
	}
	return nil
}

// previousDeployment reads this stack's own outputs from its last update through a stack reference
// to itself: a Pulumi program has no other view of what is running, and the checks must happen
// before any resource is registered. A stack that was never deployed has no outputs.
func previousDeployment(ctx *pulumi.Context) (kraft.Deployed, pki.State, error) {
	self := fmt.Sprintf("%s/%s/%s", ctx.Organization(), ctx.Project(), ctx.Stack())
	ref, err := pulumi.NewStackReference(ctx, "previous-deployment", &pulumi.StackReferenceArgs{Name: pulumi.String(self)})
	if err != nil {
		return kraft.Deployed{}, pki.State{}, fmt.Errorf("reading the previous deployment of %s: %w", self, err)
	}
	details, err := ref.GetOutputDetails(OutputDeployed)
	if err != nil {
		return kraft.Deployed{}, pki.State{}, fmt.Errorf("reading the previous deployment of %s: %w", self, err)
	}
	var st pki.State
	if sd, err := ref.GetOutputDetails(OutputSecurityState); err == nil {
		raw, _ := sd.SecretValue.(string)
		if raw == "" {
			raw, _ = sd.Value.(string)
		}
		if st, err = pki.Parse(raw); err != nil {
			return kraft.Deployed{}, pki.State{}, err
		}
	}
	m, _ := details.Value.(map[string]any)
	d := deployedFromMap(m)
	// The addresses a scale-down reaches the running cluster through.
	if ext, err := ref.GetOutputDetails(OutputExternalBootstrapServers); err == nil {
		d.ExternalBootstrap, _ = ext.Value.(string)
	}
	return d, st, nil
}

// deployedFromMap decodes the OutputDeployed map; missing keys stay zero (nothing to compare).
func deployedFromMap(m map[string]any) kraft.Deployed {
	str := func(k string) string { s, _ := m[k].(string); return s }
	num := func(k string) int {
		switch v := m[k].(type) {
		case float64:
			return int(v)
		case int:
			return v
		}
		return 0
	}
	if m == nil {
		return kraft.Deployed{}
	}
	var gens []int
	if list, ok := m["volumeGenerations"].([]any); ok {
		for _, v := range list {
			if f, ok := v.(float64); ok {
				gens = append(gens, int(f))
			}
		}
	}
	return kraft.Deployed{
		Replicas: num("replicas"), Controllers: num("controllers"), ClusterID: str("clusterId"),
		Namespace: str("namespace"), StorageClass: str("storageClass"), StorageSize: str("storageSize"),
		HostPath: str("hostPath"), VolumeGenerations: gens, KafkaVersion: str("kafkaVersion"), Security: str("security"),
	}
}
