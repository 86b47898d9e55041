// Package deployer runs the kafka-kraft program through Pulumi's Automation API: an inline program
// (stack.Program) in a workspace rooted at the project directory, so Pulumi.yaml and
// Pulumi.<stack>.yaml are the same files `pulumi config set` writes. It needs the Pulumi CLI and the
// resource plugins, but not the Go language host, which is what lets `make deploy` and the
// end-to-end tests run where only the CLI can be installed.
package deployer

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/kafka-kraft/kafka-kraft/internal/stack"
)

// Project is the Pulumi project name (Pulumi.yaml).
const Project = "kafka-kraft"

// Options select the stack and its workspace.
type Options struct {
	// WorkDir is the project directory holding Pulumi.yaml. Default ".".
	WorkDir string
	// Stack is the stack name. Default "dev".
	Stack string
	// Env is added to the Pulumi CLI's environment (for example PULUMI_BACKEND_URL,
	// PULUMI_CONFIG_PASSPHRASE, KUBECONFIG). The process environment is inherited.
	Env map[string]string
	// Config is set on the stack before any operation, exactly as `pulumi config set key value`
	// would (it is written to Pulumi.<stack>.yaml). Keys without a namespace get the project's.
	Config map[string]string
	// Progress receives the engine's streaming output; nil discards it.
	Progress io.Writer
}

// Stack is an opened stack.
type Stack struct {
	auto.Stack
	progress io.Writer
}

// Open creates or selects the stack and applies Options.Config.
func Open(ctx context.Context, o Options) (*Stack, error) {
	if o.WorkDir == "" {
		o.WorkDir = "."
	}
	if o.Stack == "" {
		o.Stack = "dev"
	}
	dir, err := filepath.Abs(o.WorkDir)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, "Pulumi.yaml")); err != nil {
		return nil, fmt.Errorf("%s is not the kafka-kraft project directory (no Pulumi.yaml): %w", dir, err)
	}
	s, err := auto.UpsertStackInlineSource(ctx, o.Stack, Project, stack.Program,
		auto.WorkDir(dir), auto.EnvVars(o.Env))
	if err != nil {
		return nil, fmt.Errorf("stack %q: %w", o.Stack, err)
	}
	for k, v := range o.Config {
		if err := s.SetConfig(ctx, k, auto.ConfigValue{Value: v}); err != nil {
			return nil, fmt.Errorf("stack %q: config set %s: %w", o.Stack, k, err)
		}
	}
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	return &Stack{Stack: s, progress: progress}, nil
}

// Up deploys and returns the stack outputs as plain values.
func (s *Stack) Up(ctx context.Context) (auto.UpResult, error) {
	return s.Stack.Up(ctx, optup.ProgressStreams(s.progress), optup.ErrorProgressStreams(s.progress), optup.SuppressProgress())
}

// Preview returns the planned changes; a no-change preview has only "same" steps.
func (s *Stack) Preview(ctx context.Context) (auto.PreviewResult, error) {
	return s.Stack.Preview(ctx, optpreview.ProgressStreams(s.progress), optpreview.ErrorProgressStreams(s.progress), optpreview.SuppressProgress())
}

// Destroy removes every resource of the stack.
func (s *Stack) Destroy(ctx context.Context) (auto.DestroyResult, error) {
	return s.Stack.Destroy(ctx, optdestroy.ProgressStreams(s.progress), optdestroy.ErrorProgressStreams(s.progress), optdestroy.SuppressProgress())
}

// Changes counts the operations of a preview that would change something: zero means the program
// is deterministic and the cluster matches it. Reads are not changes: the program reads its own
// stack's outputs through a stack reference on every run (see stack.previousDeployment).
func Changes(p auto.PreviewResult) int {
	n := 0
	for op, count := range p.ChangeSummary {
		switch op {
		case apitype.OpSame, apitype.OpRead, apitype.OpReadDiscard, apitype.OpReadReplacement:
		default:
			n += count
		}
	}
	return n
}

// SecretPlaceholder stands for a secret output's value, as the pulumi CLI prints it.
const SecretPlaceholder = "[secret]"

// StringOutputs flattens stack outputs to strings (non-strings are formatted with %v) for
// printing: a secret output (adminPassword, securityState, ...) shows as SecretPlaceholder.
func StringOutputs(out auto.OutputMap) map[string]string {
	m := RevealedOutputs(out)
	for k, v := range out {
		if v.Secret {
			m[k] = SecretPlaceholder
		}
	}
	return m
}

// RevealedOutputs is StringOutputs with the secret outputs' values: for a client that needs the
// credentials (the tests); never print it.
func RevealedOutputs(out auto.OutputMap) map[string]string {
	m := map[string]string{}
	for k, v := range out {
		switch val := v.Value.(type) {
		case string:
			m[k] = val
		default:
			// Structured outputs (the deployed record) as JSON, as `pulumi stack output --json`
			// gives them: readable, and parseable by the tools that read an outputs file.
			if b, err := json.Marshal(val); err == nil {
				m[k] = string(b)
			} else {
				m[k] = fmt.Sprint(val)
			}
		}
	}
	return m
}
