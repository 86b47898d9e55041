// Package pulumitest runs Pulumi code under the SDK's mocks and records what it registers: the
// components' mock tier (no engine, no cluster). internal/stack keeps its own, richer recorder
// (URNs, dependencies, secrets) for the whole program.
package pulumitest

import (
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Resources are the registered resources' inputs by "type/name".
type Resources map[string]resource.PropertyMap

// recorder is a MockResourceMonitor: it records every resource and echoes its inputs as outputs,
// plus the fake outputs given per type token (what the provider would compute, like an image's
// repoDigest).
type recorder struct {
	mu    sync.Mutex
	res   Resources
	fakes map[string]resource.PropertyMap
}

func (r *recorder) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.res[args.TypeToken+"/"+args.Name] = args.Inputs
	out := args.Inputs.Copy()
	for k, v := range r.fakes[args.TypeToken] {
		out[k] = v
	}
	return args.Name + "-id", out, nil
}

// Call fails: the components make no invokes, and an unexpected one should be noticed.
func (r *recorder) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	panic("unexpected invoke " + args.Token)
}

// Run runs program under mocks and returns what it registered. fakes are outputs to add per type
// token (nil: none).
func Run(t testing.TB, program pulumi.RunFunc, fakes map[string]resource.PropertyMap) (Resources, error) {
	t.Helper()
	r := &recorder{res: Resources{}, fakes: fakes}
	err := pulumi.RunErr(program, pulumi.WithMocks("project", "stack", r))
	return r.res, err
}
