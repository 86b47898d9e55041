//go:build e2e

package e2e_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// setupHint tells a human how to get the environment the tests need.
const setupHint = "run `eval \"$(scripts/e2e-setup.sh)\"` from the repository root first (it installs and " +
	"starts what is missing and prints these variables), or `make e2e`, which does both"

// testEnv is what the tests read from the environment.
type testEnv struct {
	// Kubeconfig names the cluster (KUBECONFIG).
	Kubeconfig string
	// Image, KcatImage and RegistryImage are the prebuilt images the stack is configured with
	// (KAFKA_E2E_IMAGE, KAFKA_E2E_KCAT_IMAGE, KAFKA_E2E_REGISTRY_IMAGE); the cluster's nodes must
	// have them or be able to pull them.
	Image, KcatImage, RegistryImage string
	// PushImage is a small local image that the registry test pushes from this machine
	// (KAFKA_E2E_PUSH_IMAGE; default bb:1 when it exists, else KcatImage). It must have `sleep`.
	PushImage string
	// Cluster is "k8s-local" or "external" (KAFKA_E2E_CLUSTER); on k8s-local the hostPath data
	// directories are on this machine and are removed after the run.
	Cluster string
	// Namespace is the stack's namespace (KAFKA_E2E_NAMESPACE; default kafka-kraft-e2e, apart from
	// the program's default so the tier runs beside a user's stack).
	Namespace string
	// Artifacts is where logs and failure dumps go (KAFKA_E2E_ARTIFACTS).
	Artifacts string
	// K8sLocalDir holds k8s-local's scripts (node.sh) when Cluster is k8s-local
	// (KAFKA_E2E_K8S_LOCAL_DIR).
	K8sLocalDir string
	// UpgradeFrom is the Kafka release the upgrade test starts on (KAFKA_E2E_UPGRADE_FROM, one of
	// kraft.Releases older than the default) and UpgradeImage its image (KAFKA_E2E_UPGRADE_IMAGE).
	UpgradeFrom, UpgradeImage string
}

// The e2e stack's own namespace and NodePorts, clear of the program's defaults (kafka-kraft,
// 31090+N, 31500), so `make deploy` followed by `make test` works.
const (
	e2eNamespace        = "kafka-kraft-e2e"
	e2eNodePortBase     = 31190
	e2eRegistryNodePort = 31590
	// The growth stack (1 -> 3 nodes) runs first, on ports of its own.
	e2eGrowNodePortBase = 31390
	e2eGrowRegistryPort = 31592
)

// requireEnv reads the environment and fails the test, naming every missing piece and how to get
// it, when something is missing. The end-to-end tier never skips.
func requireEnv(t testing.TB) testEnv {
	t.Helper()
	e := testEnv{
		Kubeconfig:    os.Getenv("KUBECONFIG"),
		Image:         os.Getenv("KAFKA_E2E_IMAGE"),
		KcatImage:     os.Getenv("KAFKA_E2E_KCAT_IMAGE"),
		RegistryImage: os.Getenv("KAFKA_E2E_REGISTRY_IMAGE"),
		PushImage:     os.Getenv("KAFKA_E2E_PUSH_IMAGE"),
		Cluster:       os.Getenv("KAFKA_E2E_CLUSTER"),
		Namespace:     os.Getenv("KAFKA_E2E_NAMESPACE"),
		Artifacts:     os.Getenv("KAFKA_E2E_ARTIFACTS"),
		K8sLocalDir:   os.Getenv("KAFKA_E2E_K8S_LOCAL_DIR"),
		UpgradeFrom:   os.Getenv("KAFKA_E2E_UPGRADE_FROM"),
		UpgradeImage:  os.Getenv("KAFKA_E2E_UPGRADE_IMAGE"),
	}
	var missing []string
	for name, v := range map[string]string{
		"KUBECONFIG":               e.Kubeconfig,
		"KAFKA_E2E_IMAGE":          e.Image,
		"KAFKA_E2E_KCAT_IMAGE":     e.KcatImage,
		"KAFKA_E2E_REGISTRY_IMAGE": e.RegistryImage,
		"KAFKA_E2E_UPGRADE_FROM":   e.UpgradeFrom,
		"KAFKA_E2E_UPGRADE_IMAGE":  e.UpgradeImage,
	} {
		if v == "" {
			missing = append(missing, "environment variable "+name)
		}
	}
	for _, tool := range []string{"pulumi", "pulumi-resource-kubernetes", "kubectl", "docker"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool+" on PATH")
		}
	}
	if len(missing) > 0 {
		t.Fatalf("the end-to-end tests need a Kubernetes cluster, the Pulumi CLI with the Kubernetes plugin and "+
			"prebuilt images; missing: %s.\nTo get them, %s.", strings.Join(sorted(missing), ", "), setupHint)
	}
	if e.Namespace == "" {
		e.Namespace = e2eNamespace
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "kubectl", "get", "--raw", "/readyz", "--request-timeout=20s").CombinedOutput(); err != nil {
		t.Fatalf("the cluster of KUBECONFIG=%s does not answer (kubectl get --raw /readyz: %v: %s).\nTo start one, %s.",
			e.Kubeconfig, err, strings.TrimSpace(string(out)), setupHint)
	}
	if e.PushImage == "" {
		e.PushImage = e.KcatImage
		if exec.CommandContext(ctx, "docker", "image", "inspect", "bb:1").Run() == nil {
			e.PushImage = "bb:1"
		}
	}
	if out, err := exec.CommandContext(ctx, "docker", "image", "inspect", e.PushImage).CombinedOutput(); err != nil {
		t.Fatalf("the registry test pushes %s from this machine, but the Docker engine does not have it (%v: %s).\n%s.",
			e.PushImage, err, strings.TrimSpace(string(out)), setupHint)
	}
	if e.Artifacts == "" {
		e.Artifacts = filepath.Join(os.TempDir(), "kafka-kraft-e2e")
	}
	return e
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
