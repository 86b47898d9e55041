// Package pki makes and keeps the secret material of a stack: the cluster CA, the admin password,
// generated user passwords and a salt for naming secret-derived objects. It is generated once, on
// the first update, and carried from update to update in a secret stack output (State), so the
// same stack always has the same CA and passwords; nothing here is printed or put in a ConfigMap.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"slices"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// State is the secret material of a stack. The zero value has nothing; Complete fills in what is
// missing and keeps what is there.
type State struct {
	// CACert and CAKey are the cluster CA (PEM certificate, PEM PKCS#8 ECDSA P-256 key).
	CACert string `json:"caCert,omitempty"`
	CAKey  string `json:"caKey,omitempty"`
	// AdminPassword is the SCRAM password of the admin super user.
	AdminPassword string `json:"adminPassword,omitempty"`
	// Passwords are the generated passwords of users that have none in the configuration.
	Passwords map[string]string `json:"passwords,omitempty"`
	// RegistryPassword is the password of RegistryUser on the in-cluster registry; RegistryHtpasswd
	// its htpasswd line (bcrypt: salted, so made once and kept like the password).
	RegistryPassword string `json:"registryPassword,omitempty"`
	RegistryHtpasswd string `json:"registryHtpasswd,omitempty"`
	// Salt keys the HMAC that names objects derived from secrets (Name), so that a name shows that
	// a secret changed without letting anyone test guesses of it.
	Salt string `json:"salt,omitempty"`
}

// RegistryUser is the user that pushes to and pulls from the in-cluster registry.
const RegistryUser = "kafka-kraft"

// Parse decodes a State from its JSON form; "" is the zero State.
func Parse(s string) (State, error) {
	var st State
	if s == "" {
		return st, nil
	}
	if err := json.Unmarshal([]byte(s), &st); err != nil {
		return State{}, fmt.Errorf("the stack output securityState is not valid JSON: %w", err)
	}
	return st, nil
}

// JSON encodes the State (keys sorted: the same State gives the same text).
func (s State) JSON() string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // only strings and a map of strings
	}
	return string(b)
}

// Complete returns s with every missing part generated: the CA (named after cn, valid for
// caValidity from now) when it has none, the admin password, a password for each user in
// generateFor that has none (and none kept for users no longer listed), the registry credentials
// and the salt. An existing CA is kept even when it nears its end: replacing it in one update
// would cut the rolled nodes off from the others (see CAExpiresWithin). rnd is the randomness
// (crypto/rand.Reader outside tests).
func (s State) Complete(cn string, now time.Time, caValidity time.Duration, generateFor []string, rnd io.Reader) (State, error) {
	out := s
	out.Passwords = map[string]string{}
	if out.CACert != "" {
		if _, err := ParseCert(out.CACert); err != nil {
			return State{}, fmt.Errorf("the CA in the stack's securityState output: %w", err)
		}
	}
	if out.CACert == "" || out.CAKey == "" {
		cert, key, err := NewCA(cn, now, caValidity, rnd)
		if err != nil {
			return State{}, err
		}
		out.CACert, out.CAKey = cert, key
	}
	var err error
	if out.AdminPassword == "" {
		if out.AdminPassword, err = Password(rnd); err != nil {
			return State{}, err
		}
	}
	for _, u := range generateFor {
		if p := s.Passwords[u]; p != "" {
			out.Passwords[u] = p
			continue
		}
		if out.Passwords[u], err = Password(rnd); err != nil {
			return State{}, err
		}
	}
	if out.RegistryPassword == "" || out.RegistryHtpasswd == "" {
		if out.RegistryPassword, err = Password(rnd); err != nil {
			return State{}, err
		}
		hash, err := bcrypt.GenerateFromPassword([]byte(out.RegistryPassword), bcrypt.DefaultCost)
		if err != nil {
			return State{}, fmt.Errorf("hashing the registry password: %w", err)
		}
		out.RegistryHtpasswd = RegistryUser + ":" + string(hash) + "\n"
	}
	if out.Salt == "" {
		if out.Salt, err = Password(rnd); err != nil {
			return State{}, err
		}
	}
	return out, nil
}

// CAExpiresWithin reports whether the CA ends within d of now (false without a CA).
func (s State) CAExpiresWithin(now time.Time, d time.Duration) bool {
	c, err := ParseCert(s.CACert)
	return err == nil && now.Add(d).After(c.NotAfter)
}

// Name is prefix-<10 hex characters of HMAC-SHA256(salt, content)>: an object name that changes
// with content but tells nothing about it.
func (s State) Name(prefix string, content ...string) string {
	m := hmac.New(sha256.New, []byte(s.Salt))
	for _, c := range content {
		fmt.Fprintf(m, "%d:%s", len(c), c)
	}
	return prefix + "-" + hex.EncodeToString(m.Sum(nil))[:10]
}

// Password returns 32 characters of URL-safe base64 (192 random bits).
func Password(rnd io.Reader) (string, error) {
	b := make([]byte, 24)
	if _, err := io.ReadFull(rnd, b); err != nil {
		return "", fmt.Errorf("generating a password: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// NewCA makes a self-signed CA: ECDSA P-256, valid from an hour before now (clock skew) for
// validity, allowed to sign end-entity certificates only (path length 0).
func NewCA(cn string, now time.Time, validity time.Duration, rnd io.Reader) (certPEM, keyPEM string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rnd)
	if err != nil {
		return "", "", fmt.Errorf("generating the CA key: %w", err)
	}
	serial, err := rand.Int(rnd, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return "", "", fmt.Errorf("generating the CA serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"kafka-kraft"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rnd, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", fmt.Errorf("signing the CA: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})), nil
}

// ParseCert decodes the first certificate of a PEM text.
func ParseCert(certPEM string) (*x509.Certificate, error) {
	block, _ := pem.Decode([]byte(certPEM))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate found")
	}
	return x509.ParseCertificate(block.Bytes)
}

// CheckCA reports why a CA cannot issue the nodes' certificates: the certificate is not a CA, the
// key is not its PKCS#8 private key, or the CA is not valid at now. (The nodes find out only when
// they start, and an update then waits for pods that never get Ready.)
func CheckCA(certPEM, keyPEM string, now time.Time) error {
	cert, err := ParseCert(certPEM)
	if err != nil {
		return fmt.Errorf("the CA certificate: %w", err)
	}
	if !cert.IsCA {
		return errors.New("the CA certificate is not a CA (basic constraints CA:false)")
	}
	if now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return fmt.Errorf("the CA certificate is valid from %s to %s, not now", cert.NotBefore.Format(time.DateOnly), cert.NotAfter.Format(time.DateOnly))
	}
	block, _ := pem.Decode([]byte(keyPEM))
	if block == nil || block.Type != "PRIVATE KEY" {
		return errors.New("the CA key: no PEM \"PRIVATE KEY\" (PKCS#8) block found")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return fmt.Errorf("the CA key: %w", err)
	}
	signer, ok := key.(interface{ Public() crypto.PublicKey })
	if !ok {
		return errors.New("the CA key is not a signing key")
	}
	if pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(cert.PublicKey) {
		return errors.New("the CA key does not belong to the CA certificate")
	}
	return nil
}

// Users lists the names in users that have no password of their own (sorted), for Complete.
func Users[V any](users map[string]V, hasPassword func(V) bool) []string {
	var out []string
	for name, u := range users {
		if !hasPassword(u) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
