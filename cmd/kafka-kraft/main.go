// Command kafka-kraft deploys, previews, inspects and destroys a kafka-kraft stack through Pulumi's
// Automation API. It runs the same program as `pulumi up` (internal/stack.Program) in-process, so it
// needs the Pulumi CLI and the resource plugins but not the Go language host.
//
//	kafka-kraft [-stack dev] [-dir .] [-config key=value ...] up|preview|destroy|outputs
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/kafka-kraft/kafka-kraft/internal/deployer"
)

type configFlags map[string]string

func (c configFlags) String() string { return fmt.Sprint(map[string]string(c)) }
func (c configFlags) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want key=value, got %q", s)
	}
	c[k] = v
	return nil
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	return runWith(args, os.Stdin, os.Stdout, os.Stderr, isTerminal(os.Stdin))
}

// isTerminal reports whether f is an interactive terminal (a character device).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// confirm asks a yes/no question on out and reads the answer from in; only "y" or "yes" agree.
func confirm(in io.Reader, out io.Writer, question string) bool {
	fmt.Fprintf(out, "%s [y/N] ", question)
	line, _ := bufio.NewReader(in).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true
	}
	return false
}

func runWith(args []string, stdin io.Reader, stdout, stderr io.Writer, interactive bool) int {
	fs := flag.NewFlagSet("kafka-kraft", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stackName := fs.String("stack", "dev", "stack name (one per environment)")
	dir := fs.String("dir", ".", "project directory (holds Pulumi.yaml)")
	cfg := configFlags{}
	fs.Var(cfg, "config", "set a stack config value before the operation, like `pulumi config set` (repeatable): key=value")
	yes := fs.Bool("yes", false, "up: apply without asking (the plan is still printed first); without it an interactive terminal is asked to confirm")
	showSecrets := fs.Bool("show-secrets", false, "outputs: print the secret outputs' values (adminPassword, ...) instead of [secret], as `pulumi stack output --show-secrets` does")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: kafka-kraft [flags] up|preview|destroy|outputs\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	action := fs.Arg(0)
	switch action {
	case "up", "preview", "destroy", "outputs":
	default:
		fmt.Fprintf(stderr, "unknown action %q: want up, preview, destroy or outputs\n", action)
		return 2
	}

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	start := time.Now()
	s, err := deployer.Open(ctx, deployer.Options{WorkDir: *dir, Stack: *stackName, Config: cfg, Progress: stdout})
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	fmt.Fprintf(stderr, "==> %s stack %q\n", action, *stackName)
	switch action {
	case "up":
		// Show the plan first, as `pulumi up` does: what changes, and prominently a replacement of
		// the StatefulSet (a full outage). An interactive terminal is asked to confirm.
		steps, err := s.Plan(ctx)
		if err != nil {
			fmt.Fprintln(stderr, "error: preview:", err)
			return 1
		}
		fmt.Fprint(stdout, deployer.FormatPlan(steps))
		if len(steps) > 0 && !*yes && interactive && !confirm(stdin, stdout, "Do you want to perform this update?") {
			fmt.Fprintln(stderr, "==> update cancelled; nothing was changed")
			return 1
		}
		res, err := s.Up(ctx)
		if err != nil {
			fmt.Fprintln(stderr, "error:", err)
			return 1
		}
		outs := deployer.StringOutputs(res.Outputs)
		printOutputs(stdout, outs)
		waitForRoll(ctx, stderr, outs["namespace"])
	case "preview":
		res, err := s.Preview(ctx)
		if err != nil {
			fmt.Fprintln(stderr, "error:", err)
			return 1
		}
		fmt.Fprintf(stdout, "changes: %d %v\n", deployer.Changes(res), res.ChangeSummary)
	case "destroy":
		if _, err := s.Destroy(ctx); err != nil {
			fmt.Fprintln(stderr, "error:", err)
			return 1
		}
	case "outputs":
		out, err := s.Outputs(ctx)
		if err != nil {
			fmt.Fprintln(stderr, "error:", err)
			return 1
		}
		shown := deployer.StringOutputs(out)
		if *showSecrets {
			shown = deployer.RevealedOutputs(out)
		}
		b, _ := json.MarshalIndent(shown, "", "  ")
		fmt.Fprintln(stdout, string(b))
	}
	fmt.Fprintf(stderr, "==> %s done in %s\n", action, time.Since(start).Round(time.Second))
	return 0
}

// waitForRoll follows the StatefulSet's rolling update to its end with kubectl, when kubectl is
// here: the Kubernetes provider reports a StatefulSet updated before every pod has been replaced
// (pulumi/pulumi-kubernetes#3329), while a roll of N brokers takes N times a restart. The roll is
// safe either way (each pod waits for the previous one to be caught up); this only shows it.
func waitForRoll(ctx context.Context, stderr io.Writer, ns string) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil || ns == "" {
		return
	}
	fmt.Fprintf(stderr, "==> waiting for the Kafka nodes to finish rolling (kubectl -n %s rollout status statefulset/kafka)\n", ns)
	cmd := exec.CommandContext(ctx, kubectl, "-n", ns, "rollout", "status", "statefulset/kafka", "--timeout=30m")
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(stderr, "warning: following the roll: %v (it goes on in the cluster; check with the command above)\n", err)
	}
}

func printOutputs(w io.Writer, out map[string]string) {
	keys := make([]string, 0, len(out))
	for k := range out {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintln(w, "Outputs:")
	for _, k := range keys {
		fmt.Fprintf(w, "  %-26s %s\n", k, out[k])
	}
}
