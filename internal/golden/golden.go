// Package golden compares test output with files under testdata/, rewriting them on request.
// Both golden-file tiers (the rendered configuration and the change matrix) use it.
package golden

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Compare fails t when got differs from the file at path, showing the differing lines; with update
// it writes got to path instead (the caller's -update flag).
func Compare(t testing.TB, path, got string, update bool) {
	t.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update if the change is intended, and review the diff):\n%s", path, LineDiff(string(want), got))
	}
}

// LineDiff is a minimal diff: the lines only in want (-) and only in got (+).
func LineDiff(want, got string) string {
	count := func(s string) map[string]int {
		m := map[string]int{}
		for _, l := range strings.Split(s, "\n") {
			m[l]++
		}
		return m
	}
	w, g := count(want), count(got)
	var b strings.Builder
	for _, l := range strings.Split(want, "\n") {
		if g[l] == 0 {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range strings.Split(got, "\n") {
		if w[l] == 0 {
			b.WriteString("+ " + l + "\n")
		}
	}
	return b.String()
}
