package kraftcluster

import (
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kafka-kraft/kafka-kraft/internal/kraft"
	"github.com/kafka-kraft/kafka-kraft/internal/pki"
)

// Defaults of Args: the same as the kafka-kraft program's (README, Configuration).
const (
	DefaultNamespace            = kraft.DefaultNamespace
	DefaultKafkaVersion         = kraft.DefaultKafkaVersion
	DefaultReplicas             = kraft.DefaultReplicas
	DefaultClusterDomain        = kraft.DefaultClusterDomain
	DefaultExternalHost         = kraft.DefaultExternalHost
	DefaultExternalNodePortBase = kraft.DefaultExternalNodePortBase
	DefaultStorageSize          = kraft.DefaultStorageSize
	DefaultStorageHostPath      = kraft.DefaultStorageHostPath
	DefaultCPURequest           = kraft.DefaultCPURequest
	DefaultCPULimit             = kraft.DefaultCPULimit
	DefaultMemoryRequest        = kraft.DefaultMemoryRequest
	DefaultMemoryLimit          = kraft.DefaultMemoryLimit
	DefaultHeapOpts             = kraft.DefaultHeapOpts
	DefaultSpread               = kraft.DefaultSpread
	DefaultReassignmentThrottle = kraft.DefaultReassignmentThrottle
	DefaultSecurity             = kraft.DefaultSecurity
	DefaultMonitoring           = kraft.DefaultMonitoring

	// Values of Args.Spread, Args.Security.Mode and Args.Monitoring.
	SpreadSoft         = kraft.SpreadSoft
	SpreadHard         = kraft.SpreadHard
	SecurityTLS        = kraft.SecurityTLS
	SecurityNone       = kraft.SecurityNone
	MonitoringMetrics  = kraft.MonitoringMetrics
	MonitoringOperator = kraft.MonitoringOperator
	MonitoringNone     = kraft.MonitoringNone

	// AdminUser is the SCRAM super user whose password is Credentials.AdminPassword.
	AdminUser = kraft.AdminUser
)

// Args configures a KraftCluster. Image is required, and with the default Security.Mode (TLS)
// Security.Credentials; a zero field takes the default its comment names. New refuses invalid
// Args before it registers anything (see Validate).
//
// The component renders the cluster it is given. It does not know what runs now: the kafka-kraft
// program refuses unsafe changes against its record of the running cluster (a new ClusterID,
// fewer controllers, a smaller volume...) and moves the replicas off brokers before a scale-down;
// a program that composes KraftCluster itself changes Replicas down, or any setting fixed once
// deployed (README, "Safe changes"), at its own risk.
type Args struct {
	// Image is the Kafka image, built from this repository's docker/ folder (its entrypoint, the
	// readiness check and the certificate issuer are part of the contract), preferably pinned by
	// digest. Required: the KafkaImage component's Ref, or an image pushed before.
	Image pulumi.StringInput
	// KafkaVersion is the Kafka release Image runs: it decides which broker settings exist and the
	// feature levels the cluster settles on. Default DefaultKafkaVersion; one of the releases
	// kafka-kraft knows (4.3.1, 4.4.0).
	KafkaVersion string
	// ImagePullSecret names a Secret in Namespace the pods pull Image with. Default "": none.
	ImagePullSecret string

	// Namespace the cluster runs in. It is a plain string, not an input: it is part of every
	// node's DNS name, of the rendered configuration and of the certificates, which are decided
	// when the program runs. The namespace must exist; when the same program creates it, pass
	// pulumi.DependsOn with the Namespace resource to New (every child waits for the component,
	// which waits for its dependencies). Default DefaultNamespace; a DNS-1123 label.
	Namespace string
	// Instance is the app.kubernetes.io/instance label of every object and, with hostPath
	// storage, part of the PersistentVolumes' names and of their directories on the nodes
	// (Storage.HostPath/<Instance>/kafka-<ordinal>): unique in the Kubernetes cluster. Default
	// "<stack>-<component name>" (the kafka-kraft program passes the stack name).
	Instance string

	// Replicas is the number of Kafka nodes. Default DefaultReplicas; at least 1.
	Replicas int
	// Controllers is how many of the first nodes are KRaft voters (broker and controller); the rest
	// are brokers only. Default 3 with 3 or more replicas, else 1; odd, at most Replicas and 9.
	Controllers int
	// ClusterID is the Kafka cluster id (22 characters of URL-safe base64). Default: derived from
	// the project, Instance and Namespace, so it is the same on every run.
	ClusterID string
	// ClusterDomain is the cluster's DNS suffix. Default DefaultClusterDomain.
	ClusterDomain string
	// ExternalHost is the host name or IP clients outside the cluster reach the node ports on
	// (advertised on the EXTERNAL listener). Default DefaultExternalHost.
	ExternalHost string
	// ExternalNodePortBase is broker 0's NodePort; broker N uses base+N. Default
	// DefaultExternalNodePortBase; the whole range within 30000-32767.
	ExternalNodePortBase int

	// Storage of each node.
	Storage Storage
	// Resources of each Kafka container.
	Resources Resources
	// Spread is SpreadSoft (prefer one pod per node and zone) or SpreadHard (never two pods on one
	// node: a pod stays Pending instead). Default DefaultSpread.
	Spread string
	// ReassignmentThrottle bounds the bytes per second a broker spends copying replicas moved by a
	// reassignment (a Kubernetes quantity, at least 1Mi). Default DefaultReassignmentThrottle.
	ReassignmentThrottle string
	// BrokerProperties are extra server.properties entries: known Kafka broker settings of
	// KafkaVersion that kafka-kraft does not manage itself. Keys that name a password, secret,
	// JAAS config, credential, token or key (or every one, with SecretBrokerProperties) go to a
	// Secret, never to the ConfigMap. Default none.
	BrokerProperties map[string]string
	// SecretBrokerProperties treats every BrokerProperties value as a secret. Default false.
	SecretBrokerProperties bool

	// Security of the listeners and the users.
	Security Security
	// Monitoring is MonitoringMetrics (Prometheus metrics on every node, a headless Service and
	// scrape annotations), MonitoringOperator (also a ServiceMonitor, a PrometheusRule and a
	// Grafana dashboard ConfigMap; needs the Prometheus Operator's CRDs) or MonitoringNone.
	// Default DefaultMonitoring.
	Monitoring string

	// RotationDate is the date of this run: the first run in each new 180-day window rolls the
	// nodes onto fresh certificates (they are valid for a year), so a cluster updated at least
	// twice a year never runs on an expired one. Default: now (pin it in tests that compare
	// rendered resources, or they change every 180 days).
	RotationDate time.Time
	// VolumeGenerations counts, per ordinal, the scale-downs that removed that ordinal's broker:
	// a broker added again gets a new hostPath volume instead of the removed broker's data. The
	// kafka-kraft program keeps it in its stack outputs; leave it empty unless you shrink
	// Replicas yourself and then grow again. Default none.
	VolumeGenerations []int
}

// Storage of each node.
type Storage struct {
	// Size of each node's volume, a Kubernetes byte quantity. Default DefaultStorageSize.
	Size string
	// Class provisions the volumes from this StorageClass. Default "": a hostPath
	// PersistentVolume per node under HostPath/<Instance>/, pre-bound to that node's claim.
	Class string
	// HostPath is the root directory of hostPath volumes. Default DefaultStorageHostPath.
	HostPath string
}

// Resources of each Kafka container.
type Resources struct {
	// CPURequest and CPULimit are Kubernetes CPU quantities. Default DefaultCPURequest and
	// DefaultCPULimit.
	CPURequest, CPULimit string
	// MemoryRequest and MemoryLimit are byte quantities. Default DefaultMemoryRequest and
	// DefaultMemoryLimit.
	MemoryRequest, MemoryLimit string
	// HeapOpts is KAFKA_HEAP_OPTS, with -Xmx at least 256Mi below MemoryLimit. Default
	// DefaultHeapOpts.
	HeapOpts string
}

// Security of the listeners. With SecurityTLS (the default) clients use TLS and SCRAM-SHA-512 on
// the EXTERNAL (NodePorts) and CLIENT (in-cluster, BootstrapServers) listeners, the nodes mutual
// TLS between them, and ACLs decide what each user may do; SecurityNone leaves every listener
// PLAINTEXT without authentication.
type Security struct {
	// Mode is SecurityTLS or SecurityNone. Default DefaultSecurity. Fixed once deployed.
	Mode string
	// Credentials are the CA and the admin password: required with SecurityTLS (NewCredentials).
	Credentials Credentials
	// Users are SCRAM users besides AdminUser, by name, each with a password (at least 12
	// characters) and the ACLs it is allowed. A user no longer listed is deleted from the cluster
	// with its ACLs. Default none.
	Users map[string]User
}

// User is a SCRAM-SHA-512 user (its name is its key in Security.Users: 1 to 64 letters, digits,
// '.', '_' or '-'; not "admin" nor "kafka-node").
type User struct {
	// Password of the user, at least 12 characters. Required.
	Password string `json:"password"`
	// ACLs are what the user may do; everything else is denied. Default none.
	ACLs []ACL `json:"acls,omitempty"`
}

// ACL allows a user Operations on the resources of one type.
type ACL struct {
	// Resource is "topic", "group", "cluster" or "transactional-id".
	Resource string `json:"resource"`
	// Name of the resource: a topic, group or transactional id name, "*" (every one, with Pattern
	// "literal"), or "kafka-cluster" for Resource "cluster".
	Name string `json:"name"`
	// Pattern is "literal" (the name exactly; default) or "prefixed" (every name starting with Name).
	Pattern string `json:"pattern,omitempty"`
	// Operations allowed: "all", "read", "write", "create", "delete", "alter", "describe",
	// "cluster-action", "describe-configs", "alter-configs", "idempotent-write". At least one.
	Operations []string `json:"operations"`
}

// Credentials are a cluster's secret material. Make them once (NewCredentials) and keep them, in
// secret config (`pulumi config set --secret`, JSON as tagged) or a secret store, for every later
// run: a new CA rolls the nodes onto certificates the running ones do not trust, and a new admin
// password locks the clients out.
type Credentials struct {
	// CACert and CAKey are the cluster CA, PEM (certificate; PKCS#8 key). Every node issues its
	// own certificate from it at start; clients verify the brokers with CACert.
	CACert string `json:"caCert"`
	CAKey  string `json:"caKey"`
	// AdminPassword is AdminUser's SCRAM password (a super user).
	AdminPassword string `json:"adminPassword"`
	// NameKey keys the HMAC that names the Secrets made from secret material, so a name changes
	// with the content without letting anyone test guesses of it. Also used with SecurityNone when
	// BrokerProperties hold secrets.
	NameKey string `json:"nameKey"`
}

// NewCredentials makes a CA (ECDSA P-256, valid 10 years, named after name), an admin password
// and a name key, from crypto/rand.
func NewCredentials(name string) (Credentials, error) {
	st, err := pki.State{}.Complete(name, time.Now(), time.Duration(kraft.CACertYears)*365*24*time.Hour, nil, rand.Reader)
	if err != nil {
		return Credentials{}, err
	}
	return Credentials{CACert: st.CACert, CAKey: st.CAKey, AdminPassword: st.AdminPassword, NameKey: st.Salt}, nil
}

// withDefaults fills the empty fields; stack is the Pulumi stack's name, name the component's.
func (a Args) withDefaults(stack, name string) Args {
	or := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	or(&a.KafkaVersion, DefaultKafkaVersion)
	or(&a.Namespace, DefaultNamespace)
	or(&a.Instance, stack+"-"+name)
	if a.Replicas == 0 {
		a.Replicas = DefaultReplicas
	}
	if a.Controllers == 0 {
		a.Controllers = kraft.DefaultControllers(a.Replicas)
	}
	or(&a.ClusterDomain, DefaultClusterDomain)
	or(&a.ExternalHost, DefaultExternalHost)
	if a.ExternalNodePortBase == 0 {
		a.ExternalNodePortBase = DefaultExternalNodePortBase
	}
	or(&a.Storage.Size, DefaultStorageSize)
	or(&a.Storage.HostPath, DefaultStorageHostPath)
	or(&a.Resources.CPURequest, DefaultCPURequest)
	or(&a.Resources.CPULimit, DefaultCPULimit)
	or(&a.Resources.MemoryRequest, DefaultMemoryRequest)
	or(&a.Resources.MemoryLimit, DefaultMemoryLimit)
	or(&a.Resources.HeapOpts, DefaultHeapOpts)
	or(&a.Spread, DefaultSpread)
	or(&a.ReassignmentThrottle, DefaultReassignmentThrottle)
	or(&a.Security.Mode, DefaultSecurity)
	or(&a.Monitoring, DefaultMonitoring)
	if a.RotationDate.IsZero() {
		a.RotationDate = time.Now()
	}
	// A copy: the caller's map and slices are not written to.
	users := make(map[string]User, len(a.Security.Users))
	for n, u := range a.Security.Users {
		u.ACLs = slices.Clone(u.ACLs)
		for i := range u.ACLs {
			or(&u.ACLs[i].Pattern, "literal")
		}
		users[n] = u
	}
	a.Security.Users = users
	return a
}

// fieldNames maps the keys kraft.Config.ValidateCluster reports to Args fields.
var fieldNames = map[string]string{
	kraft.KeyInstance: "Instance", kraft.KeyNamespace: "Namespace", kraft.KeyKafkaVersion: "KafkaVersion",
	kraft.KeyReplicas: "Replicas", kraft.KeyControllers: "Controllers", kraft.KeyClusterID: "ClusterID",
	kraft.KeyClusterDomain: "ClusterDomain", kraft.KeyExternalHost: "ExternalHost", kraft.KeyExternalNodePortBase: "ExternalNodePortBase",
	kraft.KeyStorageSize: "Storage.Size", kraft.KeyStorageClass: "Storage.Class", kraft.KeyStorageHostPath: "Storage.HostPath",
	kraft.KeyCPURequest: "Resources.CPURequest", kraft.KeyCPULimit: "Resources.CPULimit",
	kraft.KeyMemoryRequest: "Resources.MemoryRequest", kraft.KeyMemoryLimit: "Resources.MemoryLimit", kraft.KeyHeapOpts: "Resources.HeapOpts",
	kraft.KeySpread: "Spread", kraft.KeyReassignmentThrottle: "ReassignmentThrottle", kraft.KeyBrokerProperties: "BrokerProperties",
	kraft.KeySecurity: "Security.Mode", kraft.KeyUsers: "Security.Users", kraft.KeyMonitoring: "Monitoring",
}

// fieldName is how Validate names a setting: kraftcluster.Args.<field>, in Go syntax down to the
// map key and the slice index (Security.Users["orders"].ACLs[0].Pattern).
func fieldName(key string) string {
	head, rest, _ := strings.Cut(key, ".")
	f, ok := fieldNames[head]
	if !ok {
		f = head
	}
	switch {
	case rest == "":
	case head == kraft.KeyBrokerProperties:
		f += fmt.Sprintf("[%q]", rest)
	case head == kraft.KeyUsers:
		user, path, _ := strings.Cut(rest, ".")
		f += fmt.Sprintf("[%q]", user)
		for _, p := range strings.Split(path, ".") {
			if p != "" {
				f += "." + userFields.Replace(p)
			}
		}
	default:
		f += "." + rest
	}
	return "kraftcluster.Args." + f
}

// userFields turns the users setting's JSON names into User's and ACL's field names.
var userFields = strings.NewReplacer("password", "Password", "acls", "ACLs", "resource", "Resource",
	"name", "Name", "pattern", "Pattern", "operations", "Operations")

// Validate checks the Args after the defaults and returns one error listing every problem, each
// naming the field, the value and what is allowed. New calls it; a caller may call it first.
func (a Args) Validate() error {
	// Instance's default needs the stack and component names: a valid stand-in here, the real
	// one in New.
	return a.validate("stack", "cluster")
}

func (a Args) validate(stack, name string) error {
	a = a.withDefaults(stack, name)
	var errs []error
	if a.Image == nil {
		errs = append(errs, errors.New("kraftcluster.Args.Image is required: the Kafka image built from docker/ (the KafkaImage component's Ref, or an image pushed before)"))
	}
	base := a.base("")
	clusterErr := base.ValidateCluster(fieldName)
	if clusterErr != nil {
		errs = append(errs, clusterErr)
	}
	if a.Security.Mode == SecurityTLS {
		cr := a.Security.Credentials
		switch {
		case cr.CACert == "" || cr.CAKey == "" || cr.AdminPassword == "" || cr.NameKey == "":
			errs = append(errs, fmt.Errorf("kraftcluster.Args.Security.Credentials: with Security.Mode %q the CA (CACert, CAKey), AdminPassword and NameKey are required: make them once with kraftcluster.NewCredentials and keep them", SecurityTLS))
		case len(cr.AdminPassword) < 12:
			errs = append(errs, errors.New("kraftcluster.Args.Security.Credentials.AdminPassword = [hidden]: must be at least 12 characters"))
		}
		if cr.CACert != "" || cr.CAKey != "" {
			// Checked now: the nodes would find out only when they start, and the update would
			// wait for pods that never get Ready.
			if err := pki.CheckCA(cr.CACert, cr.CAKey, a.RotationDate); err != nil {
				errs = append(errs, fmt.Errorf("kraftcluster.Args.Security.Credentials: %w", err))
			}
		}
		for _, name := range slices.Sorted(maps.Keys(a.Security.Users)) {
			if a.Security.Users[name].Password == "" {
				errs = append(errs, fmt.Errorf("%s is required (at least 12 characters)", fieldName(kraft.KeyUsers+"."+name+".password")))
			}
		}
	}
	// Render only what is valid (it assumes so).
	if clusterErr == nil && kraft.Render(base).SecretProperties != "" && a.Security.Credentials.NameKey == "" {
		errs = append(errs, errors.New("kraftcluster.Args.Security.Credentials.NameKey is required when BrokerProperties hold secrets: it names the Secret they go to"))
	}
	return errors.Join(errs...)
}

// config maps Args (after withDefaults and Validate) onto the pure core's configuration, with the
// names of the Secrets made from the secret material.
func (a Args) config(project string) kraft.Config {
	c := a.base(project)
	// Secret names are an HMAC of the content under NameKey: they change with it (a pod template
	// that mounts them changes too, and rolls) and tell nothing about it.
	names := pki.State{Salt: a.Security.Credentials.NameKey}
	if props := kraft.Render(c).SecretProperties; props != "" {
		c.SecretNames.Properties = names.Name("kafka-secret-config", props)
	}
	if c.Security.Enabled() {
		cr := a.Security.Credentials
		c.SecretNames.TLS = names.Name("kafka-tls", cr.CACert, cr.CAKey)
		c.SecretNames.Users = names.Name("kafka-users", kraft.UsersFile(c.Security, cr.AdminPassword, nil))
	}
	return c
}

// base maps Args (after withDefaults) onto the pure core's configuration, without Secret names.
func (a Args) base(project string) kraft.Config {
	c := kraft.Config{
		Project: project, Stack: a.Instance, Namespace: a.Namespace, ClusterDomain: a.ClusterDomain,
		Replicas: a.Replicas, Controllers: a.Controllers, ClusterID: a.ClusterID,
		ExternalHost: a.ExternalHost, ExternalNodePortBase: a.ExternalNodePortBase,
		Storage:              kraft.Storage{Size: a.Storage.Size, Class: a.Storage.Class, HostPath: a.Storage.HostPath},
		Spread:               a.Spread,
		ReassignmentThrottle: a.ReassignmentThrottle,
		VolumeGenerations:    a.VolumeGenerations,
		Resources: kraft.Resources{CPURequest: a.Resources.CPURequest, CPULimit: a.Resources.CPULimit,
			MemoryRequest: a.Resources.MemoryRequest, MemoryLimit: a.Resources.MemoryLimit, HeapOpts: a.Resources.HeapOpts},
		BrokerProperties:       maps.Clone(a.BrokerProperties),
		KafkaVersion:           a.KafkaVersion,
		Security:               kraft.Security{Mode: a.Security.Mode, Users: map[string]kraft.User{}},
		Monitoring:             a.Monitoring,
		SecretBrokerProperties: a.SecretBrokerProperties,
		ImagePullSecret:        a.ImagePullSecret,
		TLSEpoch:               kraft.TLSEpoch(a.RotationDate.Unix() / 86400),
	}
	if c.BrokerProperties == nil {
		c.BrokerProperties = map[string]string{}
	}
	for n, u := range a.Security.Users {
		acls := make([]kraft.ACL, len(u.ACLs))
		for i, acl := range u.ACLs {
			acls[i] = kraft.ACL{Resource: acl.Resource, Name: acl.Name, Pattern: acl.Pattern, Operations: acl.Operations}
		}
		if len(acls) == 0 {
			acls = nil
		}
		c.Security.Users[n] = kraft.User{Password: u.Password, ACLs: acls}
	}
	return c
}
