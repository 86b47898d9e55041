package deployer

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
)

// Step is one planned operation of a preview, as `pulumi preview` lists it.
type Step struct {
	// Op is Pulumi's operation: create, update, delete, replace, create-replacement, ...
	Op string
	// Type is the resource type token, e.g. kubernetes:apps/v1:StatefulSet.
	Type string
	// Name is the resource's logical name.
	Name string
}

// Plan previews an update and returns the steps that change something (not "same" or reads),
// sorted by type and name.
func (s *Stack) Plan(ctx context.Context) ([]Step, error) {
	ch := make(chan events.EngineEvent)
	var steps []Step
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ev := range ch {
			if ev.ResourcePreEvent == nil {
				continue
			}
			m := ev.ResourcePreEvent.Metadata
			steps = append(steps, Step{Op: string(m.Op), Type: m.Type, Name: m.URN[strings.LastIndex(m.URN, "::")+2:]})
		}
	}()
	_, err := s.Stack.Preview(ctx, optpreview.EventStreams(ch), optpreview.ProgressStreams(s.progress),
		optpreview.ErrorProgressStreams(s.progress), optpreview.SuppressProgress())
	wg.Wait()
	if err != nil {
		return nil, err
	}
	return Changed(steps), nil
}

// Changed keeps the steps that change something and sorts them by type and name.
func Changed(steps []Step) []Step {
	var out []Step
	for _, st := range steps {
		switch st.Op {
		case "same", "read", "read-discard", "read-replacement", "discard":
			continue
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Type != out[j].Type {
			return out[i].Type < out[j].Type
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Disruptive reports the steps that would take every Kafka node down at once: a replacement or
// deletion of the StatefulSet.
func Disruptive(steps []Step) []Step {
	var out []Step
	for _, st := range steps {
		if st.Type == "kubernetes:apps/v1:StatefulSet" && (strings.Contains(st.Op, "replace") || st.Op == "delete") {
			out = append(out, st)
		}
	}
	return out
}

// FormatPlan renders the steps for a human, one per line with Pulumi's symbols, a count per
// operation, and a warning block for disruptive steps.
func FormatPlan(steps []Step) string {
	if len(steps) == 0 {
		return "Plan: no changes.\n"
	}
	symbol := map[string]string{"create": "+", "update": "~", "delete": "-", "replace": "+-",
		"create-replacement": "++", "delete-replaced": "--"}
	var b strings.Builder
	b.WriteString("Plan:\n")
	counts := map[string]int{}
	for _, st := range steps {
		sym := symbol[st.Op]
		if sym == "" {
			sym = "?"
		}
		fmt.Fprintf(&b, "  %-2s %-18s %s %s\n", sym, st.Op, st.Type, st.Name)
		counts[st.Op]++
	}
	ops := make([]string, 0, len(counts))
	for op, n := range counts {
		ops = append(ops, fmt.Sprintf("%d to %s", n, op))
	}
	sort.Strings(ops)
	fmt.Fprintf(&b, "  %s\n", strings.Join(ops, ", "))
	for _, st := range Disruptive(steps) {
		fmt.Fprintf(&b, "\n!!! WARNING: %s %s %q: every Kafka node would stop at once (a full outage).\n"+
			"!!! kafka-kraft never plans this for a setting it accepts; check what changed (pulumi preview --diff).\n",
			strings.ToUpper(st.Op), st.Type, st.Name)
	}
	return b.String()
}
