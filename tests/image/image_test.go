//go:build image

package image_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kafka-kraft/kafka-kraft/internal/kraft"
)

const (
	testNamespace = "image-test"
	// externalBase keeps the published ports clear of the NodePorts the Kubernetes tiers use.
	externalBase = 32090
	topic        = "image-test"
	partitions   = 3
)

// testConfig is the core's default stack, reshaped for containers on this machine.
func testConfig(replicas, externalPortBase int) kraft.Config {
	cfg := kraft.Defaults("kafka-kraft", "image-test")
	cfg.Namespace = testNamespace
	cfg.Replicas = replicas
	cfg.Controllers = kraft.DefaultControllers(replicas)
	cfg.ExternalHost = "127.0.0.1"
	cfg.ExternalNodePortBase = externalPortBase
	// PLAINTEXT, so that the tests of formation, restarts and storage need no credentials;
	// TestSecurity runs the nodes with security "tls" (the program's default).
	cfg.Security.Mode = kraft.SecurityNone
	return cfg
}

// count is how many lines of logs contain s.
func count(logs, s string) int {
	n := 0
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}

// Markers of the entrypoint and of Kafka's StorageTool in container logs.
const (
	markFormatting = "kafka-entrypoint: formatting storage"
	markStorageOut = "Formatting metadata directory"
	markFormatted  = "kafka-entrypoint: storage already formatted"
	markStarted    = "Kafka Server started"
)

// TestThreeNodeQuorum runs the StatefulSet's three nodes as containers and walks through the
// life of a cluster: formation, a restart, a node outage under acks=all, and a node pointed at
// the data of another cluster. The steps share one cluster, so they run in order.
func TestThreeNodeQuorum(t *testing.T) {
	imgs := testImages(t)
	c := newCluster(t, imgs.kafka, testConfig(3, externalBase))
	addrs := c.externalAddrs()
	id := c.rendered.ClusterID
	first := messages("formed", 300)

	t.Run("quorum forms and serves acks=all", func(t *testing.T) {
		start := time.Now()
		c.start(0, 1, 2)
		for _, addr := range addrs {
			eventually(t, quorumTimeout, "brokers 0,1,2 visible via "+addr, func(ctx context.Context) error {
				return brokersVisible(ctx, addr, id, 0, 1, 2)
			})
		}
		formed := time.Since(start)
		createTopic(t, addrs, topic, partitions, 3, 2)
		produce(t, addrs, topic, first[:1])
		firstProduce := time.Since(start)
		produce(t, addrs, topic, first[1:])
		requireAll(t, readAll(t, addrs, topic), first)
		t.Logf("TIMING 3 nodes: container start -> quorum formed (all brokers registered) %s, -> first acks=all produce %s",
			formed.Round(100*time.Millisecond), firstProduce.Round(100*time.Millisecond))
		// In-cluster clients use the INTERNAL listener and the pods' DNS names: kcat, as the kcat
		// Deployment would, reads everything back through kafka-2's advertised internal address.
		internal := kraft.PodHost(2, testNamespace, c.cfg.ClusterDomain) + ":" + strconv.Itoa(kraft.InternalPort)
		out := c.kcat(imgs.kcat, "-b", internal, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%s\\n")
		if got := len(strings.Fields(out)); got != len(first) {
			t.Errorf("kcat via %s read %d messages, want %d", internal, got, len(first))
		}
		for n := range 3 {
			if logs := c.logs(c.container(n)); count(logs, markFormatting) != 1 || count(logs, markStorageOut) != 1 {
				t.Errorf("kafka-%d: want exactly one format on first start; logs:\n%s", n, logs)
			}
		}
	})

	t.Run("every node serves the metrics the alerts and the dashboard read", func(t *testing.T) {
		testMetrics(t, c, 3)
	})

	t.Run("restarted node rejoins with its data and cluster id", func(t *testing.T) {
		before := c.readDataFile(1, "meta.properties")
		start := time.Now()
		c.restart(1)
		eventually(t, quorumTimeout, "kafka-1 back", func(ctx context.Context) error {
			return brokersVisible(ctx, c.externalAddr(1), id, 0, 1, 2)
		})
		waitISR(t, addrs, topic, partitions, 3)
		t.Logf("TIMING restart of kafka-1 -> registered and back in every ISR: %s", time.Since(start).Round(100*time.Millisecond))
		logs := c.logs(c.container(1))
		if count(logs, markStarted) != 2 {
			t.Errorf("kafka-1: want two starts in its logs, found %d", count(logs, markStarted))
		}
		if n := count(logs, markFormatting) + count(logs, markStorageOut); n != 2 {
			t.Errorf("kafka-1 formatted again on restart (%d format lines, want the 2 of the first start)", n)
		}
		if count(logs, markFormatted) != 1 {
			t.Errorf("kafka-1: want one %q line after the restart, found %d", markFormatted, count(logs, markFormatted))
		}
		if after := c.readDataFile(1, "meta.properties"); after != before {
			t.Errorf("kafka-1 meta.properties changed across the restart:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		if !strings.Contains(before, "cluster.id="+id) {
			t.Errorf("kafka-1 meta.properties has no cluster.id=%s:\n%s", id, before)
		}
		requireAll(t, readAll(t, addrs, topic), first)
		// A restarted node may come back with a new address under its old name: the broker caches
		// name lookups for 1 s, not the JDK's 30 (docker/kafka/kafka-entrypoint), read from the
		// running JVM's own command line (it is PID 1).
		out, err := exec.Command("docker", "exec", c.container(1), "cat", "/proc/1/cmdline").Output()
		if err != nil {
			t.Fatalf("kafka-1's command line: %v", err)
		}
		args := strings.Split(string(out), "\x00")
		if !slices.Contains(args, "kafka.Kafka") || !slices.Contains(args, "-Dsun.net.inetaddr.ttl=1") {
			t.Errorf("kafka-1 runs %q, want kafka.Kafka with -Dsun.net.inetaddr.ttl=1", args)
		}
	})

	t.Run("readiness probe: unready while catching up, ready once in every ISR", func(t *testing.T) {
		testReadinessWhileCatchingUp(t, c, topic, partitions)
	})

	whileDown := messages("one-down", 300)
	t.Run("acks=all survives one of three down and nothing acknowledged is lost", func(t *testing.T) {
		metrics := map[int]string{0: c.metricsURL(0), 1: c.metricsURL(1)}
		c.stop(2)
		up := []string{c.externalAddr(0), c.externalAddr(1)}
		// min.insync.replicas=2 of RF 3: the two remaining replicas are enough for acks=all.
		took := produce(t, up, topic, whileDown)
		t.Logf("acks=all batch with kafka-2 down acknowledged after %s", took.Round(100*time.Millisecond))
		// What the alerts read: the leaders report the partitions kafka-2 dropped out of.
		eventually(t, time.Minute, "under-replicated partitions in kafka-0/1's metrics", func(ctx context.Context) error {
			v, err := clusterMetric(ctx, metrics, "kafka_server_under_replicated_partitions")
			if err == nil && v == 0 {
				err = fmt.Errorf("no under-replicated partition reported")
			}
			return err
		})
		c.startStopped(2)
		waitISR(t, addrs, topic, partitions, 3)
		eventually(t, time.Minute, "no under-replicated partition in the metrics once kafka-2 is back", func(ctx context.Context) error {
			v, err := clusterMetric(ctx, metrics, "kafka_server_under_replicated_partitions")
			if err == nil && v != 0 {
				err = fmt.Errorf("%v under-replicated partitions reported", v)
			}
			return err
		})
		requireAll(t, readAll(t, addrs, topic), first, whileDown)
		// Once kafka-2 is back in every ISR it must hold the data too: take another node away and
		// read again, so partitions led by kafka-0 move to the others.
		c.stop(0)
		rest := []string{c.externalAddr(1), c.externalAddr(2)}
		requireAll(t, readAll(t, rest, topic), first, whileDown)
	})

	t.Run("node refuses data of another cluster and leaves it untouched", func(t *testing.T) {
		// kafka-0 is stopped; its volume belongs to cluster id.
		before := c.readDataFile(0, "meta.properties")
		other := kraft.DeriveClusterID("kafka-kraft", "another-stack", testNamespace)
		name := c.prefix + "-foreign"
		c.track(name, "")
		mustDocker(t, time.Minute, c.runArgs(name, 0, other, false)...)
		code := c.waitExit(name, 2*time.Minute)
		logs := c.logs(name)
		if code == 0 {
			t.Errorf("container with cluster id %s on data of %s exited 0; logs:\n%s", other, id, logs)
		}
		for _, want := range []string{id, other, kraft.LogDir} {
			if !strings.Contains(logs, want) {
				t.Errorf("refusal message does not name %q; logs:\n%s", want, logs)
			}
		}
		if count(logs, markFormatting)+count(logs, markStorageOut) != 0 || count(logs, markStarted) != 0 {
			t.Errorf("container formatted or started Kafka; logs:\n%s", logs)
		}
		if after := c.readDataFile(0, "meta.properties"); after != before {
			t.Errorf("meta.properties changed:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		t.Logf("exit code %d, message: %s", code, strings.TrimSpace(logs))
	})

	t.Run("node refuses data formatted for another voter set and leaves it untouched", func(t *testing.T) {
		// kafka-0 is stopped; its volume was formatted with voters 0,1,2. The same stack rendered
		// with one controller (as after `destroy` and a redeploy with controllers 1 over the kept
		// volumes) names voter 0 only.
		before := c.readDataFile(0, "meta.properties")
		if got := strings.TrimSpace(c.readDataFile(0, "kafka-kraft-voters")); got != "0,1,2" {
			t.Fatalf("kafka-0 recorded voters %q, want 0,1,2", got)
		}
		other := c.cfg
		other.Controllers = 1
		dir := t.TempDir()
		for name, content := range kraft.Render(other).Files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		name := c.prefix + "-voters"
		c.track(name, "")
		args := c.runArgs(name, 0, id, false)
		for i, a := range args {
			if strings.HasPrefix(a, c.confDir+":") {
				args[i] = dir + ":" + kraft.ConfigMountPath + ":ro"
			}
		}
		mustDocker(t, time.Minute, args...)
		code := c.waitExit(name, 2*time.Minute)
		logs := c.logs(name)
		if code == 0 || !strings.Contains(logs, "formatted for the voter set {0,1,2} but controller.quorum.voters now names {0}") {
			t.Errorf("exit code %d, want non-zero and both voter sets named; logs:\n%s", code, logs)
		}
		if count(logs, markStarted) != 0 {
			t.Errorf("Kafka started; logs:\n%s", logs)
		}
		if after := c.readDataFile(0, "meta.properties"); after != before {
			t.Errorf("meta.properties changed:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})
}

// TestSingleNode is replicas 1: one broker+controller, replication factors of 1, started without
// POD_NAME so the entrypoint falls back to the hostname.
func TestSingleNode(t *testing.T) {
	image := kafkaImage(t)
	c := newCluster(t, image, testConfig(1, externalBase+5))
	c.setPodName = false
	addrs := c.externalAddrs()
	start := time.Now()
	c.start(0)
	eventually(t, quorumTimeout, "broker 0 visible", func(ctx context.Context) error {
		return brokersVisible(ctx, addrs[0], c.rendered.ClusterID, 0)
	})
	formed := time.Since(start)
	createTopic(t, addrs, topic, partitions, 1, 1)
	msgs := messages("single", 100)
	produce(t, addrs, topic, msgs[:1])
	firstProduce := time.Since(start)
	produce(t, addrs, topic, msgs[1:])
	requireAll(t, readAll(t, addrs, topic), msgs)
	t.Logf("TIMING 1 node: container start -> quorum formed %s, -> first acks=all produce %s",
		formed.Round(100*time.Millisecond), firstProduce.Round(100*time.Millisecond))
}

// TestEntrypointRefusesBadInput checks the entrypoint's early refusals, which need no JVM: each
// container must exit non-zero with a message that says what is wrong.
func TestEntrypointRefusesBadInput(t *testing.T) {
	image := kafkaImage(t)
	c := newCluster(t, image, testConfig(3, externalBase+10))
	// A config folder with the shared file only: no node file for any ordinal, no broker template.
	sharedOnly := t.TempDir()
	if err := os.WriteFile(filepath.Join(sharedOnly, kraft.SharedPropertiesFile), []byte(c.rendered.Files[kraft.SharedPropertiesFile]), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(sharedOnly, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     []string
		confDir string // default c.confDir
		want    string
	}{
		{"ordinal without a node file or a broker template", []string{"POD_NAME=kafka-7", "KAFKA_CLUSTER_ID=" + c.rendered.ClusterID}, sharedOnly, "node-7.properties and no"},
		{"pod name without an ordinal", []string{"POD_NAME=kafka", "KAFKA_CLUSTER_ID=" + c.rendered.ClusterID}, "", "cannot derive the node ordinal"},
		{"no cluster id", []string{"POD_NAME=kafka-0"}, "", "KAFKA_CLUSTER_ID is not set"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := c.prefix + "-bad-" + regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(tt.name, "-")
			c.track(name, "")
			dir := tt.confDir
			if dir == "" {
				dir = c.confDir
			}
			args := []string{"run", "-d", "--name", name, "--label", c.label, "--network", "none",
				"-v", dir + ":" + kraft.ConfigMountPath + ":ro"}
			for _, e := range tt.env {
				args = append(args, "-e", e)
			}
			mustDocker(t, time.Minute, append(args, image)...)
			code := c.waitExit(name, time.Minute)
			logs := c.logs(name)
			if code == 0 || !strings.Contains(logs, tt.want) {
				t.Errorf("case %d: exit code %d, want non-zero and a message containing %q; logs:\n%s", i, code, tt.want, logs)
			}
		})
	}
}
