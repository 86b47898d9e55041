package stack

import (
	"encoding/json"
	"flag"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/kafka-kraft/kafka-kraft/internal/delivery"
	goldenfile "github.com/kafka-kraft/kafka-kraft/internal/golden"
	"github.com/kafka-kraft/kafka-kraft/internal/kraft"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/*.golden from the current program")

// changeValues holds, for every configuration key, a changed value that a user might set on a
// running default stack. Every key in Keys() must have one: a key added without an entry
// fails TestEveryConfigChangeUpdatesTheStatefulSetInPlace.
var changeValues = map[string]string{
	kraft.KeyReplicas:             "4",
	kraft.KeyControllers:          "1",
	kraft.KeyNamespace:            "kafka-other",
	kraft.KeyClusterDomain:        "cluster.example",
	kraft.KeyClusterID:            "MkU3OEVBNTcwNTJENDM2Qg",
	kraft.KeyExternalHost:         "10.0.0.5",
	kraft.KeyExternalNodePortBase: "31190",
	kraft.KeyStorageSize:          "20Gi",
	kraft.KeyStorageClass:         "local-path",
	kraft.KeyStorageHostPath:      "/srv/kafka",
	kraft.KeySpread:               "hard",
	kraft.KeyReassignmentThrottle: "100Mi",
	kraft.KeySecurity:             "none",
	kraft.KeyMonitoring:           "prometheus-operator",
	kraft.KeyUsers:                `{"orders": {"acls": [{"resource": "topic", "name": "orders", "operations": ["write"]}]}}`,
	kraft.KeyCPURequest:           "750m",
	kraft.KeyCPULimit:             "3",
	kraft.KeyMemoryRequest:        "768Mi",
	kraft.KeyMemoryLimit:          "3Gi",
	kraft.KeyHeapOpts:             "-Xms768m -Xmx768m",
	kraft.KeyBrokerProperties:     `{"log.retention.hours": "72"}`,
	delivery.KeyRegistry:          "registry.example:5000",
	delivery.KeyRegistryImage:     "registry.example/registry:2.8.3",
	delivery.KeyRegistryNodePort:  "31501",
	delivery.KeyRegistrySize:      "20Gi",
	delivery.KeyImage:             "registry.example/kafka:4.4.0",
	delivery.KeyImageRepository:   "kafka-kraft-other",
	kraft.KeyKafkaVersion:         "4.3.1",
	delivery.KeyBaseImage:         "eclipse-temurin:17.0.16_8-jre-noble",
	delivery.KeyDistSource:        "context",
	delivery.KeyImageContext:      "./docker-other",
	delivery.KeyKcatEnabled:       "false",
	delivery.KeyKcatImage:         "registry.example/kcat:1.7.1",
}

// statefulSetImmutable are the StatefulSet spec fields Kubernetes refuses to update: a change to
// any of them makes pulumi-kubernetes delete and recreate the StatefulSet, every broker and voter
// down at once.
var statefulSetImmutable = []string{"selector", "serviceName", "podManagementPolicy", "volumeClaimTemplates"}

// TestEveryConfigChangeUpdatesTheStatefulSetInPlace changes each configuration key of a deployed
// default stack, one at a time, and runs the program. Each change is either refused before anything
// is registered, or accepted with the StatefulSet's immutable fields exactly as before (so the
// provider updates it in place and the pods roll one at a time). The golden file lists, per key,
// the refusal or the objects whose inputs change and whether the pods roll: review it when it
// changes (go test ./internal/stack -run EveryConfigChange -update).
func TestEveryConfigChangeUpdatesTheStatefulSetInPlace(t *testing.T) {
	t.Parallel()
	deployed := deployedMap(t, kraft.Defaults("kafka-kraft", "test"))
	// Every run reads back the same secret material, as an update of a deployed stack does.
	_, first, err := run(t, map[string]string{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	state := first[OutputSecurityState]
	base, _, err := runState(t, false, map[string]string{}, deployed, state)
	if err != nil {
		t.Fatalf("no-change run: %v", err)
	}
	baseSet := base.one(t, tStatefulSet, "kafka")

	var golden strings.Builder
	golden.WriteString("# key: what a change of it on a deployed default stack does (TestEveryConfigChangeUpdatesTheStatefulSetInPlace)\n")
	for _, key := range Keys() {
		value, ok := changeValues[key]
		if !ok {
			t.Errorf("config key %q has no entry in changeValues: say what changing it does", key)
			continue
		}
		rec, _, err := runState(t, false, map[string]string{key: value}, deployed, state)
		if err != nil {
			first := strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "1 error occurred:", "")), " ")
			if !strings.Contains(err.Error(), `"`+key+`"`) {
				t.Errorf("%s=%s refused without naming the key: %v", key, value, err)
			}
			fmt.Fprintf(&golden, "%s=%s: refused: %s\n", key, value, first)
			continue
		}
		set := rec.one(t, tStatefulSet, "kafka")
		for _, field := range statefulSetImmutable {
			before, after := get(t, baseSet.Inputs, "spec."+field), get(t, set.Inputs, "spec."+field)
			if !reflect.DeepEqual(before, after) {
				t.Errorf("%s=%s changes the StatefulSet's immutable spec.%s: the StatefulSet would be replaced (every node down at once)\nbefore: %s\nafter:  %s",
					key, value, field, jsonOf(before), jsonOf(after))
			}
		}
		roll := "no roll"
		if !reflect.DeepEqual(get(t, baseSet.Inputs, "spec.template"), get(t, set.Inputs, "spec.template")) {
			roll = "rolls the pods"
		}
		fmt.Fprintf(&golden, "%s=%s: %s; changes %s\n", key, value, roll, strings.Join(changedObjects(base, rec), ", "))
	}
	goldenfile.Compare(t, "testdata/changes.golden", golden.String(), *updateGolden)
}

// changedObjects lists the resources (type/name) that one run registers with other inputs than the
// other, or only in one of them.
func changedObjects(before, after *recorder) []string {
	key := func(r recorded) string { return strings.TrimPrefix(r.Type, "kubernetes:") + "/" + r.Name }
	old := map[string]recorded{}
	for _, r := range before.resources {
		old[key(r)] = r
	}
	seen := map[string]bool{}
	var out []string
	for _, r := range after.resources {
		k := key(r)
		seen[k] = true
		o, ok := old[k]
		switch {
		case !ok:
			out = append(out, "+"+k)
		case !reflect.DeepEqual(o.Inputs, r.Inputs):
			out = append(out, k)
		}
	}
	for k := range old {
		if !seen[k] {
			out = append(out, "-"+k)
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		return []string{"nothing"}
	}
	return out
}

func jsonOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
