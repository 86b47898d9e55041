package main

// Admin requests of `kafka-ready cluster`: DescribeConfigs v4, IncrementalAlterConfigs v1 and
// AlterPartitionReassignments v0, all flexible. Layouts follow Kafka's message JSON files; the tests
// check them against franz-go's kmsg.

import "fmt"

const (
	apiDescribeConfigs            = 32
	apiIncrementalAlterConfigs    = 44
	apiAlterPartitionReassignment = 45

	describeConfigsVersion         = 4
	incrementalAlterConfigsVersion = 1
	alterReassignmentsVersion      = 0

	// resourceBroker with an empty name is the cluster-wide default of every broker config.
	resourceBroker = 4
	resourceTopic  = 2

	opSet = 0
)

// ConfigValue is one config as DescribeConfigs reports it.
type ConfigValue struct {
	Name   string
	Value  string
	Null   bool
	Source int8
}

// configSourceName names DescribeConfigs' config_source values.
func configSourceName(s int8) string {
	switch s {
	case 1:
		return "DYNAMIC_TOPIC_CONFIG"
	case 2:
		return "DYNAMIC_BROKER_CONFIG"
	case 3:
		return "DYNAMIC_DEFAULT_BROKER_CONFIG"
	case 4:
		return "STATIC_BROKER_CONFIG"
	case 5:
		return "DEFAULT_CONFIG"
	case 6:
		return "DYNAMIC_BROKER_LOGGER_CONFIG"
	case 7:
		return "CLIENT_METRICS_CONFIG"
	case 8:
		return "GROUP_CONFIG"
	default:
		return fmt.Sprintf("source %d", s)
	}
}

func encodeDescribeConfigsRequest(resourceType int8, name string, keys []string) []byte {
	var e encoder
	e.compactArrayLen(1)
	e.int8(resourceType)
	e.compactString(name)
	e.compactArrayLen(len(keys))
	for _, k := range keys {
		e.compactString(k)
	}
	e.emptyTags()
	e.bool(false) // include_synonyms
	e.bool(false) // include_documentation
	e.emptyTags()
	return e.b
}

func decodeDescribeConfigsResponse(b []byte) ([]ConfigValue, error) {
	d := &decoder{b: b}
	d.int32() // throttle_time_ms
	var out []ConfigValue
	for i, n := 0, d.compactArrayLen(); i < n && d.err == nil; i++ {
		code := d.int16()
		msg := d.compactString()
		d.int8()          // resource_type
		d.compactString() // resource_name
		if code != 0 && d.err == nil {
			return nil, fmt.Errorf("describe configs: %w %d (%s): %s", errNotAnswered, code, errorName(code), msg)
		}
		for j, m := 0, d.compactArrayLen(); j < m && d.err == nil; j++ {
			var c ConfigValue
			c.Name = d.compactString()
			raw := d.uvarint()
			if raw == 0 {
				c.Null = true
			} else {
				c.Value = string(d.take(int(raw-1), "string"))
			}
			d.bool() // read_only
			c.Source = d.int8()
			d.bool() // is_sensitive
			for k, s := 0, d.compactArrayLen(); k < s && d.err == nil; k++ {
				d.compactString() // synonym name
				d.compactString() // synonym value
				d.int8()          // synonym source
				d.skipTags()
			}
			d.int8()          // config_type
			d.compactString() // documentation
			d.skipTags()
			out = append(out, c)
		}
		d.skipTags()
	}
	d.skipTags()
	if d.err != nil {
		return nil, fmt.Errorf("describe configs v%d: %w", describeConfigsVersion, d.err)
	}
	return out, nil
}

func encodeIncrementalAlterConfigsRequest(resourceType int8, name string, set map[string]string, keys []string) []byte {
	var e encoder
	e.compactArrayLen(1)
	e.int8(resourceType)
	e.compactString(name)
	e.compactArrayLen(len(keys))
	for _, k := range keys {
		e.compactString(k)
		e.int8(opSet)
		e.compactString(set[k])
		e.emptyTags()
	}
	e.emptyTags()
	e.bool(false) // validate_only
	e.emptyTags()
	return e.b
}

func decodeIncrementalAlterConfigsResponse(b []byte) error {
	d := &decoder{b: b}
	d.int32() // throttle_time_ms
	for i, n := 0, d.compactArrayLen(); i < n && d.err == nil; i++ {
		code := d.int16()
		msg := d.compactString()
		d.int8()
		name := d.compactString()
		d.skipTags()
		if code != 0 && d.err == nil {
			return fmt.Errorf("alter configs of %q: %w %d (%s): %s", name, errNotAnswered, code, errorName(code), msg)
		}
	}
	d.skipTags()
	if d.err != nil {
		return fmt.Errorf("incremental alter configs v%d: %w", incrementalAlterConfigsVersion, d.err)
	}
	return nil
}

// Reassignment is the target replica list of one partition.
type Reassignment struct {
	Topic     string
	Partition int32
	Replicas  []int32
}

func encodeAlterReassignmentsRequest(timeoutMs int32, plan []Reassignment) []byte {
	// Group by topic, keeping the plan's order (it is sorted by the planner).
	var topics []string
	byTopic := map[string][]Reassignment{}
	for _, r := range plan {
		if _, ok := byTopic[r.Topic]; !ok {
			topics = append(topics, r.Topic)
		}
		byTopic[r.Topic] = append(byTopic[r.Topic], r)
	}
	var e encoder
	e.int32(timeoutMs)
	e.compactArrayLen(len(topics))
	for _, t := range topics {
		e.compactString(t)
		e.compactArrayLen(len(byTopic[t]))
		for _, r := range byTopic[t] {
			e.int32(r.Partition)
			e.compactArrayLen(len(r.Replicas))
			for _, id := range r.Replicas {
				e.int32(id)
			}
			e.emptyTags()
		}
		e.emptyTags()
	}
	e.emptyTags()
	return e.b
}

func decodeAlterReassignmentsResponse(b []byte) error {
	d := &decoder{b: b}
	d.int32() // throttle_time_ms
	code := d.int16()
	msg := d.compactString()
	if code != 0 && d.err == nil {
		return fmt.Errorf("alter partition reassignments: %w %d (%s): %s", errNotAnswered, code, errorName(code), msg)
	}
	var errs []string
	for i, n := 0, d.compactArrayLen(); i < n && d.err == nil; i++ {
		topic := d.compactString()
		for j, m := 0, d.compactArrayLen(); j < m && d.err == nil; j++ {
			p := d.int32()
			pc := d.int16()
			pm := d.compactString()
			d.skipTags()
			if pc != 0 {
				errs = append(errs, fmt.Sprintf("%s-%d: error %d (%s) %s", topic, p, pc, errorName(pc), pm))
			}
		}
		d.skipTags()
	}
	d.skipTags()
	if d.err != nil {
		return fmt.Errorf("alter partition reassignments v%d: %w", alterReassignmentsVersion, d.err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("alter partition reassignments: %v", errs)
	}
	return nil
}
