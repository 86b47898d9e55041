package kraftcluster

import (
	"fmt"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kafka-kraft/kafka-kraft/internal/kraft"
	"github.com/kafka-kraft/kafka-kraft/monitoring"
)

// ReadinessCommand is the readiness probe of every Kafka container (see docker/kafka-ready).
var ReadinessCommand = []string{"/opt/kafka/bin/kafka-ready", "-timeout", "2s"}

// ReadinessPeriodSeconds is how often the probe runs: it costs a few milliseconds, and a restarted
// broker that has caught up should be seen Ready (and the roll go on) within a second: every roll
// waits for it once per node (make bench-deploy measured 3.5 s between unfenced and Ready seen
// with a 3 s period behind a 5 s startup probe, under 1 s in plain docker).
const ReadinessPeriodSeconds = 1

// ReadinessFailureThreshold keeps the time before a Ready node is taken out at about 9 s whatever
// the period: an ISR shrink that heals in seconds should not count as a disruption.
const ReadinessFailureThreshold = 9

// StartupPeriodSeconds is how often the kubelet tries the listener until it first answers; the
// readiness probe runs only after that, so a longer period delays Ready by up to a period. A TCP
// connect is cheap enough to try every second.
const StartupPeriodSeconds = 1

// spreadConstraints turns kraft.SpreadRules into the pod template's topology spread constraints.
func spreadConstraints(c kraft.Config) corev1.TopologySpreadConstraintArray {
	var out corev1.TopologySpreadConstraintArray
	for _, r := range kraft.SpreadRules(c) {
		selector := &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(kraft.SelectorLabels(c, kraft.StatefulSetName))}
		if len(r.PodIndexes) > 0 {
			selector.MatchExpressions = metav1.LabelSelectorRequirementArray{&metav1.LabelSelectorRequirementArgs{
				Key: pulumi.String(kraft.PodIndexLabel), Operator: pulumi.String("In"), Values: pulumi.ToStringArray(r.PodIndexes),
			}}
		}
		tsc := &corev1.TopologySpreadConstraintArgs{
			MaxSkew:           pulumi.Int(1),
			TopologyKey:       pulumi.String(r.TopologyKey),
			WhenUnsatisfiable: pulumi.String(r.WhenUnsatisfiable),
			LabelSelector:     selector,
		}
		if r.HonorTaints {
			tsc.NodeTaintsPolicy = pulumi.String("Honor")
		}
		out = append(out, tsc)
	}
	return out
}

// statefulSetSpec builds the StatefulSet spec. Kept apart from New so the shape of the pods reads in
// one place.
func statefulSetSpec(c kraft.Config, rendered kraft.Rendered, image pulumi.StringInput, configMap pulumi.StringInput) *appsv1.StatefulSetSpecArgs {
	labels := kraft.Labels(c, kraft.StatefulSetName)
	uid := pulumi.Int(kraft.KafkaUID)
	tcp := func(port int) *corev1.TCPSocketActionArgs { return &corev1.TCPSocketActionArgs{Port: pulumi.Int(port)} }

	claimClass := pulumi.String(c.Storage.Class) // "" = no dynamic provisioning (hostPath PVs)

	secretVols, secretMounts := securityVolumes(c)
	annotations := pulumi.StringMap{ConfigHashAnnotation: pulumi.String(rendered.Hash)}
	// TCP probes go to a port every peer may reach: with security on, the NetworkPolicy admits the
	// node listeners from Kafka pods only, and some network plugins count the kubelet as outside.
	probePort := kraft.InternalPort
	ports := corev1.ContainerPortArray{
		&corev1.ContainerPortArgs{Name: pulumi.String("internal"), ContainerPort: pulumi.Int(kraft.InternalPort)},
		&corev1.ContainerPortArgs{Name: pulumi.String("controller"), ContainerPort: pulumi.Int(kraft.ControllerPort)},
		&corev1.ContainerPortArgs{Name: pulumi.String("external"), ContainerPort: pulumi.Int(kraft.ExternalPort)},
	}
	metricsAnnotations(c, annotations)
	if metricsOn(c) {
		ports = append(ports, &corev1.ContainerPortArgs{Name: pulumi.String(monitoring.MetricsPortName), ContainerPort: pulumi.Int(monitoring.MetricsPort)})
	}
	if c.Security.Enabled() {
		annotations[TLSEpochAnnotation] = pulumi.String(fmt.Sprint(c.TLSEpoch))
		probePort = kraft.ClientPort
		ports = append(ports, &corev1.ContainerPortArgs{Name: pulumi.String("client"), ContainerPort: pulumi.Int(kraft.ClientPort)})
	}

	initContainers := nodeInitContainers(c, image)

	return &appsv1.StatefulSetSpecArgs{
		ServiceName: pulumi.String(kraft.HeadlessServiceName),
		Replicas:    pulumi.Int(c.Replicas),
		// Parallel: every voter must be running before any can become Ready (a quorum needs a
		// majority), so OrderedReady would wait forever for kafka-0 on a fresh cluster.
		PodManagementPolicy: pulumi.String("Parallel"),
		UpdateStrategy:      &appsv1.StatefulSetUpdateStrategyArgs{Type: pulumi.String("RollingUpdate")},
		Selector:            &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(kraft.SelectorLabels(c, kraft.StatefulSetName))},
		// Claims outlive the StatefulSet (destroy keeps the data unless the stack deletes it). A
		// scale-down deletes the removed brokers' claims: their replicas were moved away first (the
		// scale-down Job), and a broker added later must start empty, not on stale data (with a
		// storageClass the volume follows the class's reclaim policy; hostPath volumes get a new
		// directory per generation, kraft.BrokerVolume).
		PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicyArgs{
			WhenDeleted: pulumi.String("Retain"),
			WhenScaled:  pulumi.String("Delete"),
		},
		Template: &corev1.PodTemplateSpecArgs{
			Metadata: &metav1.ObjectMetaArgs{
				Labels:      pulumi.ToStringMap(labels),
				Annotations: annotations,
			},
			Spec: &corev1.PodSpecArgs{
				// Controlled shutdown moves partition leadership away before the broker exits.
				TerminationGracePeriodSeconds: pulumi.Int(120),
				SecurityContext: &corev1.PodSecurityContextArgs{
					RunAsNonRoot:        pulumi.Bool(true),
					RunAsUser:           uid,
					RunAsGroup:          uid,
					FsGroup:             uid,
					FsGroupChangePolicy: pulumi.String("OnRootMismatch"),
					SeccompProfile:      &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
				},
				InitContainers:   initContainers,
				ImagePullSecrets: pullSecrets(c),
				// Services named like kafka-* would inject KAFKA_* variables, which some images map
				// to broker settings; ours reads none, and the pod needs none of them.
				EnableServiceLinks:        pulumi.Bool(false),
				TopologySpreadConstraints: spreadConstraints(c),
				Containers: corev1.ContainerArray{&corev1.ContainerArgs{
					Name:            pulumi.String("kafka"),
					Image:           image,
					ImagePullPolicy: pulumi.String("IfNotPresent"),
					Env: append(corev1.EnvVarArray{
						&corev1.EnvVarArgs{Name: pulumi.String("POD_NAME"), ValueFrom: &corev1.EnvVarSourceArgs{
							FieldRef: &corev1.ObjectFieldSelectorArgs{FieldPath: pulumi.String("metadata.name")},
						}},
						&corev1.EnvVarArgs{Name: pulumi.String("KAFKA_CLUSTER_ID"), Value: pulumi.String(rendered.ClusterID)},
						&corev1.EnvVarArgs{Name: pulumi.String("KAFKA_CONFIG_DIR"), Value: pulumi.String(kraft.ConfigMountPath)},
						&corev1.EnvVarArgs{Name: pulumi.String("KAFKA_HEAP_OPTS"), Value: pulumi.String(c.Resources.HeapOpts)},
						metricsEnv(c),
					}, securityEnv(c)...),
					Ports: ports,
					// Readiness means "safe to restart the next node": kafka-ready (a small static binary in
					// the image, docker/kafka-ready) passes once this node's broker is registered and
					// unfenced, back in the ISR of every partition it replicates and, on a voter, caught up
					// with the quorum leader. The StatefulSet's RollingUpdate restarts the next pod only
					// when the previous one is Ready, so a roll never takes a second replica of a partition
					// out of the ISR. It asks the node's own broker, never the quorum as a whole: a
					// quorum-level check would turn every pod unready at once during an election.
					ReadinessProbe: &corev1.ProbeArgs{
						Exec:             &corev1.ExecActionArgs{Command: pulumi.ToStringArray(ReadinessCommand)},
						PeriodSeconds:    pulumi.Int(ReadinessPeriodSeconds),
						TimeoutSeconds:   pulumi.Int(5),
						FailureThreshold: pulumi.Int(ReadinessFailureThreshold),
					},
					// Log recovery after an unclean stop can take minutes: the startup probe gives it
					// ten before liveness may restart the container.
					StartupProbe: &corev1.ProbeArgs{TcpSocket: tcp(probePort), PeriodSeconds: pulumi.Int(StartupPeriodSeconds),
						FailureThreshold: pulumi.Int(600 / StartupPeriodSeconds)},
					LivenessProbe: &corev1.ProbeArgs{TcpSocket: tcp(probePort), PeriodSeconds: pulumi.Int(15), FailureThreshold: pulumi.Int(4)},
					Resources: &corev1.ResourceRequirementsArgs{
						Requests: pulumi.StringMap{"cpu": pulumi.String(c.Resources.CPURequest), "memory": pulumi.String(c.Resources.MemoryRequest)},
						Limits:   pulumi.StringMap{"cpu": pulumi.String(c.Resources.CPULimit), "memory": pulumi.String(c.Resources.MemoryLimit)},
					},
					SecurityContext: restricted(),
					VolumeMounts: append(corev1.VolumeMountArray{
						&corev1.VolumeMountArgs{Name: pulumi.String(kraft.DataClaimName), MountPath: pulumi.String(kraft.DataMountPath)},
						&corev1.VolumeMountArgs{Name: pulumi.String("config"), MountPath: pulumi.String(kraft.ConfigMountPath), ReadOnly: pulumi.Bool(true)},
						// The root filesystem is read-only; the entrypoint renders its runtime file and
						// the JVM keeps its perf data here.
						&corev1.VolumeMountArgs{Name: pulumi.String("tmp"), MountPath: pulumi.String("/tmp")},
					}, secretMounts...),
				}},
				Volumes: append(corev1.VolumeArray{
					&corev1.VolumeArgs{Name: pulumi.String("config"), ConfigMap: &corev1.ConfigMapVolumeSourceArgs{Name: configMap}},
					&corev1.VolumeArgs{Name: pulumi.String("tmp"), EmptyDir: &corev1.EmptyDirVolumeSourceArgs{}},
				}, secretVols...),
			},
		},
		// Claim templates are immutable: any change to them makes the provider delete and recreate the
		// StatefulSet, every node down at once. So they carry only labels that never change (not the
		// Kafka version), and every field they hold is one CheckTransition refuses to change.
		VolumeClaimTemplates: corev1.PersistentVolumeClaimTypeArray{&corev1.PersistentVolumeClaimTypeArgs{
			Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(kraft.DataClaimName), Labels: pulumi.ToStringMap(kraft.StableLabels(c, kraft.StatefulSetName))},
			Spec: &corev1.PersistentVolumeClaimSpecArgs{
				AccessModes:      pulumi.StringArray{pulumi.String("ReadWriteOnce")},
				StorageClassName: claimClass,
				Resources: &corev1.VolumeResourceRequirementsArgs{
					Requests: pulumi.StringMap{"storage": pulumi.String(c.Storage.Size)},
				},
			},
		}},
	}
}
