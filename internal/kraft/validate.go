package kraft

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// Config keys as users type them after `pulumi config set` (without the project prefix). Errors name
// these, so a user can fix the setting without reading code.
const (
	KeyReplicas             = "replicas"
	KeyControllers          = "controllers"
	KeyNamespace            = "namespace"
	KeyClusterDomain        = "clusterDomain"
	KeyClusterID            = "clusterId"
	KeyExternalHost         = "externalHost"
	KeyExternalNodePortBase = "externalNodePortBase"
	KeyStorageSize          = "storageSize"
	KeyStorageClass         = "storageClass"
	KeyStorageHostPath      = "storageHostPath"
	KeyCPURequest           = "cpuRequest"
	KeyCPULimit             = "cpuLimit"
	KeyMemoryRequest        = "memoryRequest"
	KeyMemoryLimit          = "memoryLimit"
	KeyHeapOpts             = "heapOpts"
	KeyBrokerProperties     = "brokerProperties"
	KeyKafkaVersion         = "kafkaVersion"
	KeySpread               = "spread"
	KeyReassignmentThrottle = "reassignmentThrottle"
	KeySecurity             = "security"
	KeyUsers                = "users"
	KeyMonitoring           = "monitoring"
)

var (
	// labelValue is a Kubernetes label value (without the length limit).
	labelValue = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`)
	// dnsSubdomain is the character set of a DNS-1123 subdomain (object names such as PVs).
	dnsSubdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`)
)

// MaxControllers bounds the voter count: KRaft takes any odd count, but past 9 every metadata
// commit waits for more replies and no failure-domain layout needs them.
const MaxControllers = 9

// suggestStackName turns a stack name into one that Validate accepts, for the error message.
func suggestStackName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteRune('-')
		}
	}
	out := strings.Trim(b.String(), "-")
	if len(out) > 63 {
		out = strings.Trim(out[:63], "-")
	}
	if out == "" {
		return "dev"
	}
	return out
}

// brokerKeyPrefixes are families of valid keys that Kafka accepts beyond its fixed list: per-listener
// overrides (listener.name.<listener>.<key>) and config providers (config.providers.<name>.*).
var brokerKeyPrefixes = []string{"listener.name.", "config.providers."}

// authorizerKeys are settings of the StandardAuthorizer: they are read by the authorizer, not
// declared by the broker's config, so the generated brokerkeys lists do not have them.
var authorizerKeys = map[string]bool{"super.users": true, "allow.everyone.if.no.acl.found": true}

var (
	dns1123Label = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	dnsName      = regexp.MustCompile(`^([a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?)*$`)
	// quantity accepts the Kubernetes resource quantity forms people write: 500m, 1, 1.5, 512Mi, 10G.
	quantity = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$`)
	// byteQuantity is a quantity of bytes: no milli suffix, no fraction.
	byteQuantity = regexp.MustCompile(`^[1-9][0-9]*(k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$`)
)

// exampleOf introduces a suggested stack name: the program's users fix it by creating the stack
// under another name, a library caller by setting its field.
func exampleOf(program bool) string {
	if program {
		return "create the stack as, for example,"
	}
	return "for example"
}

// KeyInstance stands for the stack name (Config.Stack) in the names ValidateCluster gives a namer:
// the stack has no config key of its own.
const KeyInstance = "(stack)"

// ConfigKeyName names a setting as `pulumi config set` users know it: config "replicas", or
// "stack name" for KeyInstance. Keys may carry a suffix (brokerProperties.<key>, users.<name>...).
func ConfigKeyName(key string) string {
	if key == KeyInstance {
		return "stack name"
	}
	return fmt.Sprintf("config %q", key)
}

// Validate checks every setting and returns one error listing all problems, each naming the config
// key, the offending value and what is allowed. It runs before any resource is created. (The
// registry, image build and kcat settings are internal/delivery's.)
func (c Config) Validate() error {
	return c.ValidateCluster(ConfigKeyName)
}

// ValidateCluster checks the settings and returns one error listing all problems. name turns a key
// (one of the Key constants, possibly with a suffix such as brokerProperties.<key>) into what the
// caller's users call that setting: ConfigKeyName for the program, a Go field path for a library
// caller.
func (c Config) ValidateCluster(name func(key string) string) error {
	var errs []error
	bad := func(key string, value any, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s = %v: %s", name(key), quoteIfString(value), fmt.Sprintf(format, args...)))
	}
	// program: the names are the program's config keys, which a message may also mention bare
	// ("must not exceed replicas"); a library caller's messages name its own fields throughout.
	program := name(KeyUsers) == ConfigKeyName(KeyUsers)
	ref := func(key string) string {
		if program {
			return key
		}
		return name(key)
	}
	quotedRef := func(key string) string {
		if program {
			return fmt.Sprintf("%q", key)
		}
		return name(key)
	}

	if c.Replicas < 1 {
		bad(KeyReplicas, c.Replicas, "must be at least 1")
	}
	// The stack name is the app.kubernetes.io/instance label of everything (a label value: at most
	// 63 letters, digits, '-', '_' or '.', starting and ending alphanumeric) and, with hostPath
	// storage, part of the PersistentVolume names (lower case only).
	switch {
	case !labelValue.MatchString(c.Stack) || len(c.Stack) > 63:
		errs = append(errs, fmt.Errorf("%s %q: must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit: "+
			"it is the app.kubernetes.io/instance label of every object (%s %q)", name(KeyInstance), c.Stack, exampleOf(program), suggestStackName(c.Stack)))
	case c.Storage.Class == "" && !dnsSubdomain.MatchString(c.Stack):
		errs = append(errs, fmt.Errorf("%s %q: with hostPath storage (no %s) it must be lower-case letters, digits, '-' and '.': "+
			"it names the PersistentVolumes (%s %q, or set %s)", name(KeyInstance), c.Stack, quotedRef(KeyStorageClass), exampleOf(program), suggestStackName(c.Stack), quotedRef(KeyStorageClass)))
	}
	if c.Controllers < 1 || c.Controllers%2 == 0 || c.Controllers > MaxControllers {
		bad(KeyControllers, c.Controllers, "must be an odd number from 1 to %d (1, 3 or 5 are usual): an even quorum tolerates no more failures than the odd number below it, and every voter more slows each metadata commit", MaxControllers)
	} else if c.Replicas >= 1 && c.Controllers > c.Replicas {
		bad(KeyControllers, c.Controllers, "must not exceed %s (%d): controllers are the first ordinals of the StatefulSet", ref(KeyReplicas), c.Replicas)
	}
	switch c.Monitoring {
	case MonitoringMetrics, MonitoringOperator, MonitoringNone:
	default:
		bad(KeyMonitoring, c.Monitoring, "must be %q (Prometheus metrics on every node, a Service and scrape annotations), %q (also a ServiceMonitor, a PrometheusRule and a Grafana dashboard ConfigMap; needs the Prometheus Operator's CRDs) or %q (no exporter)",
			MonitoringMetrics, MonitoringOperator, MonitoringNone)
	}
	if !dns1123Label.MatchString(c.Namespace) || len(c.Namespace) > 63 {
		bad(KeyNamespace, c.Namespace, "must be a DNS-1123 label: lower-case letters, digits and '-', at most 63 characters")
	}
	if !dnsName.MatchString(c.ClusterDomain) {
		bad(KeyClusterDomain, c.ClusterDomain, "must be a DNS name such as cluster.local")
	}
	if c.ClusterID != "" {
		if b, err := base64.RawURLEncoding.DecodeString(c.ClusterID); err != nil || len(b) != 16 || len(c.ClusterID) != 22 {
			bad(KeyClusterID, c.ClusterID, "must be 22 characters of URL-safe base64 encoding 16 bytes (as printed by `kafka-storage random-uuid`), or unset to derive one from the stack")
		} else if strings.HasPrefix(c.ClusterID, "-") {
			bad(KeyClusterID, c.ClusterID, "must not start with '-'")
		}
	}
	if net.ParseIP(c.ExternalHost) == nil && !dnsName.MatchString(c.ExternalHost) {
		bad(KeyExternalHost, c.ExternalHost, "must be a host name or IP address that clients outside the cluster can reach the nodes on")
	}

	// Node ports: the external range and the registry's must fit the API server's range and not overlap.
	extLast := c.ExternalNodePortBase + max(c.Replicas, 1) - 1
	if c.ExternalNodePortBase < MinNodePort || extLast > MaxNodePort {
		bad(KeyExternalNodePortBase, c.ExternalNodePortBase, "brokers use ports %d-%d, which must lie within %d-%d",
			c.ExternalNodePortBase, extLast, MinNodePort, MaxNodePort)
	}
	if !byteQuantity.MatchString(c.Storage.Size) {
		bad(KeyStorageSize, c.Storage.Size, "must be a positive Kubernetes byte quantity such as 1Gi or 500Mi")
	}
	if c.Storage.Class != "" && !dnsName.MatchString(c.Storage.Class) {
		bad(KeyStorageClass, c.Storage.Class, "must be the name of a StorageClass, or unset for hostPath volumes")
	}
	if c.Storage.Class == "" && (!path.IsAbs(c.Storage.HostPath) || path.Clean(c.Storage.HostPath) == "/") {
		bad(KeyStorageHostPath, c.Storage.HostPath, "must be an absolute directory other than /, such as /mnt/kafka")
	}

	for _, q := range []struct {
		key, value string
		bytes      bool
	}{
		{KeyCPURequest, c.Resources.CPURequest, false},
		{KeyCPULimit, c.Resources.CPULimit, false},
		{KeyMemoryRequest, c.Resources.MemoryRequest, true},
		{KeyMemoryLimit, c.Resources.MemoryLimit, true},
	} {
		if q.bytes && !byteQuantity.MatchString(q.value) {
			bad(q.key, q.value, "must be a positive Kubernetes byte quantity such as 1Gi or 768Mi")
		} else if !q.bytes && !quantity.MatchString(q.value) {
			bad(q.key, q.value, "must be a Kubernetes CPU quantity such as 250m or 1")
		}
	}
	if strings.ContainsAny(c.Resources.HeapOpts, "\n\r") || !strings.Contains(c.Resources.HeapOpts, "-Xmx") {
		bad(KeyHeapOpts, c.Resources.HeapOpts, "must be JVM options on one line including -Xmx, such as \"-Xms512m -Xmx512m\"")
	}
	// A request above its limit is refused by the API server only when the pods are created; say so now.
	for _, pair := range []struct {
		req, lim, reqKey, limKey string
		valid                    *regexp.Regexp
	}{
		{c.Resources.CPURequest, c.Resources.CPULimit, KeyCPURequest, KeyCPULimit, quantity},
		{c.Resources.MemoryRequest, c.Resources.MemoryLimit, KeyMemoryRequest, KeyMemoryLimit, byteQuantity},
	} {
		if !pair.valid.MatchString(pair.req) || !pair.valid.MatchString(pair.lim) {
			continue // already reported above
		}
		r, rok := quantityValue(pair.req)
		l, lok := quantityValue(pair.lim)
		if rok && lok && r > l {
			bad(pair.reqKey, pair.req, "must not exceed %s (%s): Kubernetes refuses a request above its limit", ref(pair.limKey), pair.lim)
		}
	}
	if heap, ok := maxHeapBytes(c.Resources.HeapOpts); ok {
		if limit, lok := quantityValue(c.Resources.MemoryLimit); lok && byteQuantity.MatchString(c.Resources.MemoryLimit) && heap+JVMOverheadBytes > limit {
			bad(KeyHeapOpts, c.Resources.HeapOpts, "-Xmx leaves less than 256Mi of %s (%s) for metaspace, direct buffers and thread stacks: lower -Xmx to at most %dm or raise %s",
				ref(KeyMemoryLimit), c.Resources.MemoryLimit, max(0, int((limit-JVMOverheadBytes)/(1<<20))), ref(KeyMemoryLimit))
		}
	} else if strings.Contains(c.Resources.HeapOpts, "-Xmx") {
		bad(KeyHeapOpts, c.Resources.HeapOpts, "-Xmx must be a size such as 512m or 2g")
	}

	// Keys are checked against the release the nodes run (an unknown kafkaVersion is reported
	// below; its keys are checked against the default release meanwhile).
	keysOf := c.KafkaVersion
	if _, ok := Releases[keysOf]; !ok {
		keysOf = DefaultKafkaVersion
	}
	for _, k := range sortedKeys(c.BrokerProperties) {
		// Error messages end up in `up` output and CI logs: a secret value (by its key, or every one
		// when the object was set with --secret) is never shown, nor that of a key Kafka does not
		// know (a misspelt password key stays a password).
		shown := any(c.BrokerProperties[k])
		if c.SecretBrokerProperties || SecretBrokerKey(k) || !KnownBrokerKey(keysOf, k) {
			shown = hiddenValue
		}
		switch {
		case c.managedKey(k):
			bad(KeyBrokerProperties+"."+k, shown, "%q is managed by kafka-kraft and cannot be overridden (managed keys with %s %q: %s)",
				k, ref(KeySecurity), c.Security.Mode, strings.Join(c.managedKeysOf(), ", "))
		case !KnownBrokerKey(keysOf, k):
			bad(KeyBrokerProperties+"."+k, shown, "%q is not a Kafka %s broker setting (see https://kafka.apache.org/documentation/#brokerconfigs)",
				k, keysOf)
		case strings.ContainsAny(c.BrokerProperties[k], "\n\r"):
			bad(KeyBrokerProperties+"."+k, shown, "must be a single line")
		}
	}

	c.validateLiveness(bad)

	// The release the image runs, built or prebuilt: its broker keys and feature levels are known.
	if _, ok := Releases[c.KafkaVersion]; !ok {
		image := "the image"
		if program {
			image = `config "image"` // internal/delivery's key
		}
		bad(KeyKafkaVersion, c.KafkaVersion, "must be one of %s: the Kafka releases whose broker settings and feature levels kafka-kraft knows (with %s set, the release that image runs)",
			strings.Join(ReleaseVersions(), ", "), image)
	}
	if c.Spread != SpreadSoft && c.Spread != SpreadHard {
		bad(KeySpread, c.Spread, "must be %q (prefer one pod per node and zone) or %q (never two pods on one node)", SpreadSoft, SpreadHard)
	}
	if v, ok := quantityValue(c.ReassignmentThrottle); !ok || v < 1<<20 {
		bad(KeyReassignmentThrottle, c.ReassignmentThrottle, "must be bytes per second per broker, at least 1Mi, such as %s", DefaultReassignmentThrottle)
	}
	c.validateSecurity(bad, ref, program)
	return errors.Join(errs...)
}

// KnownBrokerKey reports whether k is a broker setting of Kafka release version (one of Releases).
func KnownBrokerKey(version, k string) bool {
	if brokerKeys[version][k] || authorizerKeys[k] {
		return true
	}
	for _, p := range brokerKeyPrefixes {
		if strings.HasPrefix(k, p) && len(k) > len(p) {
			return true
		}
	}
	return false
}

func quoteIfString(v any) any {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return v
}

// IsLabelValue reports whether v is a Kubernetes label value: at most 63 letters, digits, '-', '_'
// or '.', starting and ending with a letter or digit.
func IsLabelValue(v string) bool { return labelValue.MatchString(v) && len(v) <= 63 }

// IsByteQuantity reports whether s is a positive Kubernetes quantity of bytes (1Gi, 500Mi, 1000).
func IsByteQuantity(s string) bool { return byteQuantity.MatchString(s) }

// IsDNSName reports whether s is a DNS name (letters, digits, '-', dot-separated labels).
func IsDNSName(s string) bool { return dnsName.MatchString(s) }

// The broker liveness settings and Kafka's defaults for them, which kafka-kraft keeps (validateLiveness
// checks a brokerProperties override). Kafka's defaults also decide how soon a restarted broker may
// come back: the active controller keeps the previous incarnation's session until it times out,
// even after a clean controlled shutdown, and refuses the new incarnation until then
// (DUPLICATE_BROKER_REGISTRATION, retried about 2 s later), so a pod restart takes at least the
// session timeout after the old broker's last heartbeat, unless the restarted node was the active
// controller. 1 s / 5 s cut the median restart from about 11.5 to 9.6-10.2 s (make bench-deploy,
// issue 14), but rolls then showed readiness flaps in three of four runs: when the active
// controller's node rolls, a voter can take more than 5 s to reach the new leader (a restarted
// peer's new IP, an election), is fenced, drops out of the ISR and is unready for 10-17 s. A
// restart's 2 s is not worth that.
const (
	HeartbeatIntervalKey       = "broker.heartbeat.interval.ms"
	SessionTimeoutKey          = "broker.session.timeout.ms"
	DefaultHeartbeatIntervalMs = "2000"
	DefaultSessionTimeoutMs    = "9000"
)

// validateLiveness checks the broker heartbeat and session settings as the nodes will run them
// (Kafka's defaults, or brokerProperties): whole milliseconds, and a session that outlasts at least
// two heartbeats, or a live broker is fenced between two of its heartbeats and its leaderships move
// for nothing (Kafka itself starts with any pair).
func (c Config) validateLiveness(bad func(key string, value any, format string, args ...any)) {
	ms := func(k, def string) (int, bool, bool) {
		v, set := c.BrokerProperties[k]
		if !set {
			v = def
		}
		if strings.Contains(v, "${") {
			return 0, false, set // a config provider's reference: its value is known only to the broker
		}
		// Both are Kafka INT settings.
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
		if err != nil || n < 1 {
			bad(KeyBrokerProperties+"."+k, c.shownValue(v), "must be a whole number of milliseconds, 1 to 2147483647 (default %s)", def)
			return 0, false, set
		}
		return int(n), true, set
	}
	hb, hok, hset := ms(HeartbeatIntervalKey, DefaultHeartbeatIntervalMs)
	st, sok, sset := ms(SessionTimeoutKey, DefaultSessionTimeoutMs)
	if !hok || !sok || int64(st) >= 2*int64(hb) {
		return
	}
	// Name the setting the user changed: the heartbeat when the session is Kafka's default.
	if hset && !sset {
		bad(KeyBrokerProperties+"."+HeartbeatIntervalKey, c.shownValue(strconv.Itoa(hb)), "must be at most half %s (%d ms, Kafka's default): a live broker would be fenced between two heartbeats (defaults %s and %s ms)",
			SessionTimeoutKey, st, DefaultHeartbeatIntervalMs, DefaultSessionTimeoutMs)
		return
	}
	bad(KeyBrokerProperties+"."+SessionTimeoutKey, c.shownValue(strconv.Itoa(st)), "must be at least twice %s (%v ms): a live broker would be fenced between two heartbeats (defaults %s and %s ms)",
		HeartbeatIntervalKey, c.shownValue(strconv.Itoa(hb)), DefaultHeartbeatIntervalMs, DefaultSessionTimeoutMs)
}

// shownValue is a brokerProperties value as an error message may show it: hidden when the object was
// set with --secret.
func (c Config) shownValue(v string) any {
	if c.SecretBrokerProperties {
		return hiddenValue
	}
	return v
}
