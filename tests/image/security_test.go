//go:build image

package image_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/kafka-kraft/kafka-kraft/internal/clientauth"
	"github.com/kafka-kraft/kafka-kraft/internal/kraft"
	"github.com/kafka-kraft/kafka-kraft/internal/smoke"
)

// securityBase keeps this cluster's published ports apart from the other tests'.
const securityBase = externalBase + 40

// authClient is a kafka-go client for addrs with a's credentials.
func authClient(t testing.TB, addrs []string, a clientauth.Auth) (*kafka.Client, func()) {
	t.Helper()
	tr, err := a.Transport(3 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	tr.MetadataTTL = time.Second
	return &kafka.Client{Addr: kafka.TCP(addrs...), Timeout: 10 * time.Second, Transport: tr}, tr.CloseIdleConnections
}

// produceAs writes one record with acks=all as a's user and returns the error of its partition.
func produceAs(ctx context.Context, t testing.TB, addrs []string, a clientauth.Auth, topic string) error {
	cl, release := authClient(t, addrs, a)
	defer release()
	resp, err := cl.Produce(ctx, &kafka.ProduceRequest{Topic: topic, Partition: 0, RequiredAcks: kafka.RequireAll,
		Records: kafka.NewRecordReader(kafka.Record{Value: kafka.NewBytes([]byte("x"))})})
	if err != nil {
		return err
	}
	return resp.Error
}

// waitReady waits until the readiness probe (kafka-ready in the container) passes on every node.
func (c *cluster) waitReady(tb testing.TB, ordinals ...int) {
	tb.Helper()
	for _, i := range ordinals {
		eventually(tb, quorumTimeout, fmt.Sprintf("kafka-%d ready (its readiness probe)", i), func(context.Context) error {
			if ok, why := c.readiness(i); !ok {
				return errors.New(why)
			}
			return nil
		})
	}
}

// TestSecurity runs three nodes with security "tls" (the program's default) as the StatefulSet
// runs them: each node issues itself a certificate from the stack's CA at start, the nodes talk
// mutual TLS, clients SCRAM-SHA-512 over TLS, and the cluster Job's command (run as the Job runs
// it) creates the users and ACLs. It shows what the issue asks of a real Kafka: the readiness
// probe works over mutual TLS; the smoke test passes as admin; a client without TLS, without the
// CA or with a wrong password is refused on EXTERNAL; a user is denied a topic its ACLs do not
// name and allowed the one they do; a user removed from the config can no longer log in; and
// kcat inside the network works on CLIENT with SCRAM while INTERNAL refuses a client without a
// node certificate.
func TestSecurity(t *testing.T) {
	imgs := testImages(t)
	cfg := testConfig(3, securityBase)
	cfg.Security = kraft.Security{Mode: kraft.SecurityTLS, Users: map[string]kraft.User{
		"orders": {Password: "orders-password-1", ACLs: []kraft.ACL{{Resource: "topic", Name: "orders", Pattern: "literal", Operations: []string{"write", "describe"}}}},
		"reader": {ACLs: []kraft.ACL{
			{Resource: "topic", Name: "orders", Pattern: "literal", Operations: []string{"read", "describe"}},
			{Resource: "group", Name: "reader-", Pattern: "prefixed", Operations: []string{"read"}},
		}},
	}}
	c := newCluster(t, imgs.kafka, cfg)
	addrs := c.externalAddrs()
	admin := c.externalAuth()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	t.Run("nodes form the quorum over mutual TLS and the probe passes", func(t *testing.T) {
		start := time.Now()
		c.start(0, 1, 2)
		c.waitReady(t, 0, 1, 2)
		t.Logf("TIMING 3 nodes with TLS: container start -> every probe ready %s", time.Since(start).Round(100*time.Millisecond))
		if logs := c.logs(c.container(0)); !strings.Contains(logs, "issued the node certificate") {
			t.Errorf("kafka-0 did not log its certificate:\n%s", logs)
		}
	})

	t.Run("the cluster Job creates the users and ACLs", func(t *testing.T) {
		out, err := c.runClusterJob()
		if err != nil || !strings.Contains(out, "read back: as wanted") {
			t.Fatalf("cluster job: %v\n%s", err, out)
		}
		for _, secret := range []string{c.state.AdminPassword, "orders-password-1", c.state.Passwords["reader"]} {
			if strings.Contains(out, secret) {
				t.Errorf("the Job's output holds a password")
			}
		}
		t.Logf("cluster job:\n%s", out)
	})

	t.Run("smoke passes over TLS and SCRAM as admin", func(t *testing.T) {
		res, err := smoke.Run(ctx, smoke.Config{Brokers: addrs, Auth: admin, ExpectedBrokers: 3, Messages: 3000, Topic: "orders", Partitions: 3, ReplicationFactor: 3, Timeout: 2 * time.Minute})
		if err != nil {
			t.Fatalf("smoke as admin: %v", err)
		}
		t.Logf("smoke over SASL_SSL: %d messages, produce %.0f msg/s", res.Messages, res.ProduceMsgsPerSec)
	})

	t.Run("EXTERNAL refuses a client without TLS, without the CA or with a wrong password", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			auth clientauth.Auth
			want string
		}{
			{"no TLS", clientauth.Auth{}, ""},
			{"wrong password", clientauth.Auth{CACert: admin.CACert, Username: kraft.AdminUser, Password: "not-the-password"}, "SASL"},
		} {
			cctx, ccancel := context.WithTimeout(ctx, 15*time.Second)
			cl, release := authClient(t, addrs[:1], tt.auth)
			_, err := cl.Metadata(cctx, &kafka.MetadataRequest{})
			release()
			ccancel()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s: metadata err = %v, want a refusal mentioning %q", tt.name, err, tt.want)
			} else {
				t.Logf("%s: refused: %v", tt.name, err)
			}
		}
		// The system's roots, not the cluster CA: the broker's certificate does not verify.
		tr := &kafka.Transport{DialTimeout: 3 * time.Second, TLS: &tls.Config{MinVersion: tls.VersionTLS12}}
		m, _ := admin.Mechanism()
		tr.SASL = m
		cctx, ccancel := context.WithTimeout(ctx, 15*time.Second)
		_, err := (&kafka.Client{Addr: kafka.TCP(addrs[0]), Transport: tr}).Metadata(cctx, &kafka.MetadataRequest{})
		ccancel()
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("without the CA: err = %v, want a certificate error", err)
		}
	})

	t.Run("ACLs: a user writes where allowed and is denied elsewhere", func(t *testing.T) {
		orders := clientauth.Auth{CACert: admin.CACert, Username: "orders", Password: "orders-password-1"}
		cl, release := authClient(t, addrs, admin)
		_, err := cl.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{Topic: "payments", NumPartitions: 1, ReplicationFactor: 3}}})
		release()
		if err != nil {
			t.Fatal(err)
		}
		if err := produceAs(ctx, t, addrs, orders, "orders"); err != nil {
			t.Errorf("orders writing orders: %v", err)
		}
		// Kafka hides a topic from a user who may not describe it: kafka-go then reports it as
		// not found; with describe but no write it answers TOPIC_AUTHORIZATION_FAILED.
		err = produceAs(ctx, t, addrs, orders, "payments")
		if !errors.Is(err, kafka.TopicAuthorizationFailed) && (err == nil || !strings.Contains(err.Error(), "topic not found")) {
			t.Errorf("orders writing payments: err = %v, want it denied", err)
		} else {
			t.Logf("orders writing payments: denied: %v", err)
		}
		reader := clientauth.Auth{CACert: admin.CACert, Username: "reader", Password: c.state.Passwords["reader"]}
		if err := produceAs(ctx, t, addrs, reader, "orders"); !errors.Is(err, kafka.TopicAuthorizationFailed) {
			t.Errorf("reader writing orders: err = %v, want TOPIC_AUTHORIZATION_FAILED", err)
		}
		rcl, rrelease := authClient(t, addrs, reader)
		defer rrelease()
		fetch, err := rcl.Fetch(ctx, &kafka.FetchRequest{Topic: "orders", Partition: 0, Offset: 0, MaxBytes: 1 << 20})
		if err != nil || fetch.Error != nil {
			t.Errorf("reader reading orders: %v, %v", err, fetch.Error)
		}
	})

	t.Run("kcat inside: CLIENT with SCRAM works, INTERNAL refuses a client without a node certificate", func(t *testing.T) {
		host := kraft.PodHost(0, c.cfg.Namespace, c.cfg.ClusterDomain)
		base := []string{"run", "--rm", "--label", c.label, "--network", c.network, "-v", c.tlsDir + ":/ca:ro", imgs.kcat, "kcat",
			"-X", "ssl.ca.location=/ca/" + kraft.TLSCACertFile}
		kctx, kcancel := context.WithTimeout(ctx, time.Minute)
		defer kcancel()
		out, err := docker(kctx, append(base, "-b", fmt.Sprintf("%s:%d", host, kraft.ClientPort), "-X", "security.protocol=SASL_SSL",
			"-X", "sasl.mechanisms=SCRAM-SHA-512", "-X", "sasl.username=admin", "-X", "sasl.password="+c.state.AdminPassword, "-L", "-m", "10")...)
		if err != nil || !strings.Contains(out, "3 brokers") || !strings.Contains(out, `topic "orders"`) {
			t.Errorf("kcat on CLIENT as admin: %v\n%s", err, out)
		}
		out, err = docker(kctx, append(base, "-b", fmt.Sprintf("%s:%d", host, kraft.InternalPort), "-X", "security.protocol=SSL", "-L", "-m", "10")...)
		if err == nil {
			t.Errorf("kcat on INTERNAL without a client certificate got metadata:\n%s", out)
		}
	})
	t.Run("a user removed from the config can no longer log in", func(t *testing.T) {
		reader := clientauth.Auth{CACert: admin.CACert, Username: "reader", Password: c.state.Passwords["reader"]}
		sec := cfg.Security
		sec.Users = map[string]kraft.User{"orders": sec.Users["orders"]}
		c.setUsers(sec)
		out, err := c.runClusterJob()
		if err != nil || !strings.Contains(out, "deleted [reader]") {
			t.Fatalf("cluster job: %v\n%s", err, out)
		}
		cl, release := authClient(t, addrs[:1], reader)
		defer release()
		cctx, ccancel := context.WithTimeout(ctx, 15*time.Second)
		defer ccancel()
		if _, err := cl.Metadata(cctx, &kafka.MetadataRequest{}); err == nil || !strings.Contains(err.Error(), "SASL") {
			t.Errorf("removed user: err = %v, want an authentication failure", err)
		}
		// The users kept, admin included, still log in.
		acl, arelease := authClient(t, addrs[:1], admin)
		defer arelease()
		if _, err := acl.Metadata(cctx, &kafka.MetadataRequest{}); err != nil {
			t.Errorf("admin after the users changed: %v", err)
		}
	})

}
