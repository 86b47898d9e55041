package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafka-kraft/kafka-kraft/internal/kfaketest"
	"github.com/kafka-kraft/kafka-kraft/internal/pki"
)

// The requests decode with franz-go's kmsg as what was meant.
func TestUsersRequestsDecodeWithKmsg(t *testing.T) {
	t.Parallel()
	b := Binding{2, "orders", 4, "User:app", "*", 3, 3}
	create := kmsg.NewCreateACLsRequest()
	create.Version = aclsVersion
	if err := create.ReadFrom(encodeBindingsRequest([]Binding{b})); err != nil {
		t.Fatal(err)
	}
	c := create.Creations[0]
	if len(create.Creations) != 1 || c.ResourceType != 2 || c.ResourceName != "orders" || c.ResourcePatternType != 4 ||
		c.Principal != "User:app" || c.Host != "*" || c.Operation != 3 || c.PermissionType != 3 {
		t.Errorf("create ACLs decodes as %+v", create.Creations)
	}
	alter := kmsg.NewAlterUserSCRAMCredentialsRequest()
	if err := alter.ReadFrom(encodeAlterScramRequest([]scramUpsert{{Name: "app", Salt: []byte("salt"), Salted: []byte("salted")}}, []string{"old"})); err != nil {
		t.Fatal(err)
	}
	if len(alter.Deletions) != 1 || alter.Deletions[0].Name != "old" || alter.Deletions[0].Mechanism != 2 ||
		len(alter.Upsertions) != 1 || alter.Upsertions[0].Name != "app" || alter.Upsertions[0].Iterations != 4096 ||
		string(alter.Upsertions[0].Salt) != "salt" || string(alter.Upsertions[0].SaltedPassword) != "salted" {
		t.Errorf("alter SCRAM decodes as %+v", alter)
	}
	del := kmsg.NewDeleteACLsRequest()
	del.Version = aclsVersion
	if err := del.ReadFrom(encodeBindingsRequest([]Binding{b})); err != nil {
		t.Fatal(err)
	}
	if f := del.Filters[0]; len(del.Filters) != 1 || f.ResourceType != 2 || f.ResourceName == nil || *f.ResourceName != "orders" || f.ResourcePatternType != 4 ||
		f.Principal == nil || *f.Principal != "User:app" || f.Host == nil || *f.Host != "*" || f.Operation != 3 || f.PermissionType != 3 {
		t.Errorf("delete ACLs decodes as %+v", del.Filters)
	}
	describe := kmsg.NewDescribeACLsRequest()
	describe.Version = aclsVersion
	if err := describe.ReadFrom(encodeDescribeAclsRequest()); err != nil {
		t.Fatal(err)
	}
	if describe.ResourceType != 1 || describe.ResourceName != nil || describe.ResourcePatternType != 1 || describe.Principal != nil || describe.Operation != 1 {
		t.Errorf("describe ACLs decodes as %+v", describe)
	}
}

// Two runs against kfake: the first creates the users and their ACLs, the second (one user
// removed, one added, an ACL changed) leaves exactly the new set; an ACL of a principal that is no
// SCRAM user of ours is left alone.
func TestSyncUsersAgainstKfake(t *testing.T) {
	t.Parallel()
	fake := kfaketest.WithTopic(t, "orders", 1, 1)
	cl, err := kgo.NewClient(kgo.SeedBrokers(fake.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Someone else's ACL, for a certificate principal.
	other := kmsg.NewPtrCreateACLsRequest()
	oc := kmsg.NewCreateACLsRequestCreation()
	oc.ResourceType, oc.ResourceName, oc.ResourcePatternType = 2, "audit", 3
	oc.Principal, oc.Host, oc.Operation, oc.PermissionType = "User:CN=auditor", "*", 3, 3
	other.Creations = append(other.Creations, oc)
	if _, err := other.RequestWith(ctx, cl); err != nil {
		t.Fatal(err)
	}

	run := func(users map[string]UserSpec) string {
		var out bytes.Buffer
		c := &clusterRun{addrs: fake.ListenAddrs(), brokers: 3, request: 5 * time.Second, deadline: time.Now().Add(20 * time.Second), out: &out, name: "cluster", start: time.Now()}
		if err := c.syncUsers(users); err != nil {
			t.Fatalf("syncUsers: %v\n%s", err, out.String())
		}
		return out.String()
	}
	state := func() (users []string, acls []string) {
		d := kmsg.NewPtrDescribeUserSCRAMCredentialsRequest()
		resp, err := d.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range resp.Results {
			users = append(users, r.User)
		}
		slices.Sort(users)
		da := kmsg.NewPtrDescribeACLsRequest()
		da.ResourceType, da.ResourcePatternType, da.Operation, da.PermissionType = 1, 1, 1, 1
		aresp, err := da.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range aresp.Resources {
			for _, a := range r.ACLs {
				acls = append(acls, fmt.Sprintf("%s %d %s/%d %d", a.Principal, r.ResourceType, r.ResourceName, r.ResourcePatternType, a.Operation))
			}
		}
		slices.Sort(acls)
		return users, acls
	}

	log := run(map[string]UserSpec{
		"admin":  {Password: "admin-password-1"},
		"orders": {Password: "orders-password", ACLs: []ACLSpec{{Resource: "topic", Name: "orders", Operations: []string{"read", "write"}}, {Resource: "group", Name: "orders-", Pattern: "prefixed", Operations: []string{"read"}}}},
	})
	users, acls := state()
	if !slices.Equal(users, []string{"admin", "orders"}) {
		t.Errorf("users after the first run = %v", users)
	}
	want := []string{"User:CN=auditor 2 audit/3 3", "User:orders 2 orders/3 3", "User:orders 2 orders/3 4", "User:orders 3 orders-/4 3"}
	if !slices.Equal(acls, want) {
		t.Errorf("ACLs after the first run =\n%s\nwant\n%s", strings.Join(acls, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(log, "read back: as wanted") {
		t.Errorf("log:\n%s", log)
	}

	run(map[string]UserSpec{
		"admin": {Password: "admin-password-1"},
		"audit": {Password: "audit-password", ACLs: []ACLSpec{{Resource: "topic", Name: "*", Operations: []string{"describe"}}}},
	})
	users, acls = state()
	if !slices.Equal(users, []string{"admin", "audit"}) {
		t.Errorf("users after the second run = %v, want orders deleted", users)
	}
	want = []string{"User:CN=auditor 2 audit/3 3", "User:audit 2 */3 8"}
	if !slices.Equal(acls, want) {
		t.Errorf("ACLs after the second run =\n%s\nwant\n%s (orders' gone, the auditor's kept)", strings.Join(acls, "\n"), strings.Join(want, "\n"))
	}
}

// `kafka-ready cert` issues a certificate from the stack's CA (made by internal/pki) that a client
// trusting the CA accepts for the pod's name, the external host and 127.0.0.1, with the subject the
// super user principal is derived from.
func TestCertCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	caCert, caKey, err := pki.NewCA("kafka-kraft test", time.Now(), 24*time.Hour, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"ca.crt": caCert, "ca.key": caKey} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "tls", "node.pem")
	var stdout, stderr bytes.Buffer
	code := run([]string{"cert", "-ca-dir", dir, "-pod", "kafka-2", "-days", "365", "-out", out,
		"-names", "@POD@.kafka-svc.ns.svc.cluster.local,localhost,127.0.0.1,kafka.example.com"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, stdout.String(), stderr.String())
	}
	ks, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(out); st.Mode().Perm() != 0o600 {
		t.Errorf("keystore mode %v, want 0600", st.Mode().Perm())
	}
	var blocks []string
	var leaf *x509.Certificate
	for rest := ks; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		blocks = append(blocks, b.Type)
		if b.Type == "CERTIFICATE" && leaf == nil {
			leaf, _ = x509.ParseCertificate(b.Bytes)
		}
	}
	if !slices.Equal(blocks, []string{"PRIVATE KEY", "CERTIFICATE", "CERTIFICATE"}) {
		t.Errorf("keystore blocks = %v, want key, certificate, CA (Kafka's PEM keystore)", blocks)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(caCert))
	for _, name := range []string{"kafka-2.kafka-svc.ns.svc.cluster.local", "kafka.example.com", "127.0.0.1", "localhost"} {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("verify for %s: %v", name, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "kafka-3.kafka-svc.ns.svc.cluster.local", Roots: pool}); err == nil {
		t.Error("the certificate of kafka-2 is valid for kafka-3")
	}
	if leaf.Subject.String() != "CN=kafka-node" {
		t.Errorf("subject %q, want CN=kafka-node (the super user principal User:CN=kafka-node)", leaf.Subject)
	}
	if !leaf.NotAfter.Equal(leaf.NotAfter) || leaf.NotAfter.After(time.Now().Add(25*time.Hour)) {
		t.Errorf("NotAfter %v: must be capped at the CA's", leaf.NotAfter)
	}
	// The probe finds the keystore and truststore from the node's properties.
	cfg, err := probeTLS(map[string]string{
		"inter.broker.listener.name": "INTERNAL", "listener.security.protocol.map": "CONTROLLER:SSL,INTERNAL:SSL",
		"ssl.keystore.location": out, "ssl.truststore.location": filepath.Join(dir, "ca.crt"),
	})
	if err != nil || cfg == nil || len(cfg.Certificates) != 1 {
		t.Errorf("probeTLS = %v, %v", cfg, err)
	}
	if cfg, err := probeTLS(map[string]string{"inter.broker.listener.name": "INTERNAL", "listener.security.protocol.map": "INTERNAL:PLAINTEXT"}); cfg != nil || err != nil {
		t.Errorf("a PLAINTEXT inter-broker listener: probeTLS = %v, %v, want plain", cfg, err)
	}
}
