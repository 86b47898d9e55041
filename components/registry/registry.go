// Package registry is the Registry component: a container registry inside the cluster, so images
// built on a workstation reach the nodes without any external registry. It is the equivalent of the
// original tutorial's twuni/docker-registry Helm chart, without a chart repository.
package registry

import (
	"fmt"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kafka-kraft/kafka-kraft/internal/kraft"
	"github.com/kafka-kraft/kafka-kraft/internal/volume"
)

// TypeToken is the component's Pulumi type.
const TypeToken = "kafka-kraft:index:Registry"

// Args configures the registry.
type Args struct {
	// Config is the validated stack configuration; Registry, Storage, Stack and labels come from it.
	Config kraft.Config
	// Namespace to deploy into (an output of the namespace resource, so it is created first).
	Namespace pulumi.StringInput
}

// Registry is a single-replica registry Deployment with persistent storage and a NodePort Service.
type Registry struct {
	pulumi.ResourceState

	// Address is where the Docker engine pushes and the kubelet pulls: localhost:<nodePort>, which
	// every node answers and containerd treats as a plain-HTTP registry without extra config.
	Address pulumi.StringOutput `pulumi:"address"`
}

// New creates the registry. The Deployment is awaited until Ready, so anything that depends on the
// component (the image push) starts only when the registry answers.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Registry, error) {
	r := &Registry{}
	if err := ctx.RegisterComponentResource(TypeToken, name, r, opts...); err != nil {
		return nil, err
	}
	c := args.Config
	labels := kraft.Labels(c, kraft.RegistryName)
	selector := kraft.SelectorLabels(c, kraft.RegistryName)
	parent := pulumi.Parent(r)

	claimName := kraft.RegistryName + "-data"
	pvc, err := volume.Claim(ctx, name+"-data", volume.ClaimArgs{
		Namespace:    args.Namespace,
		ClaimName:    claimName,
		Size:         c.Registry.Size,
		StorageClass: c.Storage.Class,
		VolumeName:   kraft.PersistentVolumeName(c, claimName),
		HostPath:     kraft.HostPathDir(c, kraft.RegistryName),
		Labels:       labels,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("registry storage: %w", err)
	}

	uid := pulumi.Int(kraft.KafkaUID)
	var initContainers corev1.ContainerArray
	if c.Storage.Class == "" {
		initContainers = corev1.ContainerArray{volume.PermissionsInitContainer(pulumi.String(c.Registry.Image), "data", "/var/lib/registry", kraft.KafkaUID)}
	}
	if _, err := appsv1.NewDeployment(ctx, name, &appsv1.DeploymentArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name:      pulumi.String(kraft.RegistryName),
			Namespace: args.Namespace,
			Labels:    pulumi.ToStringMap(labels),
		},
		Spec: &appsv1.DeploymentSpecArgs{
			Replicas: pulumi.Int(1),
			Selector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(selector)},
			// A ReadWriteOnce volume cannot be mounted by the old and the new pod at once.
			Strategy: &appsv1.DeploymentStrategyArgs{Type: pulumi.String("Recreate")},
			Template: &corev1.PodTemplateSpecArgs{
				Metadata: &metav1.ObjectMetaArgs{Labels: pulumi.ToStringMap(labels)},
				Spec: &corev1.PodSpecArgs{
					// Non-root like the Kafka pods; the official registry image needs nothing root does.
					SecurityContext: &corev1.PodSecurityContextArgs{
						RunAsNonRoot: pulumi.Bool(true), RunAsUser: uid, RunAsGroup: uid, FsGroup: uid,
						FsGroupChangePolicy: pulumi.String("OnRootMismatch"),
						SeccompProfile:      &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
					},
					// A Service named registry in the namespace would inject REGISTRY_* variables, which
					// the registry reads as its own configuration.
					EnableServiceLinks: pulumi.Bool(false),
					InitContainers:     initContainers,
					Containers: corev1.ContainerArray{&corev1.ContainerArgs{
						Name:  pulumi.String("registry"),
						Image: pulumi.String(c.Registry.Image),
						Ports: corev1.ContainerPortArray{&corev1.ContainerPortArgs{
							Name: pulumi.String("http"), ContainerPort: pulumi.Int(kraft.RegistryPort),
						}},
						Env: corev1.EnvVarArray{
							&corev1.EnvVarArgs{Name: pulumi.String("REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY"), Value: pulumi.String("/var/lib/registry")},
							// Lets `docker push` of the same tag replace manifests cleanly and allows cleanup.
							&corev1.EnvVarArgs{Name: pulumi.String("REGISTRY_STORAGE_DELETE_ENABLED"), Value: pulumi.String("true")},
						},
						ReadinessProbe: &corev1.ProbeArgs{
							HttpGet:       &corev1.HTTPGetActionArgs{Path: pulumi.String("/v2/"), Port: pulumi.Int(kraft.RegistryPort)},
							PeriodSeconds: pulumi.Int(5),
						},
						LivenessProbe: &corev1.ProbeArgs{
							HttpGet:             &corev1.HTTPGetActionArgs{Path: pulumi.String("/v2/"), Port: pulumi.Int(kraft.RegistryPort)},
							InitialDelaySeconds: pulumi.Int(10),
							PeriodSeconds:       pulumi.Int(20),
						},
						SecurityContext: &corev1.SecurityContextArgs{
							AllowPrivilegeEscalation: pulumi.Bool(false),
							Capabilities:             &corev1.CapabilitiesArgs{Drop: pulumi.StringArray{pulumi.String("ALL")}},
						},
						Resources: &corev1.ResourceRequirementsArgs{
							Requests: pulumi.StringMap{"cpu": pulumi.String("50m"), "memory": pulumi.String("64Mi")},
							Limits:   pulumi.StringMap{"cpu": pulumi.String("500m"), "memory": pulumi.String("256Mi")},
						},
						VolumeMounts: corev1.VolumeMountArray{&corev1.VolumeMountArgs{
							Name: pulumi.String("data"), MountPath: pulumi.String("/var/lib/registry"),
						}},
					}},
					Volumes: corev1.VolumeArray{&corev1.VolumeArgs{
						Name: pulumi.String("data"),
						PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSourceArgs{
							ClaimName: pvc.Metadata.Name().Elem(),
						},
					}},
				},
			},
		},
	}, parent); err != nil {
		return nil, fmt.Errorf("registry deployment: %w", err)
	}

	if _, err := corev1.NewService(ctx, name, &corev1.ServiceArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name:      pulumi.String(kraft.RegistryName),
			Namespace: args.Namespace,
			Labels:    pulumi.ToStringMap(labels),
		},
		Spec: &corev1.ServiceSpecArgs{
			Type:     pulumi.String("NodePort"),
			Selector: pulumi.ToStringMap(selector),
			Ports: corev1.ServicePortArray{&corev1.ServicePortArgs{
				Name:       pulumi.String("http"),
				Port:       pulumi.Int(kraft.RegistryPort),
				TargetPort: pulumi.Int(kraft.RegistryPort),
				NodePort:   pulumi.Int(c.Registry.NodePort),
			}},
		},
	}, parent); err != nil {
		return nil, fmt.Errorf("registry service: %w", err)
	}

	r.Address = pulumi.String(kraft.RegistryAddress(c)).ToStringOutput()
	if err := ctx.RegisterResourceOutputs(r, pulumi.Map{"address": r.Address}); err != nil {
		return nil, err
	}
	return r, nil
}
