// Package kcatclient is the KcatClient component: an idle Deployment with kcat installed, for
// inspecting the cluster from inside it (`kubectl exec deploy/kafka-cat -- kcat -L -b kafka-svc:9092`),
// as the original tutorial did by hand.
package kcatclient

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/pulumi/pulumi-docker/sdk/v4/go/docker"
	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kafka-kraft/kafka-kraft/internal/kraft"
)

// TypeToken is the component's Pulumi type.
const TypeToken = "kafka-kraft:index:KcatClient"

// IdleCommand keeps the container alive without kcat running, and exits at once on SIGTERM (a plain
// `sleep` as PID 1 ignores it and every rollout would wait the full grace period). Busybox and
// coreutils shells both understand it.
var IdleCommand = []string{"/bin/sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"}

// Name names the Deployment (`kubectl exec deploy/kafka-cat -- kcat ...`).
const Name = "kafka-cat"

// DefaultContext is the Docker build context whose kcat/ folder is built when no Image is given.
const DefaultContext = "./docker"

// Args configures the client. A zero field takes the default its comment names.
type Args struct {
	// Namespace to deploy into. Required: pass the namespace resource's output.
	Namespace pulumi.StringInput
	// Instance is the app.kubernetes.io/instance label of every object (kafka-kraft passes the
	// stack name). Required: a label value.
	Instance string
	// BootstrapServers is the cluster's in-cluster bootstrap address, given to the container as
	// $KAFKA_BOOTSTRAP (the KraftCluster's BootstrapServers). Required.
	BootstrapServers pulumi.StringInput
	// ExecBootstrap is the address ExecCommand has kcat dial, for example the headless Service's
	// short name "kafka-svc:9095" (a name in the brokers' certificates). Default: BootstrapServers.
	ExecBootstrap pulumi.StringInput
	// Image is a kcat image (librdkafka 2.6.1 or newer for SCRAM against Kafka 4). Default nil:
	// Context/kcat is built and pushed to Registry.
	Image pulumi.StringInput
	// Registry is where a built image is pushed (the Registry component's Address), with
	// RegistryAuth's credentials when it takes any. Required when Image is nil.
	Registry     pulumi.StringInput
	RegistryAuth *docker.RegistryArgs
	// Context is the Docker build context whose kcat/ folder is built. Default DefaultContext.
	Context string
	// ClientConfig is the content of the kcat config Secret (see ClientConfig), mounted at
	// ConfigDir; ClientConfigSecret names that Secret (let its name change with its content).
	// Default nil: no Secret, kcat speaks PLAINTEXT. Both or neither.
	ClientConfig       map[string]string
	ClientConfigSecret string
	// PullSecret names the Secret the pod pulls its image with. Default "": none.
	PullSecret string
}

func (a Args) withDefaults() Args {
	if a.Context == "" {
		a.Context = DefaultContext
	}
	if a.ExecBootstrap == nil {
		a.ExecBootstrap = a.BootstrapServers
	}
	return a
}

// Validate checks the fields after the defaults, naming the field and what it allows.
func (a Args) Validate() error {
	var errs []error
	if a.Namespace == nil {
		errs = append(errs, errors.New("kcatclient.Args.Namespace is required"))
	}
	if !kraft.IsLabelValue(a.Instance) {
		errs = append(errs, fmt.Errorf("kcatclient.Args.Instance = %q: must be a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit", a.Instance))
	}
	if a.BootstrapServers == nil {
		errs = append(errs, errors.New("kcatclient.Args.BootstrapServers is required"))
	}
	if a.Image == nil && a.Registry == nil {
		errs = append(errs, errors.New("kcatclient.Args.Registry is required when Image is not set (the built image is pushed there)"))
	}
	if (a.ClientConfig == nil) != (a.ClientConfigSecret == "") {
		errs = append(errs, errors.New("kcatclient.Args.ClientConfig and ClientConfigSecret go together: set both or neither"))
	}
	return errors.Join(errs...)
}

// ConfigDir is where the kcat config Secret is mounted; ConfigFile is kcat's -F file in it.
const (
	ConfigDir  = "/etc/kcat"
	ConfigFile = ConfigDir + "/kcat.conf"
)

// ClientConfig is the kcat config Secret's data for a SASL_SSL listener: librdkafka settings for
// user (SCRAM-SHA-512) and the CA they name.
func ClientConfig(caCert, user, password string) map[string]string {
	return map[string]string{
		"kcat.conf": "security.protocol=SASL_SSL\n" +
			"sasl.mechanisms=" + kraft.ScramMechanism + "\n" +
			"sasl.username=" + user + "\n" +
			"sasl.password=" + password + "\n" +
			"ssl.ca.location=" + ConfigDir + "/ca.crt\n",
		"ca.crt": caCert,
	}
}

// KcatClient is the kafka-cat Deployment.
type KcatClient struct {
	pulumi.ResourceState

	// ExecCommand is a ready-to-paste command that lists the cluster's brokers and topics from
	// inside the cluster. Example: "kubectl -n kafka-kraft exec deploy/kafka-cat -- kcat -F
	// /etc/kcat/kcat.conf -L -b kafka-svc:9095".
	ExecCommand pulumi.StringOutput `pulumi:"execCommand"`
}

// ExecCommand renders the kubectl command that runs kcat in the client: with the config file when
// the client has one (withConfig).
func ExecCommand(namespace, bootstrap string, withConfig bool) string {
	if withConfig {
		return fmt.Sprintf("kubectl -n %s exec deploy/%s -- kcat -F %s -L -b %s", namespace, Name, ConfigFile, bootstrap)
	}
	return fmt.Sprintf("kubectl -n %s exec deploy/%s -- kcat -L -b %s", namespace, Name, bootstrap)
}

func pullSecrets(name string) corev1.LocalObjectReferenceArray {
	if name == "" {
		return nil
	}
	return corev1.LocalObjectReferenceArray{&corev1.LocalObjectReferenceArgs{Name: pulumi.String(name)}}
}

// ImageRepository is the repository of a built kcat image in the registry.
const ImageRepository = "kafka-kraft-kcat"

// buildImage builds <imageContext>/kcat (docker/kcat) and pushes it to the registry; the result is
// pinned by digest.
func buildImage(ctx *pulumi.Context, name, context string, registry pulumi.StringInput, auth *docker.RegistryArgs, opts ...pulumi.ResourceOption) (pulumi.StringOutput, error) {
	ref := registry.ToStringOutput().ApplyT(func(reg string) string { return reg + "/" + ImageRepository + ":1.7.1" }).(pulumi.StringOutput)
	dir := filepath.Join(context, "kcat")
	img, err := docker.NewImage(ctx, name, &docker.ImageArgs{
		ImageName: ref,
		Build: &docker.DockerBuildArgs{
			Context:    pulumi.String(dir),
			Dockerfile: pulumi.String(filepath.Join(dir, "Dockerfile")),
		},
		Registry: auth,
	}, opts...)
	if err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("kcat image: %w", err)
	}
	return img.RepoDigest, nil
}

// New creates the Deployment.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*KcatClient, error) {
	if args == nil {
		return nil, errors.New("kcatclient.New: args are required")
	}
	if err := args.Validate(); err != nil {
		return nil, err
	}
	a := args.withDefaults()
	k := &KcatClient{}
	if err := ctx.RegisterComponentResource(TypeToken, name, k, opts...); err != nil {
		return nil, err
	}
	labels, selector := kraft.InstanceStableLabels(a.Instance, Name), kraft.InstanceSelectorLabels(a.Instance, Name)
	image := a.Image
	if image == nil {
		built, err := buildImage(ctx, name+"-image", a.Context, a.Registry, a.RegistryAuth, pulumi.Parent(k))
		if err != nil {
			return nil, err
		}
		image = built
	}
	uid := pulumi.Int(kraft.KafkaUID)
	// The root filesystem is read-only; /tmp is the working directory.
	vols := corev1.VolumeArray{&corev1.VolumeArgs{Name: pulumi.String("tmp"), EmptyDir: &corev1.EmptyDirVolumeSourceArgs{}}}
	mounts := corev1.VolumeMountArray{&corev1.VolumeMountArgs{Name: pulumi.String("tmp"), MountPath: pulumi.String("/tmp")}}
	deps := []pulumi.Resource{}
	if a.ClientConfig != nil {
		sec, err := corev1.NewSecret(ctx, name+"-config", &corev1.SecretArgs{
			Metadata:   &metav1.ObjectMetaArgs{Name: pulumi.String(a.ClientConfigSecret), Namespace: a.Namespace, Labels: pulumi.ToStringMap(labels)},
			Immutable:  pulumi.Bool(true),
			StringData: pulumi.ToSecret(pulumi.ToStringMap(a.ClientConfig)).(pulumi.StringMapOutput),
		}, pulumi.Parent(k))
		if err != nil {
			return nil, fmt.Errorf("kcat config secret: %w", err)
		}
		deps = append(deps, sec)
		vols = append(vols, &corev1.VolumeArgs{Name: pulumi.String("config"), Secret: &corev1.SecretVolumeSourceArgs{
			SecretName: pulumi.String(a.ClientConfigSecret), DefaultMode: pulumi.Int(0o440),
		}})
		mounts = append(mounts, &corev1.VolumeMountArgs{Name: pulumi.String("config"), MountPath: pulumi.String(ConfigDir), ReadOnly: pulumi.Bool(true)})
	}
	if _, err := appsv1.NewDeployment(ctx, name, &appsv1.DeploymentArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name:      pulumi.String(Name),
			Namespace: a.Namespace,
			Labels:    pulumi.ToStringMap(labels),
		},
		Spec: &appsv1.DeploymentSpecArgs{
			Replicas: pulumi.Int(1),
			Selector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(selector)},
			Template: &corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{Labels: pulumi.ToStringMap(labels)},
				Spec: &corev1.PodSpecArgs{
					TerminationGracePeriodSeconds: pulumi.Int(5),
					SecurityContext: &corev1.PodSecurityContextArgs{
						RunAsNonRoot: pulumi.Bool(true), RunAsUser: uid, RunAsGroup: uid, FsGroup: uid,
						SeccompProfile: &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
					},
					// Services named kafka-* would inject KAFKA_* variables next to KAFKA_BOOTSTRAP.
					EnableServiceLinks: pulumi.Bool(false),
					Volumes:            vols,
					ImagePullSecrets:   pullSecrets(a.PullSecret),
					Containers: corev1.ContainerArray{&corev1.ContainerArgs{
						VolumeMounts: mounts,
						Name:         pulumi.String("kcat"),
						Image:        image,
						Command:      pulumi.ToStringArray(IdleCommand),
						Env: corev1.EnvVarArray{&corev1.EnvVarArgs{
							// For scripts run inside the client: kcat -b "$KAFKA_BOOTSTRAP" ...
							Name: pulumi.String("KAFKA_BOOTSTRAP"), Value: a.BootstrapServers,
						}},
						SecurityContext: &corev1.SecurityContextArgs{
							AllowPrivilegeEscalation: pulumi.Bool(false),
							ReadOnlyRootFilesystem:   pulumi.Bool(true),
							Capabilities:             &corev1.CapabilitiesArgs{Drop: pulumi.StringArray{pulumi.String("ALL")}},
						},
						Resources: &corev1.ResourceRequirementsArgs{
							Requests: pulumi.StringMap{"cpu": pulumi.String("10m"), "memory": pulumi.String("16Mi")},
							Limits:   pulumi.StringMap{"cpu": pulumi.String("500m"), "memory": pulumi.String("128Mi")},
						},
					}},
				},
			},
		},
	}, pulumi.Parent(k), pulumi.DependsOn(deps)); err != nil {
		return nil, fmt.Errorf("kcat deployment: %w", err)
	}
	withConfig := a.ClientConfig != nil
	k.ExecCommand = pulumi.All(a.Namespace, a.ExecBootstrap).ApplyT(func(xs []any) string {
		return ExecCommand(xs[0].(string), xs[1].(string), withConfig)
	}).(pulumi.StringOutput)
	if err := ctx.RegisterResourceOutputs(k, pulumi.Map{"execCommand": k.ExecCommand}); err != nil {
		return nil, err
	}
	return k, nil
}
