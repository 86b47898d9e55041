package main

import (
	"strings"
	"testing"
)

// The success paths run the Pulumi engine and are covered by the e2e tier (which uses the same
// deployer package); these cases fail before any engine work and must not touch a stack.
func TestRunRejectsBadUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"help exits zero", []string{"-h"}, 0},
		{"no action", nil, 2},
		{"two actions", []string{"up", "destroy"}, 2},
		{"unknown action", []string{"deploy"}, 2},
		{"config without a value", []string{"-config", "replicas", "up"}, 2},
		{"config without a key", []string{"-config", "=3", "up"}, 2},
		{"unknown flag", []string{"-stacks", "dev", "up"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := run(tt.args); got != tt.want {
				t.Errorf("run(%q) = %d, want %d", tt.args, got, tt.want)
			}
		})
	}
}

func TestRunNamesAMissingProjectDirectory(t *testing.T) {
	t.Parallel()
	// A directory without Pulumi.yaml fails in deployer.Open with exit 1, before the CLI is needed.
	if got := run([]string{"-dir", t.TempDir(), "preview"}); got != 1 {
		t.Errorf("run in a directory without Pulumi.yaml = %d, want 1", got)
	}
}

func TestConfigFlagsParseKeyValue(t *testing.T) {
	t.Parallel()
	c := configFlags{}
	for _, s := range []string{"replicas=4", "brokerProperties={\"a\":\"b=c\"}"} {
		if err := c.Set(s); err != nil {
			t.Fatalf("Set(%q): %v", s, err)
		}
	}
	if c["replicas"] != "4" || c["brokerProperties"] != `{"a":"b=c"}` {
		t.Errorf("parsed %v", c)
	}
}

func TestConfirmAcceptsOnlyYes(t *testing.T) {
	t.Parallel()
	for answer, want := range map[string]bool{"y\n": true, "YES\n": true, " yes \n": true, "\n": false, "n\n": false, "sure\n": false, "": false} {
		var out strings.Builder
		if got := confirm(strings.NewReader(answer), &out, "Do you want to perform this update?"); got != want {
			t.Errorf("answer %q: confirm = %v, want %v", answer, got, want)
		}
		if out.String() != "Do you want to perform this update? [y/N] " {
			t.Errorf("prompt %q", out.String())
		}
	}
}
