package pki

import (
	"crypto/rand"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

var now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

const year = 365 * 24 * time.Hour

// The first update generates everything; later ones keep all of it, so the CA and the passwords
// of a stack never change by themselves.
func TestCompleteGeneratesOnceAndKeeps(t *testing.T) {
	t.Parallel()
	first, err := State{}.Complete("kafka-kraft dev", now, 10*year, []string{"orders"}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if first.CACert == "" || first.CAKey == "" || len(first.AdminPassword) != 32 || len(first.Passwords["orders"]) != 32 || first.Salt == "" {
		t.Fatalf("incomplete state: %+v", first)
	}
	user, hash, _ := strings.Cut(strings.TrimSpace(first.RegistryHtpasswd), ":")
	if user != RegistryUser || bcrypt.CompareHashAndPassword([]byte(hash), []byte(first.RegistryPassword)) != nil {
		t.Errorf("htpasswd line %q does not match the registry password", first.RegistryHtpasswd)
	}
	again, err := Parse(first.JSON())
	if err != nil {
		t.Fatal(err)
	}
	second, err := again.Complete("kafka-kraft dev", now.Add(year), 10*year, []string{"orders", "audit"}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if second.CACert != first.CACert || second.CAKey != first.CAKey || second.AdminPassword != first.AdminPassword ||
		second.Passwords["orders"] != first.Passwords["orders"] || second.Salt != first.Salt ||
		second.RegistryPassword != first.RegistryPassword || second.RegistryHtpasswd != first.RegistryHtpasswd {
		t.Error("Complete changed material that was there")
	}
	if second.Passwords["audit"] == "" {
		t.Error("a new user got no password")
	}
	third, err := second.Complete("kafka-kraft dev", now.Add(year), 10*year, []string{"audit"}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, kept := third.Passwords["orders"]; kept {
		t.Error("the password of a removed user was kept: adding the user back must not revive it")
	}
}

func TestCAIsAValidSigningCA(t *testing.T) {
	t.Parallel()
	certPEM, _, err := NewCA("kafka-kraft dev", now, 10*year, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseCert(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !c.IsCA || !c.MaxPathLenZero || c.KeyUsage&x509.KeyUsageCertSign == 0 || c.Subject.CommonName != "kafka-kraft dev" {
		t.Errorf("CA = IsCA %v, MaxPathLenZero %v, usage %v, CN %q", c.IsCA, c.MaxPathLenZero, c.KeyUsage, c.Subject.CommonName)
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		t.Errorf("not self-signed: %v", err)
	}
	if !c.NotAfter.Equal(now.Add(10 * year).Truncate(time.Second)) {
		t.Errorf("NotAfter = %v", c.NotAfter)
	}
}

// A CA near its end is kept (replacing it in one update would cut the rolled nodes off from the
// others), and reported.
func TestCompleteKeepsAnExpiringCA(t *testing.T) {
	t.Parallel()
	s, err := State{}.Complete("x", now, 2*year, nil, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	later, err := s.Complete("x", now.Add(year+time.Hour), 2*year, nil, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if later.CACert != s.CACert || later.AdminPassword != s.AdminPassword {
		t.Error("Complete replaced the CA or a password")
	}
	if !later.CAExpiresWithin(now.Add(year+time.Hour), year) || later.CAExpiresWithin(now, year) {
		t.Error("CAExpiresWithin is wrong")
	}
}

func TestNameHidesTheContent(t *testing.T) {
	t.Parallel()
	a, b := State{Salt: "one"}, State{Salt: "two"}
	if a.Name("x", "secret") == b.Name("x", "secret") {
		t.Error("the name does not depend on the salt")
	}
	if a.Name("x", "secret") == a.Name("x", "secret2") || a.Name("x", "ab", "c") == a.Name("x", "a", "bc") {
		t.Error("different content, same name")
	}
	if n := a.Name("kafka-users", "s"); !strings.HasPrefix(n, "kafka-users-") || len(n) != len("kafka-users-")+10 {
		t.Errorf("Name = %q", n)
	}
}

func TestCheckCA(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	cert, key, err := NewCA("check", now, 24*time.Hour, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, err := NewCA("other", now, 24*time.Hour, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckCA(cert, key, now); err != nil {
		t.Errorf("a fresh CA: %v", err)
	}
	for _, tt := range []struct {
		name, cert, key string
		at              time.Time
		want            string
	}{
		{"someone else's key", cert, otherKey, now, "does not belong to the CA certificate"},
		{"expired", cert, key, now.Add(48 * time.Hour), "not now"},
		{"garbage key", cert, "not PEM", now, "PKCS#8"},
		{"garbage certificate", "not PEM", key, now, "no PEM certificate"},
	} {
		if err := CheckCA(tt.cert, tt.key, tt.at); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: CheckCA() = %v, want %q", tt.name, err, tt.want)
		}
	}
}
