package kraftcluster

import (
	batchv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/batch/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kafka-kraft/kafka-kraft/internal/kraft"
)

// clusterJobSpec is the Job that runs `kafka-ready cluster` (kraft.ClusterJobCommand) from the
// Kafka image: it waits for every broker, sets the cluster-wide defaults, raises the internal
// topics' replication factor and reads both back. Idempotent, so a retry or a rerun is harmless.
func clusterJobSpec(c kraft.Config, image pulumi.StringInput) *batchv1.JobSpecArgs {
	uid := pulumi.Int(kraft.KafkaUID)
	var vols corev1.VolumeArray
	var mounts corev1.VolumeMountArray
	if c.Security.Enabled() {
		vols = corev1.VolumeArray{secretVolume("tls", c.SecretNames.TLS), secretVolume("users", c.SecretNames.Users)}
		mounts = corev1.VolumeMountArray{mount("tls", kraft.TLSMountPath), mount("users", kraft.UsersMountPath)}
	}
	return &batchv1.JobSpecArgs{
		// A few retries ride over a broker that restarts meanwhile; the deadline bounds a stuck
		// reassignment (the command's own -timeout is shorter and names what it waited for).
		BackoffLimit:          pulumi.Int(3),
		ActiveDeadlineSeconds: pulumi.Int(1200),
		Template: &corev1.PodTemplateSpecArgs{
			Metadata: &metav1.ObjectMetaArgs{Labels: pulumi.ToStringMap(kraft.StableLabels(c, kraft.ClusterJobName))},
			Spec: &corev1.PodSpecArgs{
				RestartPolicy:      pulumi.String("Never"),
				EnableServiceLinks: pulumi.Bool(false),
				SecurityContext: &corev1.PodSecurityContextArgs{
					RunAsNonRoot:   pulumi.Bool(true),
					RunAsUser:      uid,
					RunAsGroup:     uid,
					FsGroup:        uid, // the Secrets are readable by this group only
					SeccompProfile: &corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
				},
				Volumes:          vols,
				ImagePullSecrets: pullSecrets(c),
				Containers: corev1.ContainerArray{&corev1.ContainerArgs{
					Name:            pulumi.String("cluster-config"),
					Image:           image,
					ImagePullPolicy: pulumi.String("IfNotPresent"),
					Command:         pulumi.ToStringArray(append(kraft.ClusterJobCommand(c), "-timeout", "15m")),
					VolumeMounts:    mounts,
					Resources: &corev1.ResourceRequirementsArgs{
						Requests: pulumi.StringMap{"cpu": pulumi.String("10m"), "memory": pulumi.String("32Mi")},
						Limits:   pulumi.StringMap{"memory": pulumi.String("128Mi")},
					},
					SecurityContext: restricted(),
				}},
			},
		},
	}
}
