package main

// Finalized feature levels (metadata.version and the others a release defines) stay at the level
// the cluster was formatted with until someone raises them: a cluster upgraded from 4.3 to 4.4 runs
// 4.4 binaries with 4.3's metadata format and none of 4.4's features. `kafka-ready cluster
// -feature name=level` raises them once every broker runs a release that supports the level (it
// asks each broker's ApiVersions), and never lowers one: a feature finalized above the given level
// is left alone (Kafka cannot take metadata.version down safely, and the program refuses such a
// downgrade before anything runs).

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

const (
	apiApiVersions    = 18
	apiUpdateFeatures = 57

	apiVersionsVersion    = 4
	updateFeaturesVersion = 1

	upgradeTypeUpgrade = 1
)

// featureLevels are ApiVersions' supported (max) and finalized feature levels of one broker.
type featureLevels struct {
	Supported map[string]int16
	Finalized map[string]int16
}

// featureTargets is a repeatable -feature name=level flag.
type featureTargets map[string]int16

func (f featureTargets) String() string { return fmt.Sprint(map[string]int16(f)) }
func (f featureTargets) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	var level int16
	if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d", &level); !ok || err != nil || strings.TrimSpace(k) == "" || level < 0 {
		return fmt.Errorf("want feature=level (a whole number), got %q", s)
	}
	f[strings.TrimSpace(k)] = level
	return nil
}

// raiseFeatures waits until every broker (c.addrs) supports each target level, raises every
// finalized level below its target, and reads the levels back.
func (c *clusterRun) raiseFeatures(targets featureTargets) error {
	names := make([]string, 0, len(targets))
	for n := range targets {
		names = append(names, n)
	}
	sort.Strings(names)
	var finalized map[string]int16
	if err := c.until("waiting for every broker to support "+targets.String(), 2*time.Second, func() (bool, string, error) {
		finalized = nil
		var behind []string
		for _, addr := range c.addrs {
			lv, err := c.apiVersions(strings.TrimSpace(addr))
			if err != nil {
				return false, "", fmt.Errorf("%s: %w", addr, err)
			}
			for _, n := range names {
				if lv.Supported[n] < targets[n] {
					behind = append(behind, fmt.Sprintf("%s supports %s up to %d", addr, n, lv.Supported[n]))
				}
			}
			finalized = lv.Finalized
		}
		if len(behind) > 0 {
			return false, "a release that supports the levels is not running everywhere yet: " + strings.Join(behind, "; "), nil
		}
		return true, "", nil
	}); err != nil {
		return err
	}
	updates := map[string]int16{}
	for _, n := range names {
		switch have := finalized[n]; {
		case have < targets[n]:
			updates[n] = targets[n]
			c.logf("feature %s: %d -> %d", n, have, targets[n])
		case have > targets[n]:
			c.logf("feature %s: finalized at %d, above %d: kept (levels are never lowered)", n, have, targets[n])
		}
	}
	if len(updates) == 0 {
		c.logf("features already at their levels: %v", finalized)
		return nil
	}
	b, err := c.call(apiUpdateFeatures, updateFeaturesVersion, encodeUpdateFeaturesRequest(int32(c.request.Milliseconds()), updates))
	if err != nil {
		return err
	}
	if err := decodeUpdateFeaturesResponse(b); err != nil {
		return err
	}
	// Read back: the controller propagates the new levels to every broker's metadata.
	return c.until("reading the raised feature levels back", time.Second, func() (bool, string, error) {
		lv, err := c.apiVersions(strings.TrimSpace(c.addrs[0]))
		if err != nil {
			return false, "", err
		}
		for n, want := range updates {
			if lv.Finalized[n] < want {
				return false, fmt.Sprintf("%s finalized at %d, want %d", n, lv.Finalized[n], want), nil
			}
		}
		c.logf("finalized features now %v", lv.Finalized)
		return true, "", nil
	})
}

func (c *clusterRun) apiVersions(addr string) (*featureLevels, error) {
	b, err := roundTrip(addr, c.request, apiApiVersions, apiVersionsVersion, encodeApiVersionsRequest())
	if err != nil {
		return nil, err
	}
	return decodeApiVersionsResponse(b)
}

// --- wire: ApiVersions v4, UpdateFeatures v1 (both flexible) ---
//
// ApiVersions v4, not v3: at v3 a broker leaves out of SupportedFeatures every feature whose minimum
// version is 0 (older clients rejected a 0 minimum, KIP-1022), so group.version and the others
// looked unsupported (seen on Kafka 4.4.0).

func encodeApiVersionsRequest() []byte {
	var e encoder
	e.compactString(clientID) // client_software_name
	e.compactString("1")      // client_software_version
	e.emptyTags()
	return e.b
}

func decodeApiVersionsResponse(b []byte) (*featureLevels, error) {
	d := &decoder{b: b}
	code := d.int16()
	if code != 0 && d.err == nil {
		return nil, fmt.Errorf("api versions: %w %d (%s)", errNotAnswered, code, errorName(code))
	}
	for i, n := 0, d.compactArrayLen(); i < n && d.err == nil; i++ {
		d.int16() // api_key
		d.int16() // min_version
		d.int16() // max_version
		d.skipTags()
	}
	d.int32() // throttle_time_ms
	lv := &featureLevels{Supported: map[string]int16{}, Finalized: map[string]int16{}}
	// Tagged fields: 0 supported_features, 1 finalized_features_epoch, 2 finalized_features.
	for i, n := 0, int(d.uvarint()); i < n && d.err == nil; i++ {
		tag := d.uvarint()
		size := int(d.uvarint())
		field := &decoder{b: d.take(size, "tagged field")}
		switch tag {
		case 0:
			for j, m := 0, field.compactArrayLen(); j < m && field.err == nil; j++ {
				name := field.compactString()
				field.int16() // min_version
				lv.Supported[name] = field.int16()
				field.skipTags()
			}
		case 2:
			for j, m := 0, field.compactArrayLen(); j < m && field.err == nil; j++ {
				name := field.compactString()
				lv.Finalized[name] = field.int16() // max_version_level
				field.int16()                      // min_version_level
				field.skipTags()
			}
		}
		if field.err != nil {
			return nil, fmt.Errorf("api versions v%d tag %d: %w", apiVersionsVersion, tag, field.err)
		}
	}
	if d.err != nil {
		return nil, fmt.Errorf("api versions v%d: %w", apiVersionsVersion, d.err)
	}
	return lv, nil
}

func encodeUpdateFeaturesRequest(timeoutMs int32, updates map[string]int16) []byte {
	names := make([]string, 0, len(updates))
	for n := range updates {
		names = append(names, n)
	}
	sort.Strings(names)
	var e encoder
	e.int32(timeoutMs)
	e.compactArrayLen(len(names))
	for _, n := range names {
		e.compactString(n)
		e.int16(updates[n])
		e.int8(upgradeTypeUpgrade)
		e.emptyTags()
	}
	e.bool(false) // validate_only
	e.emptyTags()
	return e.b
}

func decodeUpdateFeaturesResponse(b []byte) error {
	d := &decoder{b: b}
	d.int32() // throttle_time_ms
	code := d.int16()
	msg := d.compactString()
	if code != 0 && d.err == nil {
		return fmt.Errorf("update features: %w %d (%s): %s", errNotAnswered, code, errorName(code), msg)
	}
	var errs []string
	for i, n := 0, d.compactArrayLen(); i < n && d.err == nil; i++ {
		name := d.compactString()
		fc := d.int16()
		fm := d.compactString()
		d.skipTags()
		if fc != 0 {
			errs = append(errs, fmt.Sprintf("%s: error %d (%s) %s", name, fc, errorName(fc), fm))
		}
	}
	d.skipTags()
	if d.err != nil {
		return fmt.Errorf("update features v%d: %w", updateFeaturesVersion, d.err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("update features: %s", strings.Join(errs, "; "))
	}
	return nil
}
