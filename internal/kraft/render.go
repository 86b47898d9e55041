package kraft

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Rendered is the configuration the Kafka pods receive.
type Rendered struct {
	// ClusterID is the effective cluster id (KAFKA_CLUSTER_ID).
	ClusterID string
	// Files is the ConfigMap data mounted at ConfigMountPath: "server.properties" (shared by every
	// node), "node-<ordinal>.properties" for every voter, and BrokerTemplateFile for every
	// broker-only ordinal. The entrypoint concatenates the shared file and the node's file.
	// Nothing in it depends on the broker count beyond the settings that follow it (replication
	// factors), so adding brokers changes no file.
	Files map[string]string
	// Name is the ConfigMap's name: ConfigMapName plus a hash of Files. The ConfigMap is immutable
	// and content-addressed: a change makes a new one, which exists before the StatefulSet refers
	// to it, and the old one is deleted only after the StatefulSet was updated.
	Name string
	// Hash identifies everything that shapes a running node's configuration. It is put on the pod
	// template, so a change rolls the pods. It deliberately excludes the node files of ordinals that
	// only scale-up adds: growing the cluster does not restart existing brokers unless a shared
	// setting (such as a replication factor) changes with it.
	Hash string
	// SecretProperties is SecretPropertiesFile: the brokerProperties that are secrets (see
	// SplitBrokerProperties), or "" when there are none. It goes to a Secret, never to Files,
	// and is not part of Hash (a hash of a secret on the pod template would let anyone who reads
	// pods test guesses); the Secret's name (SecretName) changes with it instead.
	SecretProperties string
}

// SharedPropertiesFile and NodePropertiesFile name the ConfigMap keys.
const SharedPropertiesFile = "server.properties"

// NodePropertiesFile is the per-node file name for an ordinal.
func NodePropertiesFile(ordinal int) string { return fmt.Sprintf("node-%d.properties", ordinal) }

// BrokerTemplateFile is the node file of every broker-only ordinal, with OrdinalPlaceholder and
// ExternalPortPlaceholder where the ordinal and its external NodePort go; the entrypoint fills them
// in (the port is the base in the ExternalPortBaseMarker line plus the ordinal). A template instead
// of one file per broker keeps the ConfigMap the same when brokers are added, so growth restarts
// nobody.
const (
	BrokerTemplateFile      = "broker.properties.template"
	OrdinalPlaceholder      = "@ORDINAL@"
	ExternalPortPlaceholder = "@EXTERNAL_PORT@"
	ExternalPortBaseMarker  = "#@ external.port.base="
)

// ManagedKeys are the broker settings the program owns: they follow from the topology and must
// agree across nodes and with the Services, so users cannot override them (as Strimzi refuses).
var ManagedKeys = []string{
	"advertised.listeners",
	"broker.id",
	"controller.listener.names",
	"controller.quorum.bootstrap.servers",
	"controller.quorum.voters",
	"inter.broker.listener.name",
	"listener.security.protocol.map",
	"listeners",
	"log.dir",
	"log.dirs",
	"metadata.log.dir",
	"node.id",
	"process.roles",
}

// SharedProperties returns the settings common to every node, before user properties.
func SharedProperties(c Config) map[string]string {
	rf := ReplicationFactor(c.Replicas)
	isr := MinInsyncReplicas(c.Replicas)
	props := map[string]string{
		"controller.listener.names":                "CONTROLLER",
		"controller.quorum.voters":                 QuorumVoters(c),
		"inter.broker.listener.name":               "INTERNAL",
		"log.dirs":                                 LogDir,
		"default.replication.factor":               itoa(rf),
		"min.insync.replicas":                      itoa(isr),
		"offsets.topic.replication.factor":         itoa(rf),
		"transaction.state.log.replication.factor": itoa(rf),
		"transaction.state.log.min.isr":            itoa(isr),
		// Kafka's default (3 s) lets a new consumer group collect its members before the first
		// rebalance; 0 starts it at once. Kept at 0 deliberately: this project's clusters are
		// small and mostly serve tests and development, where every first join (the smoke test's, a
		// developer's console consumer) would otherwise wait 3 s for nothing. Production groups
		// with many members starting together should set it back through brokerProperties
		// ("group.initial.rebalance.delay.ms": "3000").
		"group.initial.rebalance.delay.ms": "0",
	}
	for k, v := range SecurityProperties(c) {
		props[k] = v
	}
	return props
}

// nodeListeners returns listeners and advertised.listeners of a node whose in-cluster host name
// is host and whose external port is port (placeholders in the broker template).
func nodeListeners(c Config, controller bool, host, port string) (listeners, advertised string) {
	l := []string{fmt.Sprintf("INTERNAL://:%d", InternalPort)}
	a := []string{fmt.Sprintf("INTERNAL://%s:%d", host, InternalPort)}
	if controller {
		l = append(l, fmt.Sprintf("CONTROLLER://:%d", ControllerPort))
	}
	if c.Security.Enabled() {
		l = append(l, fmt.Sprintf("CLIENT://:%d", ClientPort))
		a = append(a, fmt.Sprintf("CLIENT://%s:%d", host, ClientPort))
	}
	l = append(l, fmt.Sprintf("EXTERNAL://:%d", ExternalPort))
	a = append(a, fmt.Sprintf("EXTERNAL://%s:%s", c.ExternalHost, port))
	return strings.Join(l, ","), strings.Join(a, ",")
}

// NodeProperties returns the settings that differ per node.
func NodeProperties(c Config, n Node) map[string]string {
	listeners, advertised := nodeListeners(c, n.Controller, n.InternalHost, itoa(n.ExternalNodePort))
	return map[string]string{
		"node.id":              itoa(n.NodeID),
		"process.roles":        n.Roles(),
		"listeners":            listeners,
		"advertised.listeners": advertised,
	}
}

// FormatProperties renders a properties map with sorted keys and a header comment. Values are
// escaped the way java.util.Properties reads them back.
func FormatProperties(header string, props map[string]string) string {
	var b strings.Builder
	for _, line := range strings.Split(header, "\n") {
		b.WriteString("# " + line + "\n")
	}
	for _, k := range sortedKeys(props) {
		b.WriteString(escapeProperty(k, true) + "=" + escapeProperty(props[k], false) + "\n")
	}
	return b.String()
}

// escapeProperty escapes backslashes, line breaks, tabs, form feeds and, in keys, the separators '=', ':' and spaces.
func escapeProperty(s string, key bool) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\f':
			// java.util.Properties treats a form feed as whitespace: unescaped it would end a key
			// or be dropped from the start of a value.
			b.WriteString(`\f`)
		case key && (r == '=' || r == ':' || r == ' ' || r == '#' || r == '!'):
			b.WriteRune('\\')
			b.WriteRune(r)
		case !key && i == 0 && r == ' ':
			b.WriteString(`\ `)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Render computes the ConfigMap data and its hash. The Config must have passed Validate.
func Render(c Config) Rendered {
	shared := SharedProperties(c)
	plain, secret := SplitBrokerProperties(c.BrokerProperties, c.SecretBrokerProperties)
	for k, v := range plain {
		shared[k] = v
	}
	files := map[string]string{
		SharedPropertiesFile: FormatProperties(
			"Shared by every node of stack "+c.Stack+". Rendered by kafka-kraft; do not edit.", shared),
	}
	for _, n := range Nodes(c) {
		if !n.Controller {
			continue
		}
		files[NodePropertiesFile(n.Ordinal)] = FormatProperties(
			fmt.Sprintf("Node %d (%s). Rendered by kafka-kraft; do not edit.", n.NodeID, n.Roles()),
			NodeProperties(c, n))
	}
	files[BrokerTemplateFile] = brokerTemplate(c)
	r := Rendered{ClusterID: EffectiveClusterID(c), Files: files, Hash: configHash(c, files), Name: configMapName(files)}
	if len(secret) > 0 {
		r.SecretProperties = FormatProperties("Secret broker settings of stack "+c.Stack+" (brokerProperties). Rendered by kafka-kraft; do not edit.", secret)
	}
	return r
}

// brokerTemplate renders BrokerTemplateFile: NodeProperties of a broker-only node, with
// placeholders for its ordinal and external port.
func brokerTemplate(c Config) string {
	host := fmt.Sprintf("%s-%s.%s.%s.svc.%s", StatefulSetName, OrdinalPlaceholder, HeadlessServiceName, c.Namespace, c.ClusterDomain)
	listeners, advertised := nodeListeners(c, false, host, ExternalPortPlaceholder)
	props := map[string]string{
		"node.id":              OrdinalPlaceholder,
		"process.roles":        "broker",
		"listeners":            listeners,
		"advertised.listeners": advertised,
	}
	header := "Broker-only nodes (ordinal " + itoa(c.Controllers) + " and up). Rendered by kafka-kraft; do not edit.\n" +
		"The entrypoint fills in the node's ordinal and its external port (the base below plus the ordinal)."
	return FormatProperties(header, props) + ExternalPortBaseMarker + itoa(c.ExternalNodePortBase) + "\n"
}

// NodeFile is the node file the entrypoint uses for an ordinal: node-<ordinal>.properties when the
// ConfigMap has one, else the broker template filled in as the entrypoint fills it.
func NodeFile(r Rendered, ordinal int) (string, bool) {
	if f, ok := r.Files[NodePropertiesFile(ordinal)]; ok {
		return f, true
	}
	tmpl, ok := r.Files[BrokerTemplateFile]
	if !ok {
		return "", false
	}
	base := 0
	for _, line := range strings.Split(tmpl, "\n") {
		if v, ok := strings.CutPrefix(line, ExternalPortBaseMarker); ok {
			if _, err := fmt.Sscanf(v, "%d", &base); err != nil {
				return "", false
			}
		}
	}
	out := strings.ReplaceAll(tmpl, OrdinalPlaceholder, itoa(ordinal))
	return strings.ReplaceAll(out, ExternalPortPlaceholder, itoa(base+ordinal)), true
}

// configMapName is ConfigMapName plus the first 10 hex digits of the SHA-256 of the files (sorted by
// name): the content-addressed name of the ConfigMap.
func configMapName(files map[string]string) string {
	h := sha256.New()
	for _, name := range sortedKeys(files) {
		fmt.Fprintf(h, "%s\x00%s\x00", name, files[name])
	}
	return ConfigMapName + "-" + hex.EncodeToString(h.Sum(nil))[:10]
}

// configHash hashes the shared file, the cluster id and the inputs that shape every node file
// (not the node files themselves, which a scale-up adds to).
func configHash(c Config, files map[string]string) string {
	h := sha256.New()
	fmt.Fprintf(h, "cluster.id=%s\n", EffectiveClusterID(c))
	fmt.Fprintf(h, "heap=%s\n", c.Resources.HeapOpts)
	fmt.Fprintf(h, "external=%s:%d\n", c.ExternalHost, c.ExternalNodePortBase)
	fmt.Fprintf(h, "controllers=%d\n", c.Controllers)
	h.Write([]byte(files[SharedPropertiesFile]))
	return hex.EncodeToString(h.Sum(nil))[:16]
}
