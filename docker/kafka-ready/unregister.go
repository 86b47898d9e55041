package main

// Brokers removed by a scale-down stay registered (fenced) in the cluster metadata until they are
// unregistered: `kafka-ready cluster` does it once the StatefulSet has shrunk and their pods have
// stopped (a running broker would register itself again). The program moved their replicas away
// before (internal/scaledown).

import (
	"fmt"
	"strings"
	"time"
)

const (
	apiDescribeCluster  = 60
	apiUnregisterBroker = 64

	describeClusterVersion  = 2
	unregisterBrokerVersion = 0

	// errBrokerIDNotRegistered answers UnregisterBroker for an id that is not (or no longer) registered.
	errBrokerIDNotRegistered = 102
)

// registeredBroker is one broker of a DescribeCluster response.
type registeredBroker struct {
	ID     int32
	Fenced bool
}

// unregisterRemoved unregisters every registered broker with an id of brokers or more (ordinals a
// scale-down removed), once it is fenced (its pod has stopped): a removed broker stays registered
// (fenced) in the metadata otherwise, and its id would look like a broker that is down.
func (c *clusterRun) unregisterRemoved(brokers int32) error {
	return c.until(fmt.Sprintf("unregistering removed brokers (ids %d and up)", brokers), time.Second, func() (bool, string, error) {
		b, err := c.call(apiDescribeCluster, describeClusterVersion, encodeDescribeClusterRequest())
		if err != nil {
			return false, "", err
		}
		regs, err := decodeDescribeClusterResponse(b)
		if err != nil {
			return false, "", err
		}
		var running []string
		for _, r := range regs {
			if r.ID < brokers {
				continue
			}
			if !r.Fenced {
				running = append(running, fmt.Sprint(r.ID))
				continue
			}
			b, err := c.call(apiUnregisterBroker, unregisterBrokerVersion, encodeUnregisterBrokerRequest(r.ID))
			if err != nil {
				return false, "", err
			}
			if err := decodeUnregisterBrokerResponse(b); err != nil {
				return false, "", fmt.Errorf("unregister broker %d: %w", r.ID, err)
			}
			c.logf("broker %d unregistered", r.ID)
		}
		if len(running) > 0 {
			return false, fmt.Sprintf("broker(s) %s still running (not fenced yet)", strings.Join(running, ", ")), nil
		}
		return true, "", nil
	})
}

// --- wire: DescribeCluster v2, UnregisterBroker v0 (both flexible) ---

func encodeDescribeClusterRequest() []byte {
	var e encoder
	e.bool(false) // include_cluster_authorized_operations
	e.int8(1)     // endpoint_type: brokers
	e.bool(true)  // include_fenced_brokers
	e.emptyTags()
	return e.b
}

func decodeDescribeClusterResponse(b []byte) ([]registeredBroker, error) {
	d := &decoder{b: b}
	d.int32() // throttle_time_ms
	code := d.int16()
	msg := d.compactString()
	if code != 0 && d.err == nil {
		return nil, fmt.Errorf("describe cluster: %w %d (%s): %s", errNotAnswered, code, errorName(code), msg)
	}
	d.int8()          // endpoint_type
	d.compactString() // cluster_id
	d.int32()         // controller_id
	var out []registeredBroker
	for i, n := 0, d.compactArrayLen(); i < n && d.err == nil; i++ {
		var r registeredBroker
		r.ID = d.int32()
		d.compactString() // host
		d.int32()         // port
		d.compactString() // rack
		r.Fenced = d.bool()
		d.skipTags()
		out = append(out, r)
	}
	d.int32() // cluster_authorized_operations
	d.skipTags()
	if d.err != nil {
		return nil, fmt.Errorf("describe cluster v%d: %w", describeClusterVersion, d.err)
	}
	return out, nil
}

func encodeUnregisterBrokerRequest(id int32) []byte {
	var e encoder
	e.int32(id)
	e.emptyTags()
	return e.b
}

// decodeUnregisterBrokerResponse accepts "not registered": the id is gone either way.
func decodeUnregisterBrokerResponse(b []byte) error {
	d := &decoder{b: b}
	d.int32() // throttle_time_ms
	code := d.int16()
	msg := d.compactString()
	d.skipTags()
	if d.err != nil {
		return fmt.Errorf("unregister broker v%d: %w", unregisterBrokerVersion, d.err)
	}
	if code != 0 && code != errBrokerIDNotRegistered {
		return fmt.Errorf("%w %d (%s): %s", errNotAnswered, code, errorName(code), msg)
	}
	return nil
}
