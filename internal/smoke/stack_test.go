package smoke

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakePulumi writes a pulumi stand-in that prints its arguments to a file
// and the given output (or fails with exit code 1 when fail is set).
func fakePulumi(t *testing.T, output string, fail bool) (bin, argsFile string) {
	t.Helper()
	dir := t.TempDir()
	argsFile = filepath.Join(dir, "args")
	bin = filepath.Join(dir, "pulumi")
	script := "#!/bin/sh\necho \"$@\" > " + argsFile + "\n"
	if fail {
		script += "echo 'error: no stack named dev found' >&2\nexit 1\n"
	} else {
		script += "cat <<'EOF'\n" + output + "\nEOF\n"
	}
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, argsFile
}

func TestStackBrokers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		output  string
		fail    bool
		want    string
		wantErr string
	}{
		{name: "json string", output: `"10.0.0.1:9094,10.0.0.2:9094"`, want: "10.0.0.1:9094|10.0.0.2:9094"},
		{name: "json array", output: `["kafka-0.example:9094"]`, want: "kafka-0.example:9094"},
		{name: "empty output", output: `""`, wantErr: "pulumi stack output externalBootstrapServers --stack dev: the address list is empty"},
		{name: "pulumi fails", fail: true, wantErr: "no stack named dev found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bin, argsFile := fakePulumi(t, tt.output, tt.fail)
			got, err := StackBrokers(context.Background(), bin, "dev")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("StackBrokers = %v, %v; want error %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || strings.Join(got, "|") != tt.want {
				t.Fatalf("StackBrokers = %q, %v; want %s", got, err, tt.want)
			}
			args, err := os.ReadFile(argsFile)
			if err != nil {
				t.Fatal(err)
			}
			if want := "stack output externalBootstrapServers --stack dev --json"; strings.TrimSpace(string(args)) != want {
				t.Errorf("pulumi called with %q, want %q", args, want)
			}
		})
	}
}

func TestStackBrokersWithoutPulumi(t *testing.T) {
	t.Parallel()
	_, err := StackBrokers(context.Background(), filepath.Join(t.TempDir(), "pulumi"), "dev")
	if !errors.Is(err, ErrNoPulumi) {
		t.Fatalf("StackBrokers error = %v, want ErrNoPulumi", err)
	}
}
