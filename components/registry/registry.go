// Package registry is the Registry component: a container registry inside the cluster, so images
// built on a workstation reach the nodes without any external registry. It is the equivalent of the
// original tutorial's twuni/docker-registry Helm chart, without a chart repository.
package registry

import (
	"encoding/base64"
	"encoding/json"
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
	// Auth, when set, makes the registry require these credentials for every push and pull.
	Auth *Auth
}

// Auth is the registry's one user.
type Auth struct {
	Username, Password string
	// Htpasswd is the user's bcrypt htpasswd line (made once, kept in the stack's state: bcrypt is
	// salted, so making it again would change the Secret on every update).
	Htpasswd string
	// SecretName names the Secret that holds Htpasswd (its name changes with its content).
	SecretName string
}

// PullSecretName is the kubernetes.io/dockerconfigjson Secret the pods that run images from the
// registry name in imagePullSecrets. Fixed and updated in place: a new registry port changes its
// content, and the pods read it when they pull, so nothing needs to roll.
const PullSecretName = "registry-pull"

// DockerConfigJSON is the pull secret's .dockerconfigjson for the registry at address.
func DockerConfigJSON(address, username, password string) string {
	auth := base64.StdEncoding.EncodeToString([]byte(username + ":" + password))
	b, err := json.Marshal(map[string]any{"auths": map[string]any{address: map[string]string{"username": username, "password": password, "auth": auth}}})
	if err != nil {
		panic(err)
	}
	return string(b)
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

	env := corev1.EnvVarArray{
		&corev1.EnvVarArgs{Name: pulumi.String("REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY"), Value: pulumi.String("/var/lib/registry")},
		// Lets `docker push` of the same tag replace manifests cleanly and allows cleanup.
		&corev1.EnvVarArgs{Name: pulumi.String("REGISTRY_STORAGE_DELETE_ENABLED"), Value: pulumi.String("true")},
	}
	mounts := corev1.VolumeMountArray{&corev1.VolumeMountArgs{Name: pulumi.String("data"), MountPath: pulumi.String("/var/lib/registry")}}
	vols := corev1.VolumeArray{&corev1.VolumeArgs{
		Name: pulumi.String("data"),
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSourceArgs{
			ClaimName: pvc.Metadata.Name().Elem(),
		},
	}}
	var deps []pulumi.Resource
	if a := args.Auth; a != nil {
		htpasswd, err := corev1.NewSecret(ctx, name+"-auth", &corev1.SecretArgs{
			Metadata:   &metav1.ObjectMetaArgs{Name: pulumi.String(a.SecretName), Namespace: args.Namespace, Labels: pulumi.ToStringMap(kraft.StableLabels(c, kraft.RegistryName))},
			Immutable:  pulumi.Bool(true),
			StringData: pulumi.ToSecret(pulumi.StringMap{"htpasswd": pulumi.String(a.Htpasswd)}).(pulumi.StringMapOutput),
		}, parent)
		if err != nil {
			return nil, fmt.Errorf("registry auth secret: %w", err)
		}
		deps = append(deps, htpasswd)
		env = append(env,
			&corev1.EnvVarArgs{Name: pulumi.String("REGISTRY_AUTH"), Value: pulumi.String("htpasswd")},
			&corev1.EnvVarArgs{Name: pulumi.String("REGISTRY_AUTH_HTPASSWD_REALM"), Value: pulumi.String("kafka-kraft")},
			&corev1.EnvVarArgs{Name: pulumi.String("REGISTRY_AUTH_HTPASSWD_PATH"), Value: pulumi.String("/auth/htpasswd")},
		)
		mounts = append(mounts, &corev1.VolumeMountArgs{Name: pulumi.String("auth"), MountPath: pulumi.String("/auth"), ReadOnly: pulumi.Bool(true)})
		vols = append(vols, &corev1.VolumeArgs{Name: pulumi.String("auth"), Secret: &corev1.SecretVolumeSourceArgs{
			SecretName: pulumi.String(a.SecretName), DefaultMode: pulumi.Int(0o440),
		}})
		pull, err := corev1.NewSecret(ctx, name+"-pull", &corev1.SecretArgs{
			Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(PullSecretName), Namespace: args.Namespace, Labels: pulumi.ToStringMap(kraft.StableLabels(c, kraft.RegistryName))},
			Type:     pulumi.String("kubernetes.io/dockerconfigjson"),
			StringData: pulumi.ToSecret(pulumi.StringMap{
				".dockerconfigjson": pulumi.String(DockerConfigJSON(kraft.RegistryAddress(c), a.Username, a.Password)),
			}).(pulumi.StringMapOutput),
		}, parent)
		if err != nil {
			return nil, fmt.Errorf("registry pull secret: %w", err)
		}
		deps = append(deps, pull)
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
						Env: env,
						// TCP: with authentication on, /v2/ answers 401 to the kubelet.
						ReadinessProbe: &corev1.ProbeArgs{
							TcpSocket:     &corev1.TCPSocketActionArgs{Port: pulumi.Int(kraft.RegistryPort)},
							PeriodSeconds: pulumi.Int(5),
						},
						LivenessProbe: &corev1.ProbeArgs{
							TcpSocket:           &corev1.TCPSocketActionArgs{Port: pulumi.Int(kraft.RegistryPort)},
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
						VolumeMounts: mounts,
					}},
					Volumes: vols,
				},
			},
		},
	}, parent, pulumi.DependsOn(deps)); err != nil {
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
