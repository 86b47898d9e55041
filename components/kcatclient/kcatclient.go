// Package kcatclient is the KcatClient component: an idle Deployment with kcat installed, for
// inspecting the cluster from inside it (`kubectl exec deploy/kafka-cat -- kcat -L -b kafka-svc:9092`),
// as the original tutorial did by hand.
package kcatclient

import (
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

// Args configures the client.
type Args struct {
	// Config is the validated stack configuration; Kcat.Image comes from it.
	Config kraft.Config
	// Namespace to deploy into.
	Namespace pulumi.StringInput
	// Image is the kcat image; nil builds <imageContext>/kcat and pushes it to Registry.
	Image pulumi.StringInput
	// Registry is where a built image is pushed (the Registry component's address), with
	// RegistryAuth's credentials when it takes any.
	Registry     pulumi.StringInput
	RegistryAuth *docker.RegistryArgs
	// ClientConfig is the content of the kcat config Secret (ClientConfig), nil with security
	// "none"; ClientConfigSecret names that Secret (its name changes with its content).
	ClientConfig       map[string]string
	ClientConfigSecret string
}

// ConfigDir is where the kcat config Secret is mounted; ConfigFile is kcat's -F file in it.
const (
	ConfigDir  = "/etc/kcat"
	ConfigFile = ConfigDir + "/kcat.conf"
)

// ClientConfig is the kcat config Secret's data with security on: librdkafka settings for the
// CLIENT listener as the admin user, and the CA they name. nil with security "none".
func ClientConfig(c kraft.Config, caCert, adminPassword string) map[string]string {
	if !c.Security.Enabled() {
		return nil
	}
	return map[string]string{
		"kcat.conf": "security.protocol=SASL_SSL\n" +
			"sasl.mechanisms=" + kraft.ScramMechanism + "\n" +
			"sasl.username=" + kraft.AdminUser + "\n" +
			"sasl.password=" + adminPassword + "\n" +
			"ssl.ca.location=" + ConfigDir + "/ca.crt\n",
		"ca.crt": caCert,
	}
}

// KcatClient is the kafka-cat Deployment.
type KcatClient struct {
	pulumi.ResourceState

	// ExecCommand is a ready-to-paste command that lists the cluster's brokers and topics.
	ExecCommand pulumi.StringOutput `pulumi:"execCommand"`
}

// ExecCommand renders the kubectl command that runs kcat in the client against the in-cluster bootstrap.
func ExecCommand(c kraft.Config) string {
	if c.Security.Enabled() {
		return fmt.Sprintf("kubectl -n %s exec deploy/%s -- kcat -F %s -L -b %s:%d", c.Namespace, kraft.KcatName, ConfigFile, kraft.HeadlessServiceName, kraft.ClientPort)
	}
	return fmt.Sprintf("kubectl -n %s exec deploy/%s -- kcat -L -b %s:%d", c.Namespace, kraft.KcatName, kraft.HeadlessServiceName, kraft.InternalPort)
}

func pullSecrets(c kraft.Config) corev1.LocalObjectReferenceArray {
	if c.ImagePullSecret == "" {
		return nil
	}
	return corev1.LocalObjectReferenceArray{&corev1.LocalObjectReferenceArgs{Name: pulumi.String(c.ImagePullSecret)}}
}

// ImageRepository is the repository of a built kcat image in the registry.
const ImageRepository = "kafka-kraft-kcat"

// buildImage builds <imageContext>/kcat (docker/kcat) and pushes it to the registry; the result is
// pinned by digest.
func buildImage(ctx *pulumi.Context, name string, c kraft.Config, registry pulumi.StringInput, auth *docker.RegistryArgs, opts ...pulumi.ResourceOption) (pulumi.StringOutput, error) {
	if registry == nil {
		return pulumi.StringOutput{}, fmt.Errorf("kcat image: no registry to push a built image to (set %q)", kraft.KeyKcatImage)
	}
	ref := registry.ToStringOutput().ApplyT(func(reg string) string { return reg + "/" + ImageRepository + ":1.7.1" }).(pulumi.StringOutput)
	dir := filepath.Join(c.Image.Context, "kcat")
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
	k := &KcatClient{}
	if err := ctx.RegisterComponentResource(TypeToken, name, k, opts...); err != nil {
		return nil, err
	}
	c := args.Config
	labels := kraft.Labels(c, kraft.KcatName)
	image := args.Image
	if image == nil {
		built, err := buildImage(ctx, name+"-image", c, args.Registry, args.RegistryAuth, pulumi.Parent(k))
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
	if args.ClientConfig != nil {
		sec, err := corev1.NewSecret(ctx, name+"-config", &corev1.SecretArgs{
			Metadata:   &metav1.ObjectMetaArgs{Name: pulumi.String(args.ClientConfigSecret), Namespace: args.Namespace, Labels: pulumi.ToStringMap(kraft.StableLabels(c, kraft.KcatName))},
			Immutable:  pulumi.Bool(true),
			StringData: pulumi.ToSecret(pulumi.ToStringMap(args.ClientConfig)).(pulumi.StringMapOutput),
		}, pulumi.Parent(k))
		if err != nil {
			return nil, fmt.Errorf("kcat config secret: %w", err)
		}
		deps = append(deps, sec)
		vols = append(vols, &corev1.VolumeArgs{Name: pulumi.String("config"), Secret: &corev1.SecretVolumeSourceArgs{
			SecretName: pulumi.String(args.ClientConfigSecret), DefaultMode: pulumi.Int(0o440),
		}})
		mounts = append(mounts, &corev1.VolumeMountArgs{Name: pulumi.String("config"), MountPath: pulumi.String(ConfigDir), ReadOnly: pulumi.Bool(true)})
	}
	if _, err := appsv1.NewDeployment(ctx, name, &appsv1.DeploymentArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name:      pulumi.String(kraft.KcatName),
			Namespace: args.Namespace,
			Labels:    pulumi.ToStringMap(labels),
		},
		Spec: &appsv1.DeploymentSpecArgs{
			Replicas: pulumi.Int(1),
			Selector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(kraft.SelectorLabels(c, kraft.KcatName))},
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
					ImagePullSecrets:   pullSecrets(c),
					Containers: corev1.ContainerArray{&corev1.ContainerArgs{
						VolumeMounts: mounts,
						Name:         pulumi.String("kcat"),
						Image:        image,
						Command:      pulumi.ToStringArray(IdleCommand),
						Env: corev1.EnvVarArray{&corev1.EnvVarArgs{
							// For scripts run inside the client: kcat -b "$KAFKA_BOOTSTRAP" ...
							Name: pulumi.String("KAFKA_BOOTSTRAP"), Value: pulumi.String(kraft.BootstrapServers(c)),
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
	k.ExecCommand = pulumi.String(ExecCommand(c)).ToStringOutput()
	if err := ctx.RegisterResourceOutputs(k, pulumi.Map{"execCommand": k.ExecCommand}); err != nil {
		return nil, err
	}
	return k, nil
}
