// Package volume creates the PersistentVolumeClaims that the Registry and KraftCluster components
// mount: dynamically provisioned from a StorageClass, or a hostPath PersistentVolume pre-bound to
// exactly one claim (the original tutorial's storage, made safe for several stacks per cluster).
package volume

import (
	"fmt"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// ClaimArgs describes one claim.
type ClaimArgs struct {
	// Namespace and ClaimName name the PVC.
	Namespace pulumi.StringInput
	ClaimName string
	// Size is a Kubernetes byte quantity.
	Size string
	// StorageClass, when set, provisions dynamically; otherwise a hostPath PV is created.
	StorageClass string
	// VolumeName names the cluster-scoped PV (hostPath mode only); it must be unique per stack.
	VolumeName string
	// HostPath is the directory on the node (hostPath mode only). Created when missing.
	HostPath string
	// Labels go on the PV and the PVC.
	Labels map[string]string
}

// Claim creates the PVC (and in hostPath mode its PV). The PV's claimRef pre-binds it to this
// claim only, so no other claim in the cluster can take the data; Retain keeps the directory's
// contents when the objects are deleted.
func Claim(ctx *pulumi.Context, name string, args ClaimArgs, opts ...pulumi.ResourceOption) (*corev1.PersistentVolumeClaim, error) {
	spec := &corev1.PersistentVolumeClaimSpecArgs{
		AccessModes: pulumi.StringArray{pulumi.String("ReadWriteOnce")},
		Resources: &corev1.VolumeResourceRequirementsArgs{
			Requests: pulumi.StringMap{"storage": pulumi.String(args.Size)},
		},
	}
	annotations := pulumi.StringMap{}
	claimOpts := opts
	if args.StorageClass != "" {
		spec.StorageClassName = pulumi.String(args.StorageClass)
		// Classes with volumeBindingMode WaitForFirstConsumer (local-path, most cloud classes) bind
		// only once a pod uses the claim, and the pod is created after the claim: waiting for Bound
		// here would deadlock.
		annotations["pulumi.com/skipAwait"] = pulumi.String("true")
	} else {
		pv, err := corev1.NewPersistentVolume(ctx, name+"-pv", &corev1.PersistentVolumeArgs{
			Metadata: &metav1.ObjectMetaArgs{
				Name:   pulumi.String(args.VolumeName),
				Labels: pulumi.ToStringMap(args.Labels),
			},
			Spec: &corev1.PersistentVolumeSpecArgs{
				Capacity:                      pulumi.StringMap{"storage": pulumi.String(args.Size)},
				AccessModes:                   pulumi.StringArray{pulumi.String("ReadWriteOnce")},
				PersistentVolumeReclaimPolicy: pulumi.String("Retain"),
				// An empty class keeps the default StorageClass's provisioner away from this PV.
				StorageClassName: pulumi.String(""),
				HostPath: &corev1.HostPathVolumeSourceArgs{
					Path: pulumi.String(args.HostPath),
					Type: pulumi.String("DirectoryOrCreate"),
				},
				ClaimRef: &corev1.ObjectReferenceArgs{
					Namespace: args.Namespace,
					Name:      pulumi.String(args.ClaimName),
				},
			},
		}, opts...)
		if err != nil {
			return nil, err
		}
		spec.StorageClassName = pulumi.String("")
		spec.VolumeName = pulumi.String(args.VolumeName)
		// Awaited (no skipAwait), on purpose, though the claim is pre-bound: the PV controller binds
		// most claims within a second but some only at its next resync, up to 15 s later, and a pod
		// whose claim is unbound waits in the scheduler. Without the await the StatefulSet's pods start
		// that far apart, and a node that starts before its peers have pod IPs likely gets their names
		// cached as missing (CoreDNS's default `ttl 30`): make bench-deploy saw a fresh quorum form 30 s late.
		// With the await every Kafka pod starts together.
		claimOpts = append(append([]pulumi.ResourceOption{}, opts...), pulumi.DependsOn([]pulumi.Resource{pv}))
	}
	return corev1.NewPersistentVolumeClaim(ctx, name, &corev1.PersistentVolumeClaimArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name:        pulumi.String(args.ClaimName),
			Namespace:   args.Namespace,
			Labels:      pulumi.ToStringMap(args.Labels),
			Annotations: annotations,
		},
		Spec: spec,
	}, claimOpts...)
}

// PermissionsScript gives a mounted directory to uid:uid when it is not already theirs. It changes
// ownership only when it is wrong, so restarts with a large data directory stay fast.
func PermissionsScript(dir string, uid int) string {
	return fmt.Sprintf(`d=%[1]s; if [ "$(stat -c %%u:%%g "$d")" != "%[2]d:%[2]d" ]; then chown -R %[2]d:%[2]d "$d"; fi; chmod 0750 "$d"`, dir, uid)
}

// PermissionsInitContainer is a short root init container that runs PermissionsScript. It is needed
// for hostPath volumes only: the kubelet creates their directories as root and fsGroup does not
// apply to them. It keeps just the capabilities chown needs.
func PermissionsInitContainer(image pulumi.StringInput, volumeName, dir string, uid int) *corev1.ContainerArgs {
	return &corev1.ContainerArgs{
		Name:    pulumi.String("data-permissions"),
		Image:   image,
		Command: pulumi.StringArray{pulumi.String("/bin/sh"), pulumi.String("-c"), pulumi.String(PermissionsScript(dir, uid))},
		SecurityContext: &corev1.SecurityContextArgs{
			RunAsUser:    pulumi.Int(0),
			RunAsNonRoot: pulumi.Bool(false),
			Capabilities: ChownCapabilities(),
		},
		VolumeMounts: corev1.VolumeMountArray{&corev1.VolumeMountArgs{Name: pulumi.String(volumeName), MountPath: pulumi.String(dir)}},
	}
}

// ChownCapabilities are the only capabilities a root container running PermissionsScript keeps.
func ChownCapabilities() *corev1.CapabilitiesArgs {
	return &corev1.CapabilitiesArgs{
		Drop: pulumi.StringArray{pulumi.String("ALL")},
		Add:  pulumi.StringArray{pulumi.String("CHOWN"), pulumi.String("DAC_OVERRIDE"), pulumi.String("FOWNER")},
	}
}
