package clientauth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFromFlags(t *testing.T) {
	t.Parallel()
	ca := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(ca, []byte("PEM"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(k string) string { return map[string]string{PasswordEnv: "pw"}[k] }
	if a, err := FromFlags("", "", env); err != nil || a.Enabled() {
		t.Errorf("no flags: %+v, %v; want PLAINTEXT", a, err)
	}
	if a, err := FromFlags(ca, "orders", env); err != nil || a != (Auth{CACert: "PEM", Username: "orders", Password: "pw"}) {
		t.Errorf("both flags: %+v, %v", a, err)
	}
	for _, tt := range []struct{ ca, user, want string }{
		{ca, "", "-ca and -user go together"},
		{"", "orders", "-ca and -user go together"},
		{filepath.Join(t.TempDir(), "missing.crt"), "orders", "-ca: open"},
	} {
		if _, err := FromFlags(tt.ca, tt.user, env); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("FromFlags(%q, %q) = %v, want %q", tt.ca, tt.user, err, tt.want)
		}
	}
}
