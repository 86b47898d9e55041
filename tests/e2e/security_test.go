//go:build e2e

package e2e_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/segmentio/kafka-go"

	"github.com/kafka-kraft/kafka-kraft/internal/clientauth"
	"github.com/kafka-kraft/kafka-kraft/internal/kraft"
	"github.com/kafka-kraft/kafka-kraft/internal/pki"
	"github.com/kafka-kraft/kafka-kraft/internal/stack"
)

// usersTopic is the topic the e2e user "orders" may write.
const usersTopic = "e2e-orders"

// setSecrets keeps the secret outputs the checks need (never printed).
func (s *suite) setSecrets(t testing.TB, out auto.OutputMap) {
	t.Helper()
	s.userPasswords = map[string]string{}
	if m, ok := out[stack.OutputUserPasswords].Value.(map[string]any); ok {
		for k, v := range m {
			s.userPasswords[k], _ = v.(string)
		}
	}
	s.registryPassword, _ = out[stack.OutputRegistryPassword].Value.(string)
	raw, _ := out[stack.OutputSecurityState].Value.(string)
	st, err := pki.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	s.state = st
}

// metadataAs asks the first broker for metadata with a's credentials.
func (s *suite) metadataAs(ctx context.Context, a clientauth.Auth, tlsOverride *tls.Config) error {
	tr, err := a.Transport(5 * time.Second)
	if err != nil {
		return err
	}
	if tlsOverride != nil {
		tr.TLS = tlsOverride
	}
	defer tr.CloseIdleConnections()
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	_, err = (&kafka.Client{Addr: kafka.TCP(s.brokers[0]), Transport: tr}).Metadata(cctx, &kafka.MetadataRequest{})
	return err
}

// security checks, on the deployed stack (security "tls", the default), that EXTERNAL refuses a
// client without TLS, one that does not trust the cluster CA and one with a wrong password, and
// that no password or private key is in the stack's state, in any ConfigMap of the cluster or in
// the logs of the brokers and the cluster Job.
func (s *suite) security(t *testing.T, ctx context.Context) {
	if !s.auth.Enabled() || s.outputs[stack.OutputSecurityProtocol] != "SASL_SSL" {
		t.Fatalf("the stack runs without security: outputs %v", s.outputs)
	}
	for _, tt := range []struct {
		name string
		auth clientauth.Auth
		tls  *tls.Config
		want string
	}{
		{"no TLS", clientauth.Auth{}, nil, ""},
		{"not trusting the cluster CA", s.auth, &tls.Config{MinVersion: tls.VersionTLS12}, "certificate"},
		{"a wrong password", clientauth.Auth{CACert: s.auth.CACert, Username: kraft.AdminUser, Password: "not-the-password"}, nil, "SASL Authentication failed"},
	} {
		err := s.metadataAs(ctx, tt.auth, tt.tls)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want a refusal mentioning %q", tt.name, err, tt.want)
		} else {
			t.Logf("%s: refused: %v", tt.name, err)
		}
	}
	if err := s.metadataAs(ctx, s.auth, nil); err != nil {
		t.Errorf("the admin with the stack's CA and password: %v", err)
	}

	secrets := map[string]string{"the admin password": s.auth.Password, "the CA key": pemBody(s.state.CAKey), "the salt": s.state.Salt,
		"the registry password": s.registryPassword}
	for u, p := range s.userPasswords {
		secrets["the password of "+u] = p
	}
	// The state as it lies on disk in the stack's backend (checkpoint, backups, history): the
	// Automation API's Export would decrypt the secrets (it runs `stack export --show-secrets`).
	var state strings.Builder
	err := filepath.WalkDir(s.backend, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.HasSuffix(path, ".gz") {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			if b, err = io.ReadAll(zr); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
		}
		state.Write(b)
		return nil
	})
	if err != nil || state.Len() == 0 {
		t.Fatalf("reading the state in %s: %v (%d bytes)", s.backend, err, state.Len())
	}
	cms, err := kubectl(ctx, "get", "configmaps", "--all-namespaces", "-o", "yaml")
	if err != nil {
		t.Fatal(err)
	}
	logs := ""
	for i := range 3 {
		l, err := kubectl(ctx, "-n", s.env.Namespace, "logs", kraft.PodName(i), "-c", "kafka")
		if err != nil {
			t.Fatal(err)
		}
		logs += l
	}
	jobLogs, err := kubectl(ctx, "-n", s.env.Namespace, "logs", "-l", "app.kubernetes.io/name="+kraft.ClusterJobName, "--tail=-1")
	if err != nil {
		t.Fatal(err)
	}
	for where, text := range map[string]string{"the stack state files": state.String(), "the ConfigMaps": cms,
		"the broker logs": logs, "the cluster Job's logs": jobLogs} {
		for what, secret := range secrets {
			if secret == "" {
				t.Fatalf("no value for %s", what)
			}
			if strings.Contains(text, secret) {
				t.Errorf("%s hold %s", where, what)
			}
		}
		if where != "the stack state files" && strings.Contains(text, "PRIVATE KEY") {
			t.Errorf("%s hold a private key", where)
		}
	}
	t.Logf("no password, CA key or salt in the state files (%d bytes), the ConfigMaps (%d bytes), the broker logs or the Job's logs", state.Len(), len(cms))
}

// pemBody is a line from the middle of a PEM block: the encrypted state holds no PEM armour to
// look for, but the key's base64 would show as it is.
func pemBody(p string) string {
	lines := strings.Split(strings.TrimSpace(p), "\n")
	if len(lines) < 3 {
		return p
	}
	return lines[1]
}

// usersChange adds the user "orders" with write access to usersTopic only: it writes there and is
// denied the load topic; removing it again (usersRemoved) locks it out.
func (s *suite) usersAdded(t *testing.T, ctx context.Context) {
	if err := createTopic(ctx, s.brokers, usersTopic, 1, 3); err != nil {
		t.Fatal(err)
	}
	orders := clientauth.Auth{CACert: s.auth.CACert, Username: "orders", Password: s.userPasswords["orders"]}
	if orders.Password == "" {
		t.Fatalf("no generated password for orders in the %s output", stack.OutputUserPasswords)
	}
	// Retried: right after a roll a follower may still be catching up, and an acks=all write to the
	// new topic can time out on the broker (REQUEST_TIMED_OUT, seen once after the matrix's third
	// roll); a refusal would not go away.
	if err := eventually(ctx, time.Minute, 2*time.Second, "orders writes "+usersTopic, func(ctx context.Context) error {
		return produceAs(ctx, s.brokers, orders, usersTopic)
	}); err != nil {
		t.Errorf("orders writing %s: %v", usersTopic, err)
	}
	err := produceAs(ctx, s.brokers, orders, loadTopic)
	if !errors.Is(err, kafka.TopicAuthorizationFailed) && (err == nil || !strings.Contains(err.Error(), "topic not found")) {
		t.Errorf("orders writing %s: err = %v, want it denied", loadTopic, err)
	} else {
		t.Logf("orders writing %s: denied (%v)", loadTopic, err)
	}
	s.ordersPassword = orders.Password
}

func (s *suite) usersRemoved(t *testing.T, ctx context.Context) {
	orders := clientauth.Auth{CACert: s.auth.CACert, Username: "orders", Password: s.ordersPassword}
	if err := s.metadataAs(ctx, orders, nil); err == nil || !strings.Contains(err.Error(), "SASL Authentication failed") {
		t.Errorf("a removed user: err = %v, want an authentication failure", err)
	}
	if err := s.metadataAs(ctx, s.auth, nil); err != nil {
		t.Errorf("the admin after the users changed: %v", err)
	}
}

// produceAs writes one record with acks=all to partition 0 of topic as a's user.
func produceAs(ctx context.Context, brokers []string, a clientauth.Auth, topic string) error {
	tr, err := a.Transport(5 * time.Second)
	if err != nil {
		return err
	}
	defer tr.CloseIdleConnections()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := (&kafka.Client{Addr: kafka.TCP(brokers...), Transport: tr}).Produce(cctx, &kafka.ProduceRequest{Topic: topic, Partition: 0,
		RequiredAcks: kafka.RequireAll, Records: kafka.NewRecordReader(kafka.Record{Value: kafka.NewBytes([]byte("x"))})})
	if err != nil {
		return err
	}
	return resp.Error
}
