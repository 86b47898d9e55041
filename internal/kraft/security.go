package kraft

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Security settings. With SecurityTLS (the default) every listener is TLS:
//   - EXTERNAL (NodePorts) and CLIENT (in-cluster clients, ClientPort) are SASL_SSL with
//     SCRAM-SHA-512: a client needs the cluster CA and a user's password;
//   - INTERNAL (replication) and CONTROLLER (the quorum) are SSL with mutual TLS: only holders of a
//     certificate from the cluster CA (the nodes and the cluster-settings Job) connect, as the
//     super user NodePrincipal;
//   - the StandardAuthorizer enforces ACLs: AdminUser and NodePrincipal are super users, every other
//     user gets exactly the ACLs of its Users entry, and nobody else gets anything.
//
// SecurityNone keeps every listener PLAINTEXT without authentication, as kafka-kraft did before
// security existed: for throwaway clusters, or a stack deployed without it (see transition.go).
const (
	SecurityTLS  = "tls"
	SecurityNone = "none"

	// ClientPort serves in-cluster clients (listener CLIENT) when security is on; INTERNAL is then
	// for the nodes alone.
	ClientPort = 9095
	// AdminUser is the SCRAM super user the program creates; its password is a secret stack output.
	AdminUser = "admin"
	// NodeCertCN is the subject CN of every certificate the nodes and the cluster Job issue
	// themselves from the cluster CA; NodePrincipal is the principal Kafka derives from it on the
	// mutual-TLS listeners (the default principal builder keeps the whole subject).
	NodeCertCN    = "kafka-node"
	NodePrincipal = "User:CN=" + NodeCertCN
	// ScramMechanism is the only SASL mechanism the listeners enable.
	ScramMechanism = "SCRAM-SHA-512"
	// TLSMountPath is where the CA Secret (TLSCACertFile, TLSCAKeyFile) is mounted; the entrypoint
	// issues the node's certificate from it at every start into TLSRuntimeDir.
	TLSMountPath  = "/etc/kafka-kraft-tls"
	TLSCACertFile = "ca.crt"
	TLSCAKeyFile  = "ca.key"
	// TLSRuntimeDir holds the node's key and certificate (written at start, never on a volume).
	TLSRuntimeDir = "/tmp/kafka/tls"
	// TLSKeystoreFile is the PEM keystore (PKCS#8 key, then the certificate and the CA) the
	// entrypoint writes.
	TLSKeystoreFile = TLSRuntimeDir + "/node.pem"
	// SecretMountPath is where the Secret with the secret broker settings is mounted
	// (SecretPropertiesFile); the entrypoint appends it to server.properties and never prints it.
	SecretMountPath      = "/etc/kafka-kraft-secret"
	SecretPropertiesFile = "secret.properties"
	// AuthorizerClass is KRaft's ACL authorizer.
	AuthorizerClass = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
	// NodeCertDays is the lifetime of a node certificate (issued at every start); CACertYears that
	// of the cluster CA. TLSRotationDays: every up in a new window of that many days rolls the
	// nodes, so a cluster that gets an up at least that often never runs on an expired
	// certificate.
	NodeCertDays    = 365
	CACertYears     = 10
	TLSRotationDays = 180
)

// Security is the listener security of a stack.
type Security struct {
	// Mode is SecurityTLS (default) or SecurityNone.
	Mode string
	// Users are the SCRAM users besides AdminUser, by name. Default none.
	Users map[string]User
}

// Enabled reports whether the listeners use TLS and SCRAM.
func (s Security) Enabled() bool { return s.Mode == SecurityTLS }

// User is one SCRAM-SHA-512 user and what it may do.
type User struct {
	// Password; "" lets the program generate one (kept, secret, in the stack's state and given out
	// as the "userPasswords" secret output).
	Password string `json:"password,omitempty"`
	// ACLs allow operations; everything else is denied.
	ACLs []ACL `json:"acls,omitempty"`
}

// ACL allows the user Operations on the resources of type Resource whose name is Name (Pattern
// "literal", the default) or starts with Name (Pattern "prefixed"). Name "*" with Pattern literal
// is every resource of the type.
type ACL struct {
	Resource   string   `json:"resource"`
	Name       string   `json:"name"`
	Pattern    string   `json:"pattern,omitempty"`
	Operations []string `json:"operations"`
}

// ACL resource types and operations as Kafka names them (lower case here, as in kafka-acls).
var (
	ACLResources  = []string{"topic", "group", "cluster", "transactional-id"}
	ACLPatterns   = []string{"literal", "prefixed"}
	ACLOperations = []string{"all", "read", "write", "create", "delete", "alter", "describe",
		"cluster-action", "describe-configs", "alter-configs", "idempotent-write"}
	// ClusterResourceName is the only name of the cluster resource.
	ClusterResourceName = "kafka-cluster"
)

var (
	userName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	aclName  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,249}$|^\*$`)
	// secretKey: passwords, secrets, JAAS configs (credentials), inline PEM keys (ssl.keystore.key),
	// tokens and credentials by name.
	secretKey = regexp.MustCompile(`(?i)password|secret|jaas|credential|token|\.key$`)
)

// parseUsers reads the users object: {"name": {"password": "...", "acls": [...]}}.
func parseUsers(raw string) (map[string]User, error) {
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	var m map[string]User
	err := dec.Decode(&m)
	if err == nil {
		if _, tail := dec.Token(); tail != io.EOF {
			err = errors.New("unexpected data after the object")
		}
	}
	if err != nil {
		return nil, fmt.Errorf(`must be an object of users, e.g. {"orders": {"acls": [{"resource": "topic", "name": "orders", "operations": ["read", "write"]}]}}: %w`, err)
	}
	for name, u := range m {
		for i := range u.ACLs {
			if u.ACLs[i].Pattern == "" {
				u.ACLs[i].Pattern = "literal"
			}
		}
		m[name] = u
	}
	return m, nil
}

// validateSecurity appends the problems of the security settings; ref names a setting inside a
// message, program says whether the program (which generates missing passwords) is the caller.
func (c Config) validateSecurity(bad func(key string, value any, format string, args ...any), ref func(string) string, program bool) {
	s := c.Security
	if s.Mode != SecurityTLS && s.Mode != SecurityNone {
		bad(KeySecurity, s.Mode, "must be %q (TLS on every listener, SCRAM-SHA-512 users, ACLs) or %q (PLAINTEXT, no authentication: anyone who reaches a node port owns the cluster)", SecurityTLS, SecurityNone)
	}
	if len(s.Users) > 0 && s.Mode == SecurityNone {
		bad(KeyUsers, fmt.Sprintf("%d users", len(s.Users)), "needs %s %q: without authentication users and ACLs mean nothing", ref(KeySecurity), SecurityTLS)
	}
	for _, name := range sortedKeys(s.Users) {
		u := s.Users[name]
		key := KeyUsers + "." + name
		switch {
		case !userName.MatchString(name):
			bad(key, name, "a user name is 1 to 64 letters, digits, '.', '_' or '-'")
		case name == AdminUser || name == NodeCertCN:
			bad(key, name, "%q is reserved: %s is the program's super user, %s the nodes' certificate name", name, AdminUser, NodeCertCN)
		}
		if u.Password != "" && len(u.Password) < 12 {
			hint := ""
			if program {
				hint = " (or leave it out and the program generates one)"
			}
			bad(key+".password", hiddenValue, "must be at least 12 characters%s", hint)
		}
		for i, a := range u.ACLs {
			akey := fmt.Sprintf("%s.acls[%d]", key, i)
			if !slices.Contains(ACLResources, a.Resource) {
				bad(akey+".resource", a.Resource, "must be one of %s", strings.Join(ACLResources, ", "))
			}
			if !slices.Contains(ACLPatterns, a.Pattern) {
				bad(akey+".pattern", a.Pattern, "must be %q (the name exactly, or \"*\" for all) or %q (names starting with it)", "literal", "prefixed")
			}
			switch {
			case a.Resource == "cluster" && a.Name != ClusterResourceName:
				bad(akey+".name", a.Name, "the cluster resource is named %q", ClusterResourceName)
			case !aclName.MatchString(a.Name):
				bad(akey+".name", a.Name, "must be a topic, group or transactional id name (letters, digits, '.', '_', '-') or \"*\"")
			case a.Name == "*" && a.Pattern == "prefixed":
				bad(akey+".name", a.Name, "\"*\" already means every name; use pattern literal")
			}
			if len(a.Operations) == 0 {
				bad(akey+".operations", "[]", "must list at least one of %s", strings.Join(ACLOperations, ", "))
			}
			for _, op := range a.Operations {
				if !slices.Contains(ACLOperations, op) {
					bad(akey+".operations", op, "must be one of %s", strings.Join(ACLOperations, ", "))
				}
			}
		}
	}
}

// hiddenValue stands for a secret value in error messages.
type hidden struct{}

func (hidden) String() string { return "[hidden]" }

var hiddenValue = hidden{}

// SecretBrokerKey reports whether a brokerProperties key holds a secret by its name (a password, a
// secret, a JAAS config): such values go to a Kubernetes Secret, never to the ConfigMap.
func SecretBrokerKey(k string) bool { return secretKey.MatchString(k) }

// SplitBrokerProperties separates the secret brokerProperties (every one when allSecret, as when
// the whole object was set with `pulumi config set --secret`) from the plain ones.
func SplitBrokerProperties(props map[string]string, allSecret bool) (plain, secret map[string]string) {
	plain, secret = map[string]string{}, map[string]string{}
	for k, v := range props {
		if allSecret || SecretBrokerKey(k) {
			secret[k] = v
		} else {
			plain[k] = v
		}
	}
	return plain, secret
}

// SecurityProperties are the shared settings of the listener security.
func SecurityProperties(c Config) map[string]string {
	if !c.Security.Enabled() {
		return map[string]string{
			"listener.security.protocol.map": "CONTROLLER:PLAINTEXT,INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT",
		}
	}
	jaas := "org.apache.kafka.common.security.scram.ScramLoginModule required;"
	return map[string]string{
		"listener.security.protocol.map": "CONTROLLER:SSL,INTERNAL:SSL,CLIENT:SASL_SSL,EXTERNAL:SASL_SSL",
		"ssl.keystore.type":              "PEM",
		"ssl.keystore.location":          TLSKeystoreFile,
		"ssl.truststore.type":            "PEM",
		"ssl.truststore.location":        TLSMountPath + "/" + TLSCACertFile,
		// TLS 1.3 only: every client this project supports (Java 11+, librdkafka with OpenSSL 1.1.1+,
		// Go) speaks it.
		"ssl.enabled.protocols": "TLSv1.3",
		"ssl.protocol":          "TLSv1.3",
		// The node listeners admit only certificates from the cluster CA.
		"listener.name.internal.ssl.client.auth":                "required",
		"listener.name.controller.ssl.client.auth":              "required",
		"sasl.enabled.mechanisms":                               ScramMechanism,
		"listener.name.client.sasl.enabled.mechanisms":          ScramMechanism,
		"listener.name.external.sasl.enabled.mechanisms":        ScramMechanism,
		"listener.name.client.scram-sha-512.sasl.jaas.config":   jaas,
		"listener.name.external.scram-sha-512.sasl.jaas.config": jaas,
		"authorizer.class.name":                                 AuthorizerClass,
		"super.users":                                           NodePrincipal + ";User:" + AdminUser,
		"allow.everyone.if.no.acl.found":                        "false",
	}
}

// securityManagedKeys are managed only when security is on; with it off a user may still set them.
var securityManagedKeys = []string{
	"allow.everyone.if.no.acl.found", "authorizer.class.name", "sasl.enabled.mechanisms", "super.users",
	"ssl.client.auth", "ssl.enabled.protocols", "ssl.keystore.location", "ssl.keystore.type",
	"ssl.protocol", "ssl.truststore.location", "ssl.truststore.type",
	// These would change the nodes' principal away from NodePrincipal (its super user rights gone
	// at the next roll) or turn off the brokers' hostname checks.
	"ssl.principal.mapping.rules", "principal.builder.class", "ssl.endpoint.identification.algorithm",
}

// managedKey reports whether the program owns broker setting k under c (listener.name.* settings are
// the program's whenever security is on).
func (c Config) managedKey(k string) bool {
	if slices.Contains(ManagedKeys, k) || strings.HasPrefix(k, "controller.quorum.") {
		return true
	}
	return c.Security.Enabled() && (slices.Contains(securityManagedKeys, k) || listenerSecurityKey.MatchString(k))
}

// listenerSecurityKey matches the per-listener TLS and SASL settings (listener.name.external.ssl.*,
// listener.name.client.scram-sha-512.sasl.jaas.config, ...); other per-listener settings, such as
// listener.name.external.max.connections, stay the user's.
var listenerSecurityKey = regexp.MustCompile(`^listener\.name\.[^.]+\.(ssl|sasl|scram-sha-256|scram-sha-512|plain|oauthbearer|gssapi)\.`)

// managedKeysOf lists the managed keys under c, for error messages.
func (c Config) managedKeysOf() []string {
	keys := slices.Clone(ManagedKeys)
	if c.Security.Enabled() {
		keys = append(keys, securityManagedKeys...)
		keys = append(keys, "listener.name.<listener>.{ssl,sasl,<mechanism>}.*")
	}
	sort.Strings(keys)
	return keys
}

// UsersMountPath is where the cluster Job finds UsersFileName (the users Secret).
const (
	UsersMountPath = "/etc/kafka-kraft-users"
	UsersFileName  = "users.json"
)

// UsersFile renders the users Secret for the cluster Job (docker/kafka-ready/users.go): AdminUser
// with adminPassword and every user with its own password or, without one, its generated one.
func UsersFile(s Security, adminPassword string, generated map[string]string) string {
	type entry struct {
		Password string `json:"password"`
		ACLs     []ACL  `json:"acls,omitempty"`
	}
	out := map[string]entry{AdminUser: {Password: adminPassword}}
	for name, u := range s.Users {
		p := u.Password
		if p == "" {
			p = generated[name]
		}
		out[name] = entry{Password: p, ACLs: u.ACLs}
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		panic(err) // strings, slices and maps of them only
	}
	return string(b) + "\n"
}

// TLSNames are the names a node certificate covers, with PodPlaceholder where the pod's name goes
// (the entrypoint fills it in): the pod's own DNS names, the bootstrap Service, localhost (for
// the probe and in-pod tools) and ExternalHost (an IP or a DNS name, as clients dial it).
const PodPlaceholder = "@POD@"

// TLSNames returns the DNS names and IP addresses of a node certificate.
func TLSNames(c Config) []string {
	svc := HeadlessServiceName + "." + c.Namespace + ".svc"
	// The short forms too: clients in the namespace (kcat's `-b kafka-svc:9095`) dial them.
	names := []string{
		PodPlaceholder + "." + svc + "." + c.ClusterDomain,
		PodPlaceholder + "." + svc,
		PodPlaceholder + "." + HeadlessServiceName,
		svc + "." + c.ClusterDomain,
		svc,
		HeadlessServiceName,
		"localhost",
		"127.0.0.1",
		c.ExternalHost,
	}
	var out []string
	for _, n := range names {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// TLSEpoch is the rotation window of a time given as days since the Unix epoch: it changes every
// TLSRotationDays days. It is put on the pod template, so the first up of a new window rolls the
// nodes safely and each issues itself a fresh certificate.
func TLSEpoch(unixDays int64) int64 { return unixDays / TLSRotationDays }
