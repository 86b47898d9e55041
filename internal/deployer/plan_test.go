package deployer

import (
	"strings"
	"testing"
)

func TestFormatPlan(t *testing.T) {
	t.Parallel()
	steps := Changed([]Step{
		{Op: "same", Type: "kubernetes:core/v1:Service", Name: "kafka-headless"},
		{Op: "update", Type: "kubernetes:apps/v1:StatefulSet", Name: "kafka"},
		{Op: "read", Type: "pulumi:pulumi:StackReference", Name: "self"},
		{Op: "create", Type: "kubernetes:core/v1:Service", Name: "kafka-external-3"},
		{Op: "replace", Type: "kubernetes:batch/v1:Job", Name: "kafka-cluster-config"},
	})
	got := FormatPlan(steps)
	for _, want := range []string{
		"~  update             kubernetes:apps/v1:StatefulSet kafka",
		"+  create             kubernetes:core/v1:Service kafka-external-3",
		"+- replace            kubernetes:batch/v1:Job kafka-cluster-config",
		"1 to create, 1 to replace, 1 to update",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("plan lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "WARNING") || strings.Contains(got, "kafka-headless") || strings.Contains(got, "self") {
		t.Errorf("plan shows unchanged resources or a warning:\n%s", got)
	}
	if len(Disruptive(steps)) != 0 {
		t.Error("an in-place StatefulSet update is not disruptive")
	}

	bad := []Step{{Op: "replace", Type: "kubernetes:apps/v1:StatefulSet", Name: "kafka"}}
	if got := FormatPlan(bad); !strings.Contains(got, `!!! WARNING: REPLACE kubernetes:apps/v1:StatefulSet "kafka": every Kafka node would stop at once`) {
		t.Errorf("a StatefulSet replace is not shown prominently:\n%s", got)
	}
	if got := FormatPlan(nil); got != "Plan: no changes.\n" {
		t.Errorf("empty plan: %q", got)
	}
}
