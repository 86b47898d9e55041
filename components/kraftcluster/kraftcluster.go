// Package kraftcluster is the KraftCluster component: the rendered KRaft configuration, storage, the
// headless and per-broker NodePort Services, a PodDisruptionBudget and the StatefulSet. Every value
// it writes comes from internal/kraft; this package only turns those values into resources.
package kraftcluster

import (
	"fmt"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	batchv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/batch/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	policyv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/policy/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kafka-kraft/kafka-kraft/internal/kraft"
	"github.com/kafka-kraft/kafka-kraft/internal/volume"
)

// TypeToken is the component's Pulumi type.
const TypeToken = "kafka-kraft:index:KraftCluster"

// ConfigHashAnnotation carries kraft.Rendered.Hash on the pod template: a configuration change
// changes the template and rolls the pods (a ConfigMap update alone would not).
const ConfigHashAnnotation = "kafka-kraft.io/config-hash"

// KraftCluster is a Kafka cluster in KRaft mode. Its outputs, with the values of a default cluster
// in namespace "kafka-kraft":
type KraftCluster struct {
	pulumi.ResourceState

	// BootstrapServers is the in-cluster bootstrap address (the headless Service; the CLIENT
	// listener with TLS, INTERNAL without): "kafka-svc.kafka-kraft.svc.cluster.local:9095".
	BootstrapServers pulumi.StringOutput `pulumi:"bootstrapServers"`
	// ExternalBootstrapServers lists every broker's NodePort address for clients outside the
	// cluster: "127.0.0.1:31090,127.0.0.1:31091,127.0.0.1:31092".
	ExternalBootstrapServers pulumi.StringOutput `pulumi:"externalBootstrapServers"`
	// ClusterID is the Kafka cluster id every node's storage is formatted with:
	// "MkU3OEVBNTcwNTJENDM2Qg" (22 characters of URL-safe base64).
	ClusterID pulumi.StringOutput `pulumi:"clusterId"`
	// Settled resolves (to the cluster-settings Job's name, "kafka-cluster-config-<hash>") once
	// the StatefulSet was updated and the Job completed: the cluster then runs this configuration.
	// An update that fails before never resolves it, so what depends on it (the kafka-kraft
	// program's record of the deployment) keeps its old value.
	Settled pulumi.StringOutput `pulumi:"settled"`
	// CACertificate is the cluster CA clients verify the brokers with ("-----BEGIN
	// CERTIFICATE-----..."); "" with Security.Mode "none".
	CACertificate pulumi.StringOutput `pulumi:"caCertificate"`
}

// headlessPorts are the headless Service's ports: the CLIENT listener too when security is on.
func headlessPorts(c kraft.Config) corev1.ServicePortArray {
	ports := corev1.ServicePortArray{
		&corev1.ServicePortArgs{Name: pulumi.String("internal"), Port: pulumi.Int(kraft.InternalPort)},
		&corev1.ServicePortArgs{Name: pulumi.String("controller"), Port: pulumi.Int(kraft.ControllerPort)},
	}
	if c.Security.Enabled() {
		ports = append(ports, &corev1.ServicePortArgs{Name: pulumi.String("client"), Port: pulumi.Int(kraft.ClientPort)})
	}
	return ports
}

// New creates the cluster. The StatefulSet is awaited until every pod is Ready.
func New(ctx *pulumi.Context, name string, args *Args, opts ...pulumi.ResourceOption) (*KraftCluster, error) {
	if args == nil {
		args = &Args{}
	}
	// Before anything is registered: a refusal leaves nothing half made.
	if err := args.validate(ctx.Stack(), name); err != nil {
		return nil, fmt.Errorf("kraftcluster %q:\n%w", name, err)
	}
	a := args.withDefaults(ctx.Stack(), name)
	c := a.config(ctx.Project())
	cr := a.Security.Credentials
	data := secretData{CACert: cr.CACert, CAKey: cr.CAKey}
	if c.Security.Enabled() {
		data.UsersFile = kraft.UsersFile(c.Security, cr.AdminPassword, nil)
	}
	namespace := pulumi.String(c.Namespace)

	k := &KraftCluster{}
	if err := ctx.RegisterComponentResource(TypeToken, name, k, opts...); err != nil {
		return nil, err
	}
	rendered := kraft.Render(c)
	// The Kafka version label goes on the pods only (statefulset.go): on the other objects a version
	// change would be an update for nothing, and on claim templates a replacement of the StatefulSet.
	labels := kraft.StableLabels(c, kraft.StatefulSetName)
	selector := kraft.SelectorLabels(c, kraft.StatefulSetName)
	parent := pulumi.Parent(k)
	meta := func(n string) *metav1.ObjectMetaArgs {
		return &metav1.ObjectMetaArgs{Name: pulumi.String(n), Namespace: namespace, Labels: pulumi.ToStringMap(labels)}
	}

	// Content-addressed and immutable (rendered.Name has a hash of the files): a change makes a new
	// ConfigMap, created before the StatefulSet refers to it; the old one is deleted after the
	// StatefulSet was updated. A pod never starts without its configuration, and no ConfigMap is
	// ever deleted and recreated under a fixed name.
	// Secret broker settings are never in it (kraft.SplitBrokerProperties): they go to a Secret.
	cm, err := corev1.NewConfigMap(ctx, name+"-config", &corev1.ConfigMapArgs{
		Metadata:  meta(rendered.Name),
		Immutable: pulumi.Bool(true),
		Data:      pulumi.ToStringMap(rendered.Files),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("configmap: %w", err)
	}
	secrets, err := newSecrets(ctx, name, c, rendered, data, namespace, parent)
	if err != nil {
		return nil, err
	}
	if c.Security.Enabled() {
		if _, err := networkingv1.NewNetworkPolicy(ctx, name, &networkingv1.NetworkPolicyArgs{
			Metadata: meta(kraft.StatefulSetName),
			Spec:     networkPolicySpec(c),
		}, parent); err != nil {
			return nil, fmt.Errorf("network policy: %w", err)
		}
	}

	if _, err := corev1.NewService(ctx, name+"-headless", &corev1.ServiceArgs{
		Metadata: meta(kraft.HeadlessServiceName),
		Spec: &corev1.ServiceSpecArgs{
			ClusterIP: pulumi.String("None"),
			// A KRaft quorum forms only if voters can resolve each other before any is Ready: the
			// pods' DNS records must exist while they are not ready yet.
			PublishNotReadyAddresses: pulumi.Bool(true),
			Selector:                 pulumi.ToStringMap(selector),
			Ports:                    headlessPorts(c),
		},
	}, parent); err != nil {
		return nil, fmt.Errorf("headless service: %w", err)
	}

	if err := newMonitoring(ctx, name, c, namespace, parent); err != nil {
		return nil, err
	}

	nodes := kraft.Nodes(c)
	for _, n := range nodes {
		if _, err := corev1.NewService(ctx, fmt.Sprintf("%s-external-%d", name, n.Ordinal), &corev1.ServiceArgs{
			Metadata: meta(fmt.Sprintf("%s-external-%d", kraft.StatefulSetName, n.Ordinal)),
			Spec: &corev1.ServiceSpecArgs{
				Type: pulumi.String("NodePort"),
				// One Service per broker: a client that was told "broker 2 is at host:base+2" must
				// reach exactly broker 2, never a load-balanced neighbour. And reach it whether or not
				// it is Ready: readiness means "caught up, safe to restart the next node", and a broker
				// that has just dropped out of one ISR still leads other partitions.
				PublishNotReadyAddresses: pulumi.Bool(true),
				Selector:                 pulumi.StringMap{"statefulset.kubernetes.io/pod-name": pulumi.String(n.PodName)},
				Ports: corev1.ServicePortArray{&corev1.ServicePortArgs{
					Name:       pulumi.String("external"),
					Port:       pulumi.Int(kraft.ExternalPort),
					TargetPort: pulumi.Int(kraft.ExternalPort),
					NodePort:   pulumi.Int(n.ExternalNodePort),
				}},
			},
		}, parent); err != nil {
			return nil, fmt.Errorf("external service %d: %w", n.Ordinal, err)
		}
	}

	// hostPath mode: Pulumi owns one PV and its claim per ordinal, named as the StatefulSet would name
	// them, and the StatefulSet waits for them; otherwise the controller would create the claim from
	// the template first and race the pre-bound PV.
	var claims []pulumi.Resource
	if c.Storage.Class == "" {
		for _, n := range nodes {
			claim := kraft.DataClaim(n.Ordinal)
			pvName, dir := kraft.BrokerVolume(c, n.Ordinal)
			pvc, err := volume.Claim(ctx, fmt.Sprintf("%s-%s", name, claim), volume.ClaimArgs{
				Namespace:  namespace,
				ClaimName:  claim,
				Size:       c.Storage.Size,
				VolumeName: pvName,
				HostPath:   dir,
				Labels:     labels,
			}, parent)
			if err != nil {
				return nil, fmt.Errorf("storage of %s: %w", n.PodName, err)
			}
			claims = append(claims, pvc)
		}
	}

	if _, err := policyv1.NewPodDisruptionBudget(ctx, name, &policyv1.PodDisruptionBudgetArgs{
		Metadata: meta(kraft.StatefulSetName),
		Spec: &policyv1.PodDisruptionBudgetSpecArgs{
			// One node at a time (none with a single voter): see kraft.MaxUnavailable.
			MaxUnavailable: pulumi.Int(kraft.MaxUnavailable(c)),
			Selector:       &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(selector)},
		},
	}, parent); err != nil {
		return nil, fmt.Errorf("pod disruption budget: %w", err)
	}

	// The StatefulSet depends on the ConfigMap, so a new ConfigMap exists before the pods refer to it.
	// This is safe because its name changes with its content: the provider replaces it create-first
	// and only updates the StatefulSet. (With a fixed name the provider deleted it first, and a
	// dependent of a delete-before-replace resource is deleted and recreated with it: every broker
	// down at once, seen in the e2e tier before the name was content-addressed.)
	// The same holds for the content-addressed Secrets.
	stsOpts := []pulumi.ResourceOption{parent, pulumi.DependsOn(append(append(claims, cm), secrets...))}
	sts, err := appsv1.NewStatefulSet(ctx, name, &appsv1.StatefulSetArgs{
		Metadata: meta(kraft.StatefulSetName),
		Spec:     statefulSetSpec(c, rendered, args.Image, pulumi.String(rendered.Name)),
	}, stsOpts...)
	if err != nil {
		return nil, fmt.Errorf("statefulset %q: %w", kraft.StatefulSetName, err)
	}

	// The settings a running cluster does not read from server.properties (ClusterSettings) are
	// applied through the Admin API by a Job, once the StatefulSet is Ready (the provider awaits its
	// rollout). The Job's name is a hash of its command: a changed setting or a growth makes a new
	// Job, which the provider awaits until it has completed; an unchanged stack keeps the old one.
	jobMeta := &metav1.ObjectMetaArgs{
		Name: pulumi.String(kraft.ClusterJobObjectName(c)), Namespace: namespace,
		Labels: pulumi.ToStringMap(kraft.StableLabels(c, kraft.ClusterJobName)),
		// A Job that failed (say, the cluster was down) is run again by the next `up` instead of
		// being awaited again as it is. Nothing depends on it, so its replacement touches nothing else.
		Annotations: pulumi.StringMap{"pulumi.com/replaceUnready": pulumi.String("true")},
	}
	// The provider's default await is 10 minutes; the Job may wait for a roll, a reassignment and
	// removed brokers to stop (its own -timeout is 15 minutes, its activeDeadlineSeconds 20).
	jobTimeouts := pulumi.Timeouts(&pulumi.CustomTimeouts{Create: "25m", Update: "25m"})
	job, err := batchv1.NewJob(ctx, name+"-cluster-config", &batchv1.JobArgs{
		Metadata: jobMeta,
		Spec:     clusterJobSpec(c, args.Image),
	}, parent, pulumi.DependsOn(append([]pulumi.Resource{sts}, secrets...)), jobTimeouts,
		// The old Job goes before the new one starts: one left running by an interrupted `up` would
		// otherwise work beside it with another users file (deleting a user the new one adds).
		// Nothing depends on the Job, so deleting it first takes nothing else with it.
		pulumi.DeleteBeforeReplace(true))
	if err != nil {
		return nil, fmt.Errorf("cluster settings job: %w", err)
	}
	k.Settled = job.Metadata.Name().Elem()

	k.CACertificate = pulumi.String("").ToStringOutput()
	if c.Security.Enabled() {
		k.CACertificate = pulumi.String(cr.CACert).ToStringOutput()
	}
	k.BootstrapServers = pulumi.String(kraft.BootstrapServers(c)).ToStringOutput()
	k.ExternalBootstrapServers = pulumi.String(kraft.ExternalBootstrapServers(c)).ToStringOutput()
	k.ClusterID = pulumi.String(rendered.ClusterID).ToStringOutput()
	if err := ctx.RegisterResourceOutputs(k, pulumi.Map{
		"bootstrapServers":         k.BootstrapServers,
		"externalBootstrapServers": k.ExternalBootstrapServers,
		"clusterId":                k.ClusterID,
	}); err != nil {
		return nil, err
	}
	return k, nil
}
