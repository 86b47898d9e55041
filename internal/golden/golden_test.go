package golden

import (
	"path/filepath"
	"testing"
)

func TestLineDiff(t *testing.T) {
	t.Parallel()
	if got := LineDiff("a\nb\nc", "a\nc\nd"); got != "- b\n+ d\n" {
		t.Errorf("LineDiff = %q", got)
	}
}

func TestCompareWritesThenMatches(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "testdata", "x.golden")
	Compare(t, path, "one\ntwo\n", true)
	Compare(t, path, "one\ntwo\n", false) // fails the test if the written file did not match
}
