package kraftcluster

import (
	"fmt"
	"path"
	"strings"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kafka-kraft/kafka-kraft/internal/kraft"
	"github.com/kafka-kraft/kafka-kraft/internal/volume"
	"github.com/kafka-kraft/kafka-kraft/monitoring"
)

// TLSEpochAnnotation carries kraft.Config.TLSEpoch on the pod template (see kraft.TLSEpoch).
const TLSEpochAnnotation = "kafka-kraft.io/tls-epoch"

// secretData is the secret material the cluster's Secrets hold. The names of those Secrets are in
// kraft.Config.SecretNames; a Secret whose name is "" is not created.
type secretData struct {
	// CACert and CAKey are the cluster CA (PEM), with security on.
	CACert, CAKey string
	// UsersFile is kraft.UsersFile, with security on.
	UsersFile string
}

// secret creates an immutable Secret named name holding data, its values Pulumi secrets. Like the
// ConfigMap its name changes with its content, so a change creates a new one before anything
// refers to it.
func secret(ctx *pulumi.Context, logical, name string, ns pulumi.StringInput, labels map[string]string, data map[string]string, opts ...pulumi.ResourceOption) (*corev1.Secret, error) {
	s, err := corev1.NewSecret(ctx, logical, &corev1.SecretArgs{
		Metadata:   &metav1.ObjectMetaArgs{Name: pulumi.String(name), Namespace: ns, Labels: pulumi.ToStringMap(labels)},
		Immutable:  pulumi.Bool(true),
		Type:       pulumi.String("Opaque"),
		StringData: pulumi.ToSecret(pulumi.ToStringMap(data)).(pulumi.StringMapOutput),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", logical, err)
	}
	return s, nil
}

// newSecrets creates the Secrets kraft.Config.SecretNames names and returns them.
func newSecrets(ctx *pulumi.Context, name string, c kraft.Config, rendered kraft.Rendered, s secretData, ns pulumi.StringInput, opts ...pulumi.ResourceOption) ([]pulumi.Resource, error) {
	labels := kraft.StableLabels(c, kraft.StatefulSetName)
	var out []pulumi.Resource
	add := func(logical, secretName string, data map[string]string) error {
		if secretName == "" {
			return nil
		}
		r, err := secret(ctx, name+"-"+logical, secretName, ns, labels, data, opts...)
		if err == nil {
			out = append(out, r)
		}
		return err
	}
	if rendered.SecretProperties != "" {
		if c.SecretNames.Properties == "" {
			return nil, fmt.Errorf("brokerProperties hold secrets but no Secret name was given for them")
		}
		if err := add("secret-config", c.SecretNames.Properties, map[string]string{kraft.SecretPropertiesFile: rendered.SecretProperties}); err != nil {
			return nil, err
		}
	}
	if c.Security.Enabled() {
		if c.SecretNames.TLS == "" || c.SecretNames.Users == "" || s.CACert == "" || s.CAKey == "" || s.UsersFile == "" {
			return nil, fmt.Errorf("security %q needs the CA, the users file and their Secret names", c.Security.Mode)
		}
		if err := add("tls", c.SecretNames.TLS, map[string]string{kraft.TLSCACertFile: s.CACert, kraft.TLSCAKeyFile: s.CAKey}); err != nil {
			return nil, err
		}
		if err := add("users", c.SecretNames.Users, map[string]string{kraft.UsersFileName: s.UsersFile}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// networkPolicySpec admits, with security on, the node listeners (INTERNAL, CONTROLLER) from the
// Kafka pods and the cluster Job only, and the client listeners (CLIENT, EXTERNAL) and the metrics
// port from anywhere.
// It is enforced only where the cluster's network plugin implements NetworkPolicy; mutual TLS on
// the node listeners holds either way.
func networkPolicySpec(c kraft.Config) *networkingv1.NetworkPolicySpecArgs {
	port := func(p int) *networkingv1.NetworkPolicyPortArgs {
		return &networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("TCP"), Port: pulumi.Int(p)}
	}
	from := func(component string) *networkingv1.NetworkPolicyPeerArgs {
		return &networkingv1.NetworkPolicyPeerArgs{PodSelector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(kraft.SelectorLabels(c, component))}}
	}
	// The metrics port is open like the client listeners: Prometheus runs in a namespace of its own.
	clientPorts := networkingv1.NetworkPolicyPortArray{port(kraft.ClientPort), port(kraft.ExternalPort)}
	if metricsOn(c) {
		clientPorts = append(clientPorts, port(monitoring.MetricsPort))
	}
	return &networkingv1.NetworkPolicySpecArgs{
		PodSelector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(kraft.SelectorLabels(c, kraft.StatefulSetName))},
		PolicyTypes: pulumi.StringArray{pulumi.String("Ingress")},
		Ingress: networkingv1.NetworkPolicyIngressRuleArray{
			&networkingv1.NetworkPolicyIngressRuleArgs{
				From:  networkingv1.NetworkPolicyPeerArray{from(kraft.StatefulSetName), from(kraft.ClusterJobName)},
				Ports: networkingv1.NetworkPolicyPortArray{port(kraft.InternalPort), port(kraft.ControllerPort)},
			},
			&networkingv1.NetworkPolicyIngressRuleArgs{
				Ports: clientPorts,
			},
		},
	}
}

// securityEnv, securityMounts and securityVolumes add the Secrets to the Kafka container.
func securityEnv(c kraft.Config) corev1.EnvVarArray {
	var env corev1.EnvVarArray
	if c.SecretNames.Properties != "" {
		env = append(env, &corev1.EnvVarArgs{Name: pulumi.String("KAFKA_SECRET_CONFIG_DIR"), Value: pulumi.String(kraft.SecretMountPath)})
	}
	if c.Security.Enabled() {
		// The certificate comes from the init container; the entrypoint checks it is there.
		env = append(env, &corev1.EnvVarArgs{Name: pulumi.String("KAFKA_TLS_DIR"), Value: pulumi.String(kraft.TLSMountPath)})
	}
	return env
}

// pullSecrets is the pod spec's imagePullSecrets.
func pullSecrets(c kraft.Config) corev1.LocalObjectReferenceArray {
	if c.ImagePullSecret == "" {
		return nil
	}
	return corev1.LocalObjectReferenceArray{&corev1.LocalObjectReferenceArgs{Name: pulumi.String(c.ImagePullSecret)}}
}

// secretVolume mounts a Secret readable by the pod's fsGroup (the Kafka user's group) only.
func secretVolume(name, secretName string) *corev1.VolumeArgs {
	return &corev1.VolumeArgs{Name: pulumi.String(name), Secret: &corev1.SecretVolumeSourceArgs{
		SecretName: pulumi.String(secretName), DefaultMode: pulumi.Int(0o440),
	}}
}

func mount(name, path string) *corev1.VolumeMountArgs {
	return &corev1.VolumeMountArgs{Name: pulumi.String(name), MountPath: pulumi.String(path), ReadOnly: pulumi.Bool(true)}
}

func securityVolumes(c kraft.Config) (corev1.VolumeArray, corev1.VolumeMountArray) {
	var vols corev1.VolumeArray
	var mounts corev1.VolumeMountArray
	if c.SecretNames.Properties != "" {
		vols = append(vols, secretVolume("secret-config", c.SecretNames.Properties))
		mounts = append(mounts, mount("secret-config", kraft.SecretMountPath))
	}
	if c.Security.Enabled() {
		// The Kafka container gets the CA certificate only: its key stays in the init container
		// that issues the node's certificate (tlsInitContainer), so a shell in a running broker
		// cannot mint certificates.
		vols = append(vols, secretVolume("tls", c.SecretNames.TLS), &corev1.VolumeArgs{Name: pulumi.String("tls-ca"), Secret: &corev1.SecretVolumeSourceArgs{
			SecretName: pulumi.String(c.SecretNames.TLS), DefaultMode: pulumi.Int(0o440),
			Items: corev1.KeyToPathArray{&corev1.KeyToPathArgs{Key: pulumi.String(kraft.TLSCACertFile), Path: pulumi.String(kraft.TLSCACertFile)}},
		}})
		mounts = append(mounts, mount("tls-ca", kraft.TLSMountPath))
	}
	return vols, mounts
}

// tLSCertCommand is the init container's command: `kafka-ready cert` (docker/kafka-ready/tls.go)
// issues the node's certificate into the pod's /tmp, where the entrypoint finds it.
func tLSCertCommand(c kraft.Config) []string {
	return []string{kraft.ReadinessBinary, "cert", "-ca-dir", kraft.TLSMountPath, "-names", strings.Join(kraft.TLSNames(c), ","),
		"-pod", "$(POD_NAME)", "-days", fmt.Sprint(kraft.NodeCertDays), "-out", kraft.TLSKeystoreFile}
}

// tlsInitContainer issues the node's certificate before Kafka starts, once per pod: the only
// container that mounts the CA key.
func tlsInitContainer(c kraft.Config, image pulumi.StringInput) *corev1.ContainerArgs {
	return &corev1.ContainerArgs{
		Name:            pulumi.String("tls-cert"),
		Image:           image,
		ImagePullPolicy: pulumi.String("IfNotPresent"),
		Command:         pulumi.ToStringArray(tLSCertCommand(c)),
		Env: corev1.EnvVarArray{&corev1.EnvVarArgs{Name: pulumi.String("POD_NAME"), ValueFrom: &corev1.EnvVarSourceArgs{
			FieldRef: &corev1.ObjectFieldSelectorArgs{FieldPath: pulumi.String("metadata.name")},
		}}},
		VolumeMounts: corev1.VolumeMountArray{mount("tls", kraft.TLSMountPath),
			&corev1.VolumeMountArgs{Name: pulumi.String("tmp"), MountPath: pulumi.String("/tmp")}},
		Resources: &corev1.ResourceRequirementsArgs{
			Requests: pulumi.StringMap{"cpu": pulumi.String("10m"), "memory": pulumi.String("16Mi")},
			Limits:   pulumi.StringMap{"memory": pulumi.String("64Mi")},
		},
		SecurityContext: restricted(),
	}
}

// nodeInitContainers is what runs in each Kafka pod before Kafka: with hostPath storage (no
// storageClass) a root step that gives the data directory to Kafka's user (fsGroup does not apply
// to hostPath volumes), with security "tls" the step that issues the node's certificate. With both,
// one container does both: every init container costs a pod start about a second, because the
// kubelet sees a container exit at its next relist (once a second) before it starts the next one,
// and every restart and every step of a roll pays it (make bench-deploy, issue 14: two init
// containers took 2.0 s from pod creation to Kafka's first line, one 1.1 s).
func nodeInitContainers(c kraft.Config, image pulumi.StringInput) corev1.ContainerArray {
	hostPath := c.Storage.Class == ""
	switch {
	case hostPath && c.Security.Enabled():
		return corev1.ContainerArray{dataAndTLSInitContainer(c, image)}
	case hostPath:
		return corev1.ContainerArray{volume.PermissionsInitContainer(image, kraft.DataClaimName, kraft.DataMountPath, kraft.KafkaUID)}
	case c.Security.Enabled():
		return corev1.ContainerArray{tlsInitContainer(c, image)}
	}
	return nil
}

// dataAndTLSInitContainer is volume.PermissionsInitContainer and tlsInitContainer in one: the
// permissions script, then `kafka-ready cert`, then the runtime directory handed to Kafka's user
// (the certificate is written as root here). It runs as root with the capabilities chown needs,
// which the hostPath case needs anyway; the Kafka container still sees ca.crt alone.
func dataAndTLSInitContainer(c kraft.Config, image pulumi.StringInput) *corev1.ContainerArgs {
	ctr := tlsInitContainer(c, image)
	ctr.Name = pulumi.String(DataAndTLSInitContainerName)
	ctr.Command = pulumi.ToStringArray([]string{"/bin/sh", "-c", dataAndTLSScript(c)})
	ctr.VolumeMounts = append(corev1.VolumeMountArray{&corev1.VolumeMountArgs{Name: pulumi.String(kraft.DataClaimName), MountPath: pulumi.String(kraft.DataMountPath)}},
		ctr.VolumeMounts.(corev1.VolumeMountArray)...)
	sc := restricted()
	sc.RunAsUser = pulumi.Int(0)
	sc.RunAsNonRoot = pulumi.Bool(false)
	sc.Capabilities = volume.ChownCapabilities()
	ctr.SecurityContext = sc
	return ctr
}

// DataAndTLSInitContainerName names the init container of a hostPath stack with security "tls".
const DataAndTLSInitContainerName = "data-and-tls"

// dataAndTLSScript is dataAndTLSInitContainer's shell script. Kubernetes expands $(POD_NAME) in it
// before the shell runs; every argument is single-quoted (none contains a quote).
func dataAndTLSScript(c kraft.Config) string {
	quoted := make([]string, 0, len(tLSCertCommand(c)))
	for _, a := range tLSCertCommand(c) {
		quoted = append(quoted, "'"+a+"'")
	}
	runtimeDir := path.Dir(kraft.TLSRuntimeDir)
	return fmt.Sprintf("set -e; %s; %s; chown -R %d:%d '%s'", volume.PermissionsScript(kraft.DataMountPath, kraft.KafkaUID),
		strings.Join(quoted, " "), kraft.KafkaUID, kraft.KafkaUID, runtimeDir)
}

// restricted is the securityContext of every container of the cluster: no privilege escalation, a
// read-only root filesystem, no capabilities.
func restricted() *corev1.SecurityContextArgs {
	return &corev1.SecurityContextArgs{
		AllowPrivilegeEscalation: pulumi.Bool(false),
		ReadOnlyRootFilesystem:   pulumi.Bool(true),
		Capabilities:             &corev1.CapabilitiesArgs{Drop: pulumi.StringArray{pulumi.String("ALL")}},
	}
}
