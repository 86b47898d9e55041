package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafka-kraft/kafka-kraft/internal/kfaketest"
	"github.com/kafka-kraft/kafka-kraft/internal/status"
)

func runCmd(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// healthyCluster is three kfake brokers holding topic orders (3 partitions, RF 3), with a group
// 9 records behind and a quorum of voters 0, 1, 2 led by 0.
func healthyCluster(t *testing.T) *kfake.Cluster {
	t.Helper()
	c := kfaketest.WithTopic(t, "orders", 3, 3)
	now := time.Now().UnixMilli()
	kfaketest.AnswerDescribeQuorum(c, 0,
		kfaketest.Voter{ID: 0, LogEndOffset: 420, LastFetchTimestamp: now},
		kfaketest.Voter{ID: 1, LogEndOffset: 420, LastFetchTimestamp: now - 150},
		kfaketest.Voter{ID: 2, LogEndOffset: 418, LastFetchTimestamp: now - 300})
	kfaketest.CommitOffsets(t, c, "readers", "orders", 3, 5, 2)
	return c
}

// unhealthyCluster shows partition 1 of orders without a leader and partition 2 with a short ISR
// (edited Metadata answers: kfake itself is always in sync), and a quorum without a leader.
func unhealthyCluster(t *testing.T) *kfake.Cluster {
	t.Helper()
	c := kfaketest.WithTopic(t, "orders", 3, 3)
	kfaketest.OverrideMetadata(t, c, func(m *kmsg.MetadataResponse) {
		for i := range m.Topics {
			for j := range m.Topics[i].Partitions {
				switch p := &m.Topics[i].Partitions[j]; p.Partition {
				case 1:
					p.Leader, p.ISR = -1, nil
				case 2:
					p.ISR = p.ISR[:2]
				}
			}
		}
	})
	kfaketest.AnswerDescribeQuorum(c, -1,
		kfaketest.Voter{ID: 0, LogEndOffset: 420, LastFetchTimestamp: -1},
		kfaketest.Voter{ID: 1, LogEndOffset: 420, LastFetchTimestamp: -1},
		kfaketest.Voter{ID: 2, LogEndOffset: 420, LastFetchTimestamp: -1})
	return c
}

func brokers(c *kfake.Cluster) string { return strings.Join(c.ListenAddrs(), ",") }

func TestHealthyClusterExitsZero(t *testing.T) {
	t.Parallel()
	c := healthyCluster(t)
	code, stdout, stderr := runCmd("-brokers", brokers(c), "-expect-brokers", "3", "-expect-controllers", "3")
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s\nstdout:\n%s", code, stderr, stdout)
	}
	t.Logf("table:\n%s", stdout)
	addr := c.ListenAddrs()[0]
	for _, want := range []string{
		"health  healthy",
		"0       " + addr + "  krack  voter, active controller", // kfake's rack
		"QUORUM leader 0 (the active controller), epoch 1, high watermark 420",
		"orders  3           3   1        0                 0              0",
		"readers  Empty  0        orders  9", // committed offsets, no member
		"PROBLEMS none",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the table lacks %q:\n%s", want, stdout)
		}
	}
}

func TestUnhealthyClusterExitsOne(t *testing.T) {
	t.Parallel()
	c := unhealthyCluster(t)
	code, stdout, stderr := runCmd("-brokers", brokers(c), "-expect-brokers", "3", "-expect-controllers", "3")
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s\nstdout:\n%s", code, stderr, stdout)
	}
	t.Logf("table:\n%s", stdout)
	for _, want := range []string{
		"health  UNHEALTHY: 2 critical, 1 warning",
		"critical  no-active-controller  the metadata quorum has no leader",
		"critical  offline-partitions    topic orders: partition 1 offline, no leader (1 of 3)",
		"warning   under-replicated      topic orders: partition 2 under-replicated (1 of 3); out of the ISR: broker",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the table lacks %q:\n%s", want, stdout)
		}
	}
}

func TestJSONCarriesTheProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cluster func(*testing.T) *kfake.Cluster
		code    int
		kinds   string
	}{
		{name: "healthy", cluster: healthyCluster, code: 0},
		{name: "unhealthy", cluster: unhealthyCluster, code: 1, kinds: "no-active-controller offline-partitions under-replicated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCmd("-brokers", brokers(tt.cluster(t)), "-json")
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tt.code, stderr)
			}
			var rep status.Report
			if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
				t.Fatalf("stdout is not a JSON report: %v\n%s", err, stdout)
			}
			var kinds []string
			for _, p := range rep.Problems {
				kinds = append(kinds, p.Kind)
			}
			if rep.Healthy != (tt.code == 0) || strings.Join(kinds, " ") != tt.kinds || len(rep.Brokers) != 3 || len(rep.Topics) != 1 {
				t.Errorf("report: healthy %v, problems %q, %d brokers, %d topics", rep.Healthy, kinds, len(rep.Brokers), len(rep.Topics))
			}
		})
	}
}

// -outputs reads the brokers, the credentials and the deployed counts from the stack's outputs;
// an explicit -expect-brokers wins over deployed.replicas.
func TestOutputsFile(t *testing.T) {
	t.Parallel()
	c := healthyCluster(t)
	outputs := filepath.Join(t.TempDir(), "outputs.json")
	raw, err := json.Marshal(map[string]any{"externalBootstrapServers": brokers(c), "securityProtocol": "PLAINTEXT",
		"deployed": map[string]any{"replicas": 4, "controllers": 3}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(outputs, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ := runCmd("-outputs", outputs)
	if code != 1 || !strings.Contains(stdout, "3 of 4 brokers registered: broker 3 missing") {
		t.Errorf("deployed.replicas 4 against 3 brokers: exit %d, want 1 and broker 3 missing:\n%s", code, stdout)
	}
	if code, stdout, stderr := runCmd("-outputs", outputs, "-expect-brokers", "3"); code != 0 {
		t.Errorf("-expect-brokers 3: exit %d, want 0:\n%s%s", code, stdout, stderr)
	}
}

func TestUnreachableExitsTwo(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runCmd("-brokers", "127.0.0.1:1", "-timeout", "5s")
	if code != 2 || stdout != "" || !strings.Contains(stderr, "status: metadata from 127.0.0.1:1") {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 2 and the address named on stderr", code, stdout, stderr)
	}
}

func TestBadFlagsExitTwo(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "missing.json")
	notJSON := filepath.Join(t.TempDir(), "outputs.json")
	if err := os.WriteFile(notJSON, []byte("nope"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "unknown flag", args: []string{"-nope"}, want: "flag provided but not defined"},
		{name: "stray argument", args: []string{"-brokers", "a:1", "extra"}, want: "unexpected arguments"},
		{name: "nothing to read", args: nil, want: "give -outputs FILE"},
		{name: "both sources", args: []string{"-outputs", notJSON, "-brokers", "a:1"}, want: "goes without -brokers"},
		{name: "bad broker", args: []string{"-brokers", "kafka"}, want: `-brokers: address "kafka"`},
		{name: "ca without user", args: []string{"-brokers", "a:1", "-ca", "ca.crt"}, want: "-ca and -user go together"},
		{name: "missing outputs file", args: []string{"-outputs", missing}, want: "-outputs: open"},
		{name: "outputs not JSON", args: []string{"-outputs", notJSON}, want: "not JSON"},
		{name: "negative expectation", args: []string{"-brokers", "a:1", "-expect-brokers", "-1"}, want: "Expect.Brokers = -1"},
		{name: "zero timeout", args: []string{"-brokers", "a:1", "-timeout", "0s"}, want: "-timeout 0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := runCmd(tt.args...)
			if code != 2 || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, stderr, tt.want)
			}
		})
	}
}

func TestHelpExitsZero(t *testing.T) {
	t.Parallel()
	code, _, stderr := runCmd("-h")
	if code != 0 || !strings.Contains(stderr, "-expect-brokers") || !strings.Contains(stderr, "Exits 0 when healthy, 1 when it finds problems, 2") {
		t.Fatalf("exit %d, stderr %q; want 0 and the flag list", code, stderr)
	}
}
