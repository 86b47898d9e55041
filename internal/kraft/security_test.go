package kraft

import (
	"slices"
	"strings"
	"testing"
)

// A secret brokerProperties value reaches only SecretProperties: never a ConfigMap file, whether it
// is secret by its name or because the whole object was set with --secret.
func TestSecretBrokerPropertiesStayOutOfTheConfigMap(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		props     map[string]string
		allSecret bool
		secret    []string
	}{
		{name: "by name", props: map[string]string{"ssl.key.password": "p4ss-one", "sasl.jaas.config": "p4ss-two", "log.retention.hours": "24"}, secret: []string{"p4ss-one", "p4ss-two"}},
		{name: "whole object set with --secret", props: map[string]string{"log.retention.hours": "24", "num.partitions": "7"}, allSecret: true, secret: []string{"log.retention.hours=24", "num.partitions=7"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := testConfig(withReplicas(5, 3))
			c.Security.Mode = SecurityNone // the TLS keys above are the user's then
			c.BrokerProperties, c.SecretBrokerProperties = tt.props, tt.allSecret
			r := Render(c)
			for _, s := range tt.secret {
				for name, f := range r.Files {
					if strings.Contains(f, s) {
						t.Errorf("ConfigMap file %s holds the secret %q", name, s)
					}
				}
				if !strings.Contains(r.SecretProperties, s) {
					t.Errorf("SecretProperties lacks %q:\n%s", s, r.SecretProperties)
				}
			}
		})
	}
}

func TestParseUsers(t *testing.T) {
	t.Parallel()
	c, err := FromSettings("p", "dev", lookup(map[string]string{
		KeyUsers: `{"orders": {"acls": [{"resource": "topic", "name": "orders", "operations": ["read", "write"]}]}, "audit": {"password": "twelve-chars-at-least"}}`,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got := sortedKeys(c.Security.Users); !slices.Equal(got, []string{"audit", "orders"}) {
		t.Fatalf("users = %v", got)
	}
	if a := c.Security.Users["orders"].ACLs[0]; a.Pattern != "literal" || a.Resource != "topic" || !slices.Equal(a.Operations, []string{"read", "write"}) {
		t.Errorf("orders ACL = %+v, want literal topic read,write", a)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	_, err = FromSettings("p", "dev", lookup(map[string]string{KeyUsers: `{"orders": {"acl": []}}`}))
	if err == nil || !strings.Contains(err.Error(), `config "users"`) || !strings.Contains(err.Error(), `unknown field "acl"`) {
		t.Errorf("a misspelt field: err = %v, want it to name users and the field", err)
	}
}

func TestTLSNames(t *testing.T) {
	t.Parallel()
	c := testConfig(func(c *Config) {
		c.Namespace, c.ClusterDomain, c.ExternalHost = "streaming", "k8s.example", "kafka.example.com"
	})
	want := []string{"@POD@.kafka-svc.streaming.svc.k8s.example", "@POD@.kafka-svc.streaming.svc", "@POD@.kafka-svc", "kafka-svc.streaming.svc.k8s.example",
		"kafka-svc.streaming.svc", "kafka-svc", "localhost", "127.0.0.1", "kafka.example.com"}
	if got := TLSNames(c); !slices.Equal(got, want) {
		t.Errorf("TLSNames = %v, want %v", got, want)
	}
	if got := TLSNames(testConfig(nil)); slices.Index(got, "127.0.0.1") != len(got)-1 {
		t.Errorf("external host 127.0.0.1 listed twice: %v", got)
	}
}

// A refused brokerProperties value never appears in the error when it is a secret, when the object
// was set with --secret, or when Kafka does not know the key (a misspelt password key).
func TestValidationHidesSecretValues(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		key       string
		allSecret bool
	}{
		{"a managed JAAS config", "listener.name.client.scram-sha-512.sasl.jaas.config", false},
		{"a misspelt password key", "ssl.keystore.pasword", false},
		{"a multi-line value set with --secret", "log.retention.hours", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := testConfig(nil)
			c.BrokerProperties = map[string]string{tt.key: "hunter2-\nsecret"}
			c.SecretBrokerProperties = tt.allSecret
			err := c.Validate()
			if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "[hidden]") || !strings.Contains(err.Error(), tt.key) {
				t.Errorf("err = %v, want the key named and the value hidden", err)
			}
		})
	}
}

// With security on, the settings that would take the nodes' super user principal away or turn
// off hostname checks are the program's.
func TestSecurityManagedKeys(t *testing.T) {
	t.Parallel()
	for _, k := range []string{"ssl.principal.mapping.rules", "principal.builder.class", "ssl.endpoint.identification.algorithm", "super.users"} {
		c := testConfig(nil)
		c.BrokerProperties = map[string]string{k: "x"}
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "is managed by kafka-kraft") {
			t.Errorf("%s: err = %v, want it refused as managed", k, err)
		}
		c.Security.Mode = SecurityNone
		if err := c.Validate(); err != nil && strings.Contains(err.Error(), "is managed") {
			t.Errorf("%s with security none: %v, want it the user's", k, err)
		}
	}
	if !SecretBrokerKey("ssl.keystore.key") {
		t.Error("ssl.keystore.key (an inline private key) is not kept secret")
	}
}
