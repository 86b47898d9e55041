package deployer

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

func TestChangesCountsOnlyWhatWouldChange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		summary map[apitype.OpType]int
		want    int
	}{
		{"nothing planned", nil, 0},
		{"all same", map[apitype.OpType]int{apitype.OpSame: 25}, 0},
		{"the self stack reference read is not a change", map[apitype.OpType]int{apitype.OpSame: 25, apitype.OpRead: 1}, 0},
		{"an update counts", map[apitype.OpType]int{apitype.OpSame: 24, apitype.OpUpdate: 1}, 1},
		{"creates and replaces count", map[apitype.OpType]int{apitype.OpCreate: 2, apitype.OpReplace: 1, apitype.OpSame: 3}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Changes(auto.PreviewResult{ChangeSummary: tt.summary}); got != tt.want {
				t.Errorf("Changes(%v) = %d, want %d", tt.summary, got, tt.want)
			}
		})
	}
}

func TestOpenRefusesADirectoryWithoutTheProject(t *testing.T) {
	t.Parallel()
	_, err := Open(t.Context(), Options{WorkDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "no Pulumi.yaml") {
		t.Fatalf("err = %v, want one saying the directory is not the project", err)
	}
}

// Printed outputs never show a secret output's value; the revealed ones do, for the tests' clients.
func TestStringOutputsHideSecrets(t *testing.T) {
	t.Parallel()
	out := auto.OutputMap{
		"adminPassword":            {Value: "s3cret-value", Secret: true},
		"externalBootstrapServers": {Value: "127.0.0.1:31090"},
		"replicas":                 {Value: 3.0},
		"deployed":                 {Value: map[string]any{"replicas": 3.0, "security": "tls"}},
	}
	printed := StringOutputs(out)
	if printed["adminPassword"] != SecretPlaceholder || printed["externalBootstrapServers"] != "127.0.0.1:31090" || printed["replicas"] != "3" {
		t.Errorf("StringOutputs = %v", printed)
	}
	// Structured outputs as JSON (make status reads deployed from them), not Go's map syntax.
	if printed["deployed"] != `{"replicas":3,"security":"tls"}` {
		t.Errorf("deployed printed as %q", printed["deployed"])
	}
	if RevealedOutputs(out)["adminPassword"] != "s3cret-value" {
		t.Errorf("RevealedOutputs = %v", RevealedOutputs(out))
	}
}
