package kraft

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// Lookup returns the raw value of a config key (without the project prefix) and whether it is set.
// Pulumi's config.Get has this shape; tests pass a map.
type Lookup func(key string) (string, bool)

// Keys lists every config key of the Kafka cluster, in README order (internal/delivery has the
// registry, image and kcat keys).
var Keys = []string{
	KeyReplicas, KeyControllers, KeyNamespace, KeyClusterDomain, KeyClusterID,
	KeyExternalHost, KeyExternalNodePortBase,
	KeyStorageSize, KeyStorageClass, KeyStorageHostPath, KeySpread, KeyReassignmentThrottle,
	KeyCPURequest, KeyCPULimit, KeyMemoryRequest, KeyMemoryLimit, KeyHeapOpts,
	KeyBrokerProperties,
	KeyKafkaVersion,
	KeySecurity, KeyUsers,
	KeyMonitoring,
}

// FromSettings builds a Config from raw config values: Defaults, overridden by every key that is set.
// It rejects values of the wrong type (naming the key and the expected type); ranges and
// cross-field rules are Validate's job. Strict parsing matters: Pulumi's own GetInt turns "three"
// into 0 without complaint.
func FromSettings(project, stack string, get Lookup) (Config, error) {
	c := Defaults(project, stack)
	r := NewReader(get)
	str, integer := r.String, r.Int
	var errs []error
	integer(KeyReplicas, &c.Replicas)
	// controllers defaults from the replica count the stack chose, not from the default count.
	if !integer(KeyControllers, &c.Controllers) {
		c.Controllers = DefaultControllers(c.Replicas)
	}
	str(KeyNamespace, &c.Namespace)
	str(KeyClusterDomain, &c.ClusterDomain)
	str(KeyClusterID, &c.ClusterID)
	str(KeyExternalHost, &c.ExternalHost)
	integer(KeyExternalNodePortBase, &c.ExternalNodePortBase)
	str(KeyStorageSize, &c.Storage.Size)
	str(KeyStorageClass, &c.Storage.Class)
	str(KeyStorageHostPath, &c.Storage.HostPath)
	str(KeySpread, &c.Spread)
	str(KeyReassignmentThrottle, &c.ReassignmentThrottle)
	str(KeyCPURequest, &c.Resources.CPURequest)
	str(KeyCPULimit, &c.Resources.CPULimit)
	str(KeyMemoryRequest, &c.Resources.MemoryRequest)
	str(KeyMemoryLimit, &c.Resources.MemoryLimit)
	str(KeyHeapOpts, &c.Resources.HeapOpts)
	if v, ok := get(KeyBrokerProperties); ok && strings.TrimSpace(v) != "" {
		props, err := parseProperties(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("config %q: %w", KeyBrokerProperties, err))
		}
		c.BrokerProperties = props
	}
	str(KeyKafkaVersion, &c.KafkaVersion)
	str(KeySecurity, &c.Security.Mode)
	str(KeyMonitoring, &c.Monitoring)
	if v, ok := get(KeyUsers); ok && strings.TrimSpace(v) != "" {
		users, err := parseUsers(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("config %q: %w", KeyUsers, err))
		} else {
			c.Security.Users = users
		}
	}
	return c, errors.Join(append([]error{r.Err()}, errs...)...)
}

// Reader reads typed config values, collecting one error per value of the wrong type (naming the
// key and the expected type). Strict parsing matters: Pulumi's own GetInt turns "three" into 0
// without complaint.
type Reader struct {
	get  Lookup
	errs []error
}

// NewReader reads from get.
func NewReader(get Lookup) *Reader { return &Reader{get: get} }

// String sets *dst to the key's value, trimmed, when it is set.
func (r *Reader) String(key string, dst *string) {
	if v, ok := r.get(key); ok {
		*dst = strings.TrimSpace(v)
	}
}

// Int sets *dst to the key's whole number and reports whether it did.
func (r *Reader) Int(key string, dst *int) bool {
	v, ok := r.get(key)
	if !ok {
		return false
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("config %q = %q: must be a whole number", key, v))
		return false
	}
	*dst = n
	return true
}

// Bool sets *dst to the key's true or false.
func (r *Reader) Bool(key string, dst *bool) {
	if v, ok := r.get(key); ok {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			r.errs = append(r.errs, fmt.Errorf("config %q = %q: must be true or false", key, v))
			return
		}
		*dst = b
	}
}

// Err is every error so far, or nil.
func (r *Reader) Err() error { return errors.Join(r.errs...) }

// parseProperties reads the brokerProperties object. Pulumi stores structured config as JSON;
// `pulumi config set --path 'brokerProperties["log.retention.hours"]' 24` yields a number, so
// scalars of any JSON type are accepted and written as Kafka expects them.
func parseProperties(raw string) (map[string]string, error) {
	// UseNumber: a float64 would turn 9223372036854775807 (Long.MAX_VALUE, a common "unlimited")
	// into 9223372036854775808, which Kafka rejects for a LONG setting.
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	err := dec.Decode(&m)
	if err == nil {
		if _, tail := dec.Token(); tail != io.EOF {
			err = errors.New("unexpected data after the object")
		}
	}
	if err != nil {
		return map[string]string{}, fmt.Errorf("must be an object of Kafka settings, e.g. pulumi config set --path 'brokerProperties[\"log.retention.hours\"]' 24: %w", err)
	}
	out := map[string]string{}
	var bad []string
	for k, v := range m {
		switch t := v.(type) {
		case string:
			out[k] = t
		case bool:
			out[k] = strconv.FormatBool(t)
		case json.Number:
			// Integers keep every digit; other numbers (0.5, 2e6, 6.0) are written out plainly.
			if i, err := t.Int64(); err == nil {
				out[k] = strconv.FormatInt(i, 10)
			} else if f, err := t.Float64(); err == nil {
				out[k] = strconv.FormatFloat(f, 'f', -1, 64)
			} else {
				out[k] = t.String()
			}
		default:
			bad = append(bad, k)
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return out, fmt.Errorf("values must be strings, numbers or booleans; not for %s", strings.Join(bad, ", "))
	}
	return out, nil
}
