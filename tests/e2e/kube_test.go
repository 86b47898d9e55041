//go:build e2e

package e2e_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// run runs a command with a deadline and returns its stdout; the error carries stderr.
func run(ctx context.Context, timeout time.Duration, stdin string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if ctx.Err() == context.DeadlineExceeded {
			msg += fmt.Sprintf(" (killed after %s)", timeout)
		}
		return stdout.String(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, msg)
	}
	return stdout.String(), nil
}

// kubectl runs kubectl with a six-minute ceiling; waits pass their own shorter --timeout.
func kubectl(ctx context.Context, args ...string) (string, error) {
	return run(ctx, 6*time.Minute, "", "kubectl", args...)
}

// notFound reports whether a kubectl error says the object does not exist.
func notFound(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "NotFound") || strings.Contains(err.Error(), "not found"))
}

// eventually calls fn until it returns nil or timeout passes; the error names what was awaited and
// the last failure.
func eventually(ctx context.Context, timeout, every time.Duration, what string, fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		if last = fn(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: not reached within %s: %w", what, timeout, last)
		case <-time.After(every):
		}
	}
}

// waitPodsReady waits until every pod of the namespace is Ready (kubectl wait), except pods that
// have completed (the cluster-settings Job's).
func waitPodsReady(ctx context.Context, ns string, timeout time.Duration) error {
	const running = "--field-selector=status.phase!=Succeeded"
	// `kubectl wait --all` fails at once on an empty namespace; the pods may not exist yet.
	return eventually(ctx, timeout, 3*time.Second, "all pods of "+ns+" Ready", func(ctx context.Context) error {
		names, err := kubectl(ctx, "-n", ns, "get", "pods", running, "-o", "name")
		if err != nil {
			return err
		}
		if strings.TrimSpace(names) == "" {
			return errors.New("no pods yet")
		}
		_, err = kubectl(ctx, "-n", ns, "wait", "--for=condition=Ready", "pod", "--all", running, "--timeout=30s")
		return err
	})
}

// dumper writes what a human needs to understand a failure: pod logs (all containers, the previous
// instance too), events and describe output. Everything goes to a file under dir; the test log gets
// the tail of each part.
type dumper struct {
	ns, pvPrefix, dir string
}

const dumpTailLines = 60

func (d dumper) dump(t *testing.T, label string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := os.MkdirAll(d.dir, 0o755); err != nil {
		t.Logf("dump: %v", err)
	}
	file := filepath.Join(d.dir, "failure-"+sanitize(label)+".txt")
	var all strings.Builder
	part := func(title string, args ...string) {
		out, err := run(ctx, time.Minute, "", "kubectl", args...)
		if err != nil {
			out += "\n(" + err.Error() + ")"
		}
		fmt.Fprintf(&all, "\n===== %s: kubectl %s\n%s\n", title, strings.Join(args, " "), out)
		t.Logf("DUMP %s (last %d lines; all in %s):\n%s", title, dumpTailLines, file, tail(out, dumpTailLines))
	}
	part("objects", "-n", d.ns, "get", "all,pvc,configmap,pdb", "-o", "wide")
	part("events", "-n", d.ns, "get", "events", "--sort-by=.lastTimestamp")
	part("describe pods", "-n", d.ns, "describe", "pods")
	part("describe statefulset", "-n", d.ns, "describe", "statefulset")
	part("describe deployments", "-n", d.ns, "describe", "deployments")
	part("describe pvc", "-n", d.ns, "describe", "pvc")
	if pvs := d.persistentVolumes(ctx); len(pvs) > 0 {
		part("describe pv", append([]string{"describe", "pv"}, pvs...)...)
	}
	pods, _ := kubectl(ctx, "-n", d.ns, "get", "pods", "-o", "name")
	for _, pod := range strings.Fields(pods) {
		part("logs "+pod, "-n", d.ns, "logs", pod, "--all-containers", "--prefix", "--timestamps", "--tail=3000")
		if prev, err := run(ctx, time.Minute, "", "kubectl", "-n", d.ns, "logs", pod, "--all-containers", "--prefix",
			"--timestamps", "--previous", "--tail=3000"); err == nil && strings.TrimSpace(prev) != "" {
			fmt.Fprintf(&all, "\n===== previous logs %s\n%s\n", pod, prev)
			t.Logf("DUMP previous logs %s (last %d lines):\n%s", pod, dumpTailLines, tail(prev, dumpTailLines))
		}
	}
	if err := os.WriteFile(file, []byte(all.String()), 0o644); err != nil {
		t.Logf("dump: %v", err)
	}
}

// persistentVolumes lists the PVs of the stack (cluster-scoped, named kafka-kraft-<stack>-...).
func (d dumper) persistentVolumes(ctx context.Context) []string {
	out, err := kubectl(ctx, "get", "pv", "-o", "jsonpath={range .items[*]}{.metadata.name}{\"\\n\"}{end}")
	if err != nil {
		return nil
	}
	var pvs []string
	for _, name := range strings.Fields(out) {
		if strings.HasPrefix(name, d.pvPrefix) {
			pvs = append(pvs, name)
		}
	}
	return pvs
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("... (%d lines before)", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}
