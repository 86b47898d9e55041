package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafka-kraft/kafka-kraft/internal/smoke"
)

func kfakeBrokers(t *testing.T) string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(3))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return strings.Join(c.ListenAddrs(), ",")
}

func runCmd(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestSmokeJSONAgainstKfake(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runCmd("-brokers", kfakeBrokers(t), "-expect-brokers", "3", "-messages", "500", "-size", "100", "-json", "-quiet")
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	var rep smoke.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("stdout is not a JSON report: %v\n%s", err, stdout)
	}
	if !rep.OK || rep.Messages != 500 || rep.Bytes != 50000 || rep.Brokers != 3 || rep.ProduceMsgsPerSec <= 0 || rep.ProduceLatencyP99 <= 0 {
		t.Errorf("report = %+v", rep)
	}
}

func TestSmokeSummaryAgainstKfake(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runCmd("-brokers", kfakeBrokers(t), "-messages", "200", "-topic", "summary")
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	for _, want := range []string{"smoke OK: 3 brokers", "topic summary (3 partitions, RF 3, created)", "produced 200 msgs", "produce latency p50"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
}

func TestSmokeFailureExitsOne(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		json bool
	}{
		{name: "text"},
		{name: "json", json: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := []string{"-brokers", "127.0.0.1:1", "-quiet"}
			if tt.json {
				args = append(args, "-json")
			}
			code, stdout, stderr := runCmd(args...)
			if code != 1 {
				t.Fatalf("exit %d, want 1", code)
			}
			if !strings.Contains(stderr, "FAIL smoke: metadata: bootstrap address 127.0.0.1:1 does not answer") {
				t.Errorf("stderr does not give the reason:\n%s", stderr)
			}
			if tt.json {
				var rep smoke.Report
				if err := json.Unmarshal([]byte(stdout), &rep); err != nil || rep.OK || !strings.Contains(rep.Error, "127.0.0.1:1") {
					t.Errorf("JSON report = %+v, %v; want ok=false naming the address", rep, err)
				}
			}
		})
	}
}

func TestSmokeBadFlagsExitTwo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "unknown flag", args: []string{"-nope"}, want: "flag provided but not defined"},
		{name: "stray argument", args: []string{"-brokers", "a:1", "extra"}, want: "unexpected arguments"},
		{name: "bad broker", args: []string{"-brokers", "kafka"}, want: `-brokers: address "kafka"`},
		{name: "negative messages", args: []string{"-brokers", "a:1", "-messages", "-5"}, want: "Config.Messages = -5"},
		{name: "tiny size", args: []string{"-brokers", "a:1", "-size", "8"}, want: "Config.MessageSize = 8"},
		{name: "bad topic", args: []string{"-brokers", "a:1", "-topic", "a b"}, want: "Config.Topic"},
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

func TestSmokeHelpExitsZero(t *testing.T) {
	t.Parallel()
	code, _, stderr := runCmd("-h")
	if code != 0 || !strings.Contains(stderr, "-expect-brokers") || !strings.Contains(stderr, "from the moment\nthe message is handed to the producer") {
		t.Fatalf("exit %d, stderr %q; want 0 and the flag list", code, stderr)
	}
}

// Not parallel: it empties PATH for the whole process.
func TestSmokeWithoutBrokersOrPulumi(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	code, _, stderr := runCmd("-stack", "prod", "-quiet")
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, want := range []string{`stack "prod"`, "pulumi CLI not found", "pass -brokers host:port"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}
