package kraft

import (
	"cmp"
	"errors"
	"fmt"
)

// Deployed is what a stack recorded about the running cluster in its previous update (its stack
// outputs). The zero value means nothing is deployed yet.
type Deployed struct {
	Replicas     int
	Controllers  int
	ClusterID    string
	Namespace    string
	StorageClass string
	StorageSize  string
	HostPath     string
	// VolumeGenerations: see Config.VolumeGenerations.
	VolumeGenerations []int
	// KafkaVersion is the release the nodes run (its feature levels were raised after the roll).
	KafkaVersion string
	// Security is the listener security the nodes run with (Security.Mode); "" for a cluster
	// deployed before kafka-kraft had security, which is SecurityNone.
	Security string
	// ExternalBootstrap is the external bootstrap address list the previous update exported (a
	// scale-down reaches the running cluster through it). Not compared.
	ExternalBootstrap string
}

// IsZero reports whether nothing was deployed yet.
func (d Deployed) IsZero() bool {
	return d.Replicas == 0 && d.Controllers == 0 && d.ClusterID == "" && d.Namespace == "" &&
		d.StorageClass == "" && d.StorageSize == "" && d.HostPath == "" && len(d.VolumeGenerations) == 0 && d.KafkaVersion == ""
}

// DeployedOf returns what a Config records once deployed.
func DeployedOf(c Config) Deployed {
	return Deployed{
		Replicas:     c.Replicas,
		Controllers:  c.Controllers,
		ClusterID:    EffectiveClusterID(c),
		Namespace:    c.Namespace,
		StorageClass: c.Storage.Class,
		StorageSize:  c.Storage.Size,
		HostPath:     c.Storage.HostPath,

		VolumeGenerations: c.VolumeGenerations,
		KafkaVersion:      c.KafkaVersion,
		Security:          c.Security.Mode,
	}
}

// CheckTransition refuses changes that a running cluster cannot take safely. Growing the broker
// count is safe (new ordinals join as brokers; the quorum is untouched). These are not:
//   - changing controllers: the static voter set is written into every node's metadata; a new
//     voter set needs KIP-853 reconfiguration, which kafka-kraft does not automate;
//   - removing voters (replicas below controllers): the voter set is fixed. Removing broker-only
//     nodes is allowed: the scale-down Job moves their replicas away first (ScaleDownJobCommand);
//   - a Kafka release older than the deployed one's metadata.version: the levels were raised after
//     the upgrade's roll, and Kafka cannot lower metadata.version;
//   - changing security: every listener changes protocol at once, so during the roll the restarted
//     nodes and the others could not talk to each other (a safe switch needs a listener added, a
//     roll, the inter-broker listener moved, another roll; not automated yet);
//   - changing the cluster id: existing data belongs to the old id and nodes refuse to start;
//   - moving the namespace or the storage (class, size, host path): the StatefulSet's claim
//     templates are immutable and the data would be left behind.
func CheckTransition(prev Deployed, next Config) error {
	if prev.IsZero() {
		return nil
	}
	var errs []error
	refuse := func(key string, from, to any, why string) {
		errs = append(errs, fmt.Errorf("config %q cannot change from %v to %v on a deployed cluster: %s", key, from, to, why))
	}
	if prev.Controllers != 0 && prev.Controllers != next.Controllers {
		why := "the KRaft voter set is fixed when storage is formatted; to change it, deploy a new stack and migrate, or set it back"
		if next.Controllers == DefaultControllers(next.Replicas) && prev.Controllers == DefaultControllers(prev.Replicas) {
			// Most likely nobody set it: the default follows replicas (1 below three nodes, 3 from three).
			why = fmt.Sprintf("the KRaft voter set is fixed when storage is formatted, and %q defaults from %q (%d for %d replicas, %d for %d); "+
				"to keep the deployed voters, run `pulumi config set %s %d`",
				KeyControllers, KeyReplicas, prev.Controllers, prev.Replicas, next.Controllers, next.Replicas, KeyControllers, prev.Controllers)
		}
		refuse(KeyControllers, prev.Controllers, next.Controllers, why)
	}
	if prev.Replicas != 0 && next.Replicas < prev.Replicas && next.Replicas < prev.Controllers {
		refuse(KeyReplicas, prev.Replicas, next.Replicas, fmt.Sprintf(
			"the first %d nodes are the KRaft voters and are never removed; %d is the fewest replicas this cluster can have (broker-only nodes are removed after their partitions are moved)",
			prev.Controllers, prev.Controllers))
	}
	if from, to := Releases[prev.KafkaVersion], Releases[next.KafkaVersion]; from.Version != "" && to.Version != "" && to.MetadataVersion() < from.MetadataVersion() {
		refuse(KeyKafkaVersion, prev.KafkaVersion, next.KafkaVersion, fmt.Sprintf(
			"the cluster's metadata.version was raised to %d (Kafka %s's) once every node ran %s; Kafka %s supports metadata.version up to %d and would not start on this metadata, "+
				"and Kafka cannot lower metadata.version. Stay on %s or later",
			from.MetadataVersion(), from.Version, from.Version, to.Version, to.MetadataVersion(), from.Version))
	}
	if from := cmp.Or(prev.Security, SecurityNone); from != next.Security.Mode {
		why := "every listener would change protocol at once: during the roll the restarted nodes could not reach the others. Deploy a new stack with it and move the clients, or set it back"
		if prev.Security == "" {
			why = fmt.Sprintf("this cluster was deployed before kafka-kraft had security, and %q now defaults to %q. "+
				"To keep it running as it is, run `pulumi config set %s %s`; for TLS and SCRAM, deploy a new stack and move the clients", KeySecurity, SecurityTLS, KeySecurity, SecurityNone)
		}
		refuse(KeySecurity, from, next.Security.Mode, why)
	}
	if prev.ClusterID != "" && prev.ClusterID != EffectiveClusterID(next) {
		refuse(KeyClusterID, prev.ClusterID, EffectiveClusterID(next),
			"existing data belongs to the old cluster id and nodes would refuse to start")
	}
	if prev.Namespace != "" && prev.Namespace != next.Namespace {
		refuse(KeyNamespace, prev.Namespace, next.Namespace, "the data would be left behind in the old namespace")
	}
	if prev.StorageClass != next.Storage.Class {
		refuse(KeyStorageClass, fmt.Sprintf("%q", prev.StorageClass), fmt.Sprintf("%q", next.Storage.Class),
			"existing volumes would be abandoned and the StatefulSet's claim templates are immutable")
	}
	if prev.StorageSize != "" && prev.StorageSize != next.Storage.Size {
		refuse(KeyStorageSize, prev.StorageSize, next.Storage.Size, "the StatefulSet's claim templates are immutable")
	}
	if next.Storage.Class == "" && prev.HostPath != "" && prev.HostPath != next.Storage.HostPath {
		refuse(KeyStorageHostPath, prev.HostPath, next.Storage.HostPath, "the data lives in the old directory")
	}
	return errors.Join(errs...)
}
