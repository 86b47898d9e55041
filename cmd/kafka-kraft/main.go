// Command kafka-kraft deploys, previews, inspects and destroys a kafka-kraft stack through Pulumi's
// Automation API. It runs the same program as `pulumi up` (internal/stack.Program) in-process, so it
// needs the Pulumi CLI and the resource plugins but not the Go language host.
//
//	kafka-kraft [-stack dev] [-dir .] [-config key=value ...] up|preview|destroy|outputs
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
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
	fs := flag.NewFlagSet("kafka-kraft", flag.ContinueOnError)
	stackName := fs.String("stack", "dev", "stack name (one per environment)")
	dir := fs.String("dir", ".", "project directory (holds Pulumi.yaml)")
	cfg := configFlags{}
	fs.Var(cfg, "config", "set a stack config value before the operation, like `pulumi config set` (repeatable): key=value")
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
		fmt.Fprintf(os.Stderr, "unknown action %q: want up, preview, destroy or outputs\n", action)
		return 2
	}

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	start := time.Now()
	s, err := deployer.Open(ctx, deployer.Options{WorkDir: *dir, Stack: *stackName, Config: cfg, Progress: os.Stdout})
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "==> %s stack %q\n", action, *stackName)
	switch action {
	case "up":
		res, err := s.Up(ctx)
		if err != nil {
			fmt.Fprintln(os.Stderr, "error:", err)
			return 1
		}
		printOutputs(deployer.StringOutputs(res.Outputs))
	case "preview":
		res, err := s.Preview(ctx)
		if err != nil {
			fmt.Fprintln(os.Stderr, "error:", err)
			return 1
		}
		fmt.Printf("changes: %d %v\n", deployer.Changes(res), res.ChangeSummary)
	case "destroy":
		if _, err := s.Destroy(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "error:", err)
			return 1
		}
	case "outputs":
		out, err := s.Outputs(ctx)
		if err != nil {
			fmt.Fprintln(os.Stderr, "error:", err)
			return 1
		}
		b, _ := json.MarshalIndent(deployer.StringOutputs(out), "", "  ")
		fmt.Println(string(b))
	}
	fmt.Fprintf(os.Stderr, "==> %s done in %s\n", action, time.Since(start).Round(time.Second))
	return 0
}

func printOutputs(out map[string]string) {
	keys := make([]string, 0, len(out))
	for k := range out {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Println("Outputs:")
	for _, k := range keys {
		fmt.Printf("  %-26s %s\n", k, out[k])
	}
}
