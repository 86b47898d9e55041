// Package registry is the Registry component: a container registry inside the cluster, so images
// built on a workstation reach the nodes without any external registry. It is the equivalent of the
// original tutorial's twuni/docker-registry Helm chart, without a chart repository.
package registry

import (
	"encoding/base64"
	"encoding/json"
	"errors"
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

// Name names the registry Deployment and Service (and its claim, Name-data); ContainerPort is the
// registry container's port.
const (
	Name          = "registry"
	ContainerPort = 5000
)

// Defaults of Args.
const (
	DefaultImage    = "registry:2.8.3"
	DefaultNodePort = 31500
	DefaultSize     = "2Gi"
	// DefaultHostPathRoot is where hostPath volumes live on the nodes: <root>/<Instance>/registry.
	DefaultHostPathRoot = "/mnt/kafka"
)

// Args configures a Registry. A zero field takes the default its comment names.
type Args struct {
	// Namespace to deploy into. Required: pass the namespace resource's output, so the namespace
	// exists first.
	Namespace pulumi.StringInput
	// Instance is the app.kubernetes.io/instance label of every object (kafka-kraft passes the
	// stack name). Required: a label value (letters, digits, '-', '_', '.'; at most 63).
	Instance string
	// Image of the registry server. Default DefaultImage.
	Image string
	// NodePort is the port every node answers the registry on: the Docker engine pushes to
	// localhost:<NodePort> through a tunnel or on a node, and the kubelet pulls from it (containerd
	// treats localhost as plain HTTP). Default DefaultNodePort; 30000 to 32767.
	NodePort int
	// Size of the registry's volume, a Kubernetes quantity. Default DefaultSize.
	Size string
	// StorageClass provisions the volume dynamically. Default "": a hostPath PersistentVolume
	// (VolumeName, HostPath) pre-bound to the registry's claim.
	StorageClass string
	// VolumeName names the hostPath PersistentVolume (cluster-scoped, so unique in the cluster).
	// Default "<Instance>-registry-data". Unused with a StorageClass.
	VolumeName string
	// HostPath is the hostPath directory on the node. Default
	// DefaultHostPathRoot/<Instance>/registry. Unused with a StorageClass.
	HostPath string
	// Auth, when set, makes the registry require these credentials for every push and pull and
	// creates the pull Secret PullSecretName. Default none: anyone who reaches the port may push.
	Auth *Auth
}

// withDefaults fills the empty fields.
func (a Args) withDefaults() Args {
	if a.Image == "" {
		a.Image = DefaultImage
	}
	if a.NodePort == 0 {
		a.NodePort = DefaultNodePort
	}
	if a.Size == "" {
		a.Size = DefaultSize
	}
	if a.VolumeName == "" {
		a.VolumeName = a.Instance + "-" + Name + "-data"
	}
	if a.HostPath == "" {
		a.HostPath = DefaultHostPathRoot + "/" + a.Instance + "/" + Name
	}
	return a
}

// Validate checks the fields after the defaults, naming the field and what it allows.
func (a Args) Validate() error {
	a = a.withDefaults()
	var errs []error
	bad := func(field string, v any, why string) {
		errs = append(errs, fmt.Errorf("registry.Args.%s = %q: %s", field, fmt.Sprint(v), why))
	}
	if a.Namespace == nil {
		errs = append(errs, errors.New("registry.Args.Namespace is required"))
	}
	if !kraft.IsLabelValue(a.Instance) {
		bad("Instance", a.Instance, "must be a label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit")
	}
	if a.NodePort < kraft.MinNodePort || a.NodePort > kraft.MaxNodePort {
		bad("NodePort", a.NodePort, fmt.Sprintf("must be a NodePort, %d to %d", kraft.MinNodePort, kraft.MaxNodePort))
	}
	if _, ok := kraft.QuantityBytes(a.Size); !ok {
		bad("Size", a.Size, `must be a Kubernetes quantity such as "2Gi"`)
	}
	if a.Auth != nil && (a.Auth.Username == "" || a.Auth.Password == "" || a.Auth.Htpasswd == "" || a.Auth.SecretName == "") {
		errs = append(errs, errors.New("registry.Args.Auth: Username, Password, Htpasswd and SecretName are all required"))
	}
	return errors.Join(errs...)
}

// Address is where the registry of args answers: localhost:<NodePort>.
func Address(args Args) string { return fmt.Sprintf("localhost:%d", args.withDefaults().NodePort) }

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

	// Address is where the Docker engine pushes and the kubelet pulls: localhost:<NodePort>, which
	// every node answers and containerd treats as a plain-HTTP registry without extra config.
	// Example: "localhost:31500".
	Address pulumi.StringOutput `pulumi:"address"`
}

// New creates the registry. The Deployment is awaited until Ready, so anything that depends on the
// component (the image push) starts only when the registry answers.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*Registry, error) {
	if args == nil {
		return nil, errors.New("registry.New: args are required")
	}
	if err := args.Validate(); err != nil {
		return nil, err
	}
	a := args.withDefaults()
	r := &Registry{}
	if err := ctx.RegisterComponentResource(TypeToken, name, r, opts...); err != nil {
		return nil, err
	}
	labels, selector := kraft.InstanceStableLabels(a.Instance, Name), kraft.InstanceSelectorLabels(a.Instance, Name)
	parent := pulumi.Parent(r)

	claimName := Name + "-data"
	pvc, err := volume.Claim(ctx, name+"-data", volume.ClaimArgs{
		Namespace:    a.Namespace,
		ClaimName:    claimName,
		Size:         a.Size,
		StorageClass: a.StorageClass,
		VolumeName:   a.VolumeName,
		HostPath:     a.HostPath,
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
	if auth := a.Auth; auth != nil {
		htpasswd, err := corev1.NewSecret(ctx, name+"-auth", &corev1.SecretArgs{
			Metadata:   &metav1.ObjectMetaArgs{Name: pulumi.String(auth.SecretName), Namespace: a.Namespace, Labels: pulumi.ToStringMap(labels)},
			Immutable:  pulumi.Bool(true),
			StringData: pulumi.ToSecret(pulumi.StringMap{"htpasswd": pulumi.String(auth.Htpasswd)}).(pulumi.StringMapOutput),
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
			SecretName: pulumi.String(auth.SecretName), DefaultMode: pulumi.Int(0o440),
		}})
		pull, err := corev1.NewSecret(ctx, name+"-pull", &corev1.SecretArgs{
			Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(PullSecretName), Namespace: a.Namespace, Labels: pulumi.ToStringMap(labels)},
			Type:     pulumi.String("kubernetes.io/dockerconfigjson"),
			StringData: pulumi.ToSecret(pulumi.StringMap{
				".dockerconfigjson": pulumi.String(DockerConfigJSON(Address(a), auth.Username, auth.Password)),
			}).(pulumi.StringMapOutput),
		}, parent)
		if err != nil {
			return nil, fmt.Errorf("registry pull secret: %w", err)
		}
		deps = append(deps, pull)
	}

	uid := pulumi.Int(kraft.KafkaUID)
	var initContainers corev1.ContainerArray
	if a.StorageClass == "" {
		initContainers = corev1.ContainerArray{volume.PermissionsInitContainer(pulumi.String(a.Image), "data", "/var/lib/registry", kraft.KafkaUID)}
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
						Image: pulumi.String(a.Image),
						Ports: corev1.ContainerPortArray{&corev1.ContainerPortArgs{
							Name: pulumi.String("http"), ContainerPort: pulumi.Int(ContainerPort),
						}},
						Env: env,
						// TCP: with authentication on, /v2/ answers 401 to the kubelet.
						ReadinessProbe: &corev1.ProbeArgs{
							TcpSocket:     &corev1.TCPSocketActionArgs{Port: pulumi.Int(ContainerPort)},
							PeriodSeconds: pulumi.Int(5),
						},
						LivenessProbe: &corev1.ProbeArgs{
							TcpSocket:           &corev1.TCPSocketActionArgs{Port: pulumi.Int(ContainerPort)},
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
			Name:      pulumi.String(Name),
			Namespace: a.Namespace,
			Labels:    pulumi.ToStringMap(labels),
		},
		Spec: &corev1.ServiceSpecArgs{
			Type:     pulumi.String("NodePort"),
			Selector: pulumi.ToStringMap(selector),
			Ports: corev1.ServicePortArray{&corev1.ServicePortArgs{
				Name:       pulumi.String("http"),
				Port:       pulumi.Int(ContainerPort),
				TargetPort: pulumi.Int(ContainerPort),
				NodePort:   pulumi.Int(a.NodePort),
			}},
		},
	}, parent); err != nil {
		return nil, fmt.Errorf("registry service: %w", err)
	}

	r.Address = pulumi.String(Address(a)).ToStringOutput()
	if err := ctx.RegisterResourceOutputs(r, pulumi.Map{"address": r.Address}); err != nil {
		return nil, err
	}
	return r, nil
}
