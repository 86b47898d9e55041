// Package clientauth is how this project's own kafka-go clients (the smoke test, the scale-down,
// the tests) reach a kafka-kraft cluster: plainly with security "none", and with security "tls"
// over TLS verified against the cluster CA and authenticated with SCRAM-SHA-512, as any client of
// the EXTERNAL and CLIENT listeners must.
package clientauth

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// Auth holds a client's credentials. The zero value is a PLAINTEXT client.
type Auth struct {
	// CACert is the PEM CA the brokers' certificates are verified with (the stack output
	// caCertificate). "" means no TLS.
	CACert string
	// Username and Password are a SCRAM-SHA-512 user's ("" for none).
	Username, Password string
	// ServerName overrides the name the brokers' certificates are checked against (default: the
	// host of each address dialled).
	ServerName string
}

// Enabled reports whether the client speaks TLS.
func (a Auth) Enabled() bool { return a.CACert != "" }

// String describes the client without its password.
func (a Auth) String() string {
	switch {
	case !a.Enabled():
		return "PLAINTEXT"
	case a.Username == "":
		return "SSL"
	default:
		return fmt.Sprintf("SASL_SSL (SCRAM-SHA-512 as %s)", a.Username)
	}
}

// Validate refuses half-set credentials.
func (a Auth) Validate() error {
	if (a.Username == "") != (a.Password == "") {
		return errors.New("a SCRAM user needs both a name and a password")
	}
	if a.Username != "" && a.CACert == "" {
		return errors.New("SCRAM credentials need the cluster CA (TLS): kafka-kraft never sends them in the clear")
	}
	_, err := a.TLS()
	return err
}

// TLS returns the client TLS config (nil without TLS).
func (a Auth) TLS() (*tls.Config, error) {
	if !a.Enabled() {
		return nil, nil
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(a.CACert)) {
		return nil, errors.New("the CA certificate is not PEM")
	}
	return &tls.Config{RootCAs: pool, ServerName: a.ServerName, MinVersion: tls.VersionTLS12}, nil
}

// Mechanism returns the SASL mechanism (nil without a user).
func (a Auth) Mechanism() (sasl.Mechanism, error) {
	if a.Username == "" {
		return nil, nil
	}
	m, err := scram.Mechanism(scram.SHA512, a.Username, a.Password)
	if err != nil {
		return nil, fmt.Errorf("SCRAM-SHA-512 for %s: %w", a.Username, err)
	}
	return m, nil
}

// Apply sets TLS and SASL on a transport.
func (a Auth) Apply(tr *kafka.Transport) error {
	t, err := a.TLS()
	if err != nil {
		return err
	}
	m, err := a.Mechanism()
	if err != nil {
		return err
	}
	tr.TLS, tr.SASL = t, m
	return nil
}

// Transport is a kafka-go transport with the credentials and the dial timeout.
func (a Auth) Transport(dialTimeout time.Duration) (*kafka.Transport, error) {
	tr := &kafka.Transport{DialTimeout: dialTimeout}
	if err := a.Apply(tr); err != nil {
		return nil, err
	}
	return tr, nil
}

// Dialer is a kafka-go dialer (for Readers and single connections) with the credentials.
func (a Auth) Dialer(timeout time.Duration) (*kafka.Dialer, error) {
	t, err := a.TLS()
	if err != nil {
		return nil, err
	}
	m, err := a.Mechanism()
	if err != nil {
		return nil, err
	}
	return &kafka.Dialer{Timeout: timeout, DualStack: true, TLS: t, SASLMechanism: m}, nil
}

// PasswordEnv is where the commands take a -user's password from (never a flag: it would show in
// the process list and the shell history).
const PasswordEnv = "KAFKA_PASSWORD"

// FromFlags is the Auth of the commands' -ca FILE and -user NAME flags, the password from
// $KAFKA_PASSWORD (getenv): both flags or neither (PLAINTEXT, the zero Auth).
func FromFlags(caFile, user string, getenv func(string) string) (Auth, error) {
	if (caFile == "") != (user == "") {
		return Auth{}, errors.New("-ca and -user go together: a kafka-kraft cluster with security tls takes TLS with a SCRAM user (password in $" + PasswordEnv + "); give neither for security none")
	}
	if caFile == "" {
		return Auth{}, nil
	}
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return Auth{}, fmt.Errorf("-ca: %w", err)
	}
	return Auth{CACert: string(ca), Username: user, Password: getenv(PasswordEnv)}, nil
}
