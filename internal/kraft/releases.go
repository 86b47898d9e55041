package kraft

import (
	"embed"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Release is what kafka-kraft knows of one Kafka release it deploys: its broker settings (so a typo
// in brokerProperties is refused at preview, per version) and the feature levels a cluster formatted
// with it finalizes.
type Release struct {
	Version string
	// Features are the release's default feature levels (Kafka's `kafka-features.sh
	// version-mapping --release-version`). After an upgrade, the cluster-settings Job raises the
	// finalized levels to these once every node runs the release; it never lowers one.
	// kraft.version is left out: with the static voter set (controller.quorum.voters) it stays 0.
	Features map[string]int
}

// MetadataVersion is the release's metadata.version feature level.
func (r Release) MetadataVersion() int { return r.Features[MetadataVersionFeature] }

// MetadataVersionFeature names the feature that versions the cluster's metadata log.
const MetadataVersionFeature = "metadata.version"

// Releases are the Kafka releases kafkaVersion accepts. To add one: its feature levels from
// `java -cp "/opt/kafka/libs/*" org.apache.kafka.tools.FeatureCommand version-mapping
// --release-version X.Y` in its image, and its broker keys with
// `KAFKA_VERSION=X.Y.Z scripts/gen-broker-keys.sh`.
var Releases = map[string]Release{
	"4.3.1": {Version: "4.3.1", Features: map[string]int{
		MetadataVersionFeature: 30, "transaction.version": 2, "group.version": 1,
		"eligible.leader.replicas.version": 1, "share.version": 1, "streams.version": 1,
	}},
	"4.4.0": {Version: "4.4.0", Features: map[string]int{
		MetadataVersionFeature: 33, "transaction.version": 2, "group.version": 1,
		"eligible.leader.replicas.version": 1, "share.version": 2, "streams.version": 1,
	}},
}

// ReleaseVersions lists Releases' versions, oldest first.
func ReleaseVersions() []string {
	out := make([]string, 0, len(Releases))
	for v := range Releases {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return versionLess(out[i], out[j]) })
	return out
}

// versionLess compares dotted release numbers.
func versionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		x, _ := strconv.Atoi(pa[i]) // release numbers are digits (Releases' keys)
		y, _ := strconv.Atoi(pb[i])
		if x != y {
			return x < y
		}
	}
	return len(pa) < len(pb)
}

// brokerKeyFiles list every broker configuration key of each release, one per line, generated from
// its jars by scripts/gen-broker-keys.sh.
//
//go:embed brokerkeys/*.txt
var brokerKeyFiles embed.FS

// brokerKeys maps each release to the set of its broker keys.
var brokerKeys = func() map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for v := range Releases {
		b, err := brokerKeyFiles.ReadFile("brokerkeys/" + v + ".txt")
		if err != nil {
			panic(fmt.Sprintf("release %s has no broker key list: %v", v, err))
		}
		m := map[string]bool{}
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				m[l] = true
			}
		}
		out[v] = m
	}
	return out
}()
