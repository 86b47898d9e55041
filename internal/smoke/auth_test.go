package smoke

import (
	"context"
	"crypto/rand"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafka-kraft/kafka-kraft/internal/clientauth"
	"github.com/kafka-kraft/kafka-kraft/internal/kfaketest"
	"github.com/kafka-kraft/kafka-kraft/internal/pki"
)

// tlsCluster is a kfake cluster that, like a kafka-kraft cluster with security "tls", takes only
// TLS and SCRAM-SHA-512 (admin / right-password).
func tlsCluster(t *testing.T) (*kfake.Cluster, string) {
	t.Helper()
	opts, caPEM := kfaketest.TLS(t, "admin", "right-password")
	return newCluster(t, opts...), caPEM
}

// The smoke run passes over TLS with the admin's SCRAM credentials, and fails, naming the cause,
// with a wrong password or without the CA.
func TestRunOverTLSAndSCRAM(t *testing.T) {
	t.Parallel()
	c, ca := tlsCluster(t)
	cfg := testConfig(c, "tls-smoke")
	cfg.Messages = 500
	cfg.Auth = clientauth.Auth{CACert: ca, Username: "admin", Password: "right-password"}
	if res, err := Run(context.Background(), cfg); err != nil {
		t.Fatalf("with the right credentials: %v", err)
	} else if res.Messages != 500 {
		t.Errorf("%d messages, want 500", res.Messages)
	}

	for _, tt := range []struct {
		name string
		auth clientauth.Auth
		want string
	}{
		// kfake drops the connection where Kafka answers SASL_AUTHENTICATION_FAILED (the e2e tier
		// checks Kafka's answer).
		{"wrong password", clientauth.Auth{CACert: ca, Username: "admin", Password: "wrong-password"}, "does not answer"},
		{"no TLS", clientauth.Auth{}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(c, "tls-smoke")
			cfg.Auth, cfg.Timeout, cfg.RequestTimeout = tt.auth, 5*time.Second, 2*time.Second
			_, err := Run(context.Background(), cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want a failure mentioning %q", err, tt.want)
			}
		})
	}
	// A CA the brokers' certificate does not chain to.
	other, _, err := pki.NewCA("another", time.Now(), time.Hour, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Auth.CACert, cfg.Timeout, cfg.RequestTimeout = other, 5*time.Second, 2*time.Second
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("another CA: err = %v, want a certificate error", err)
	}
}

func TestParseStackAuth(t *testing.T) {
	t.Parallel()
	a, err := ParseStackAuth([]byte(`{"securityProtocol": "PLAINTEXT", "externalBootstrapServers": "127.0.0.1:31090"}`))
	if err != nil || a.Enabled() {
		t.Errorf("PLAINTEXT stack: %v, %v", a, err)
	}
	if a, err := ParseStackAuth([]byte(`{"externalBootstrapServers": "127.0.0.1:31090"}`)); err != nil || a.Enabled() {
		t.Errorf("a stack from before security: %v, %v", a, err)
	}
	if _, err := ParseStackAuth([]byte(`{"securityProtocol": "SASL_SSL", "caCertificate": "x", "adminUser": "admin", "adminPassword": "[secret]"}`)); err == nil || !strings.Contains(err.Error(), "--show-secrets") {
		t.Errorf("hidden password: err = %v", err)
	}
	ca, _, err := pki.NewCA("x", time.Now(), time.Hour, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	a, err = ParseStackAuth([]byte(`{"securityProtocol": "SASL_SSL", "caCertificate": ` + jsonString(ca) + `, "adminUser": "admin", "adminPassword": "pw-123456789012"}`))
	if err != nil || a.Username != "admin" || a.Password != "pw-123456789012" || a.CACert != ca {
		t.Errorf("SASL_SSL stack: %v, %v", a, err)
	}
	if s := a.String(); strings.Contains(s, "pw-") {
		t.Errorf("String() shows the password: %s", s)
	}
}

func jsonString(s string) string {
	return `"` + strings.NewReplacer("\n", `\n`, `"`, `\"`).Replace(s) + `"`
}

// `make smoke` hands the smoke test the stack's outputs (secrets shown) in a file.
func TestParseStackOutputs(t *testing.T) {
	t.Parallel()
	ca, _, err := pki.NewCA("x", time.Now(), time.Hour, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	brokers, a, err := ParseStackOutputs([]byte(`{"externalBootstrapServers": "127.0.0.1:31090,127.0.0.1:31091", "securityProtocol": "SASL_SSL",
		"caCertificate": ` + jsonString(ca) + `, "adminUser": "admin", "adminPassword": "pw-123456789012", "deployed": {"replicas": 2}}`))
	if err != nil || len(brokers) != 2 || a.Username != "admin" || a.CACert != ca {
		t.Errorf("ParseStackOutputs = %v, %v, %v", brokers, a, err)
	}
	if _, _, err := ParseStackOutputs([]byte(`{"securityProtocol": "PLAINTEXT"}`)); err == nil || !strings.Contains(err.Error(), StackOutput) {
		t.Errorf("no bootstrap output: err = %v, want it named", err)
	}
}

// The read-back asks for the end offsets again when a broker answers UNKNOWN_SERVER_ERROR (reading
// changes nothing): seen once right after an upgrade raised metadata.version.
func TestReadBackRetriesUnknownServerErrorOnListOffsets(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	var failed atomic.Int32
	c.ControlKey(int16(kmsg.ListOffsets), func(req kmsg.Request) (kmsg.Response, error, bool) {
		if failed.Add(1) > 2 {
			return nil, nil, false // from the third request on, kfake answers
		}
		c.KeepControl()
		return listOffsetsErrorResponse(req, kerr.UnknownServerError.Code), nil, true
	})
	cfg := testConfig(c, "unknown-server-error")
	cfg.Messages = 200
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatalf("run: %v", err)
	}
	if failed.Load() < 3 {
		t.Errorf("ListOffsets asked %d times, want the two failures asked again", failed.Load())
	}
}
