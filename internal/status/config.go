// Package status reports how a running Kafka cluster is doing: its brokers and their addresses,
// the KRaft quorum and its active controller, topics with their partitions and replication,
// under-replicated and offline partitions, consumer groups and their lag. Gather reads it all
// through one kafka-go client; Evaluate (pure) turns it into problems; WriteTable and WriteJSON
// render it. cmd/status (make status) is the command.
package status

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kafka-kraft/kafka-kraft/internal/clientauth"
)

// Defaults of Config and Expect.
const (
	// DefaultRequestTimeout bounds each network call.
	DefaultRequestTimeout = 10 * time.Second
	// DefaultMaxVoterLag is how many records a voter may be behind the leader's log end offset.
	// The active controller appends a no-op record every 500 ms when idle
	// (metadata.max.idle.interval.ms), so a voter that stopped fetching passes it within minutes,
	// while a live one is a few records behind at most, even during topic creation bursts.
	DefaultMaxVoterLag int64 = 1000
	// DefaultMaxFetchAge is how long ago a voter may have last fetched from the leader. A follower
	// fetches continuously (a long poll of at most 500 ms) and starts an election after 2 s
	// without the leader (controller.quorum.fetch.timeout.ms), so 10 s without a fetch means it is
	// not following.
	DefaultMaxFetchAge = 10 * time.Second
)

// clientID names the status check in the brokers' request logs and quotas.
const clientID = "kafka-kraft-status"

// Config says which cluster to read and what to expect of it.
type Config struct {
	// Brokers are the bootstrap addresses, "host:port" each. Required.
	Brokers []string
	// Auth is how to connect: the zero value is PLAINTEXT; a cluster with security "tls" takes TLS
	// with a SCRAM-SHA-512 user (the admin user reads everything; another user sees only what its
	// ACLs allow).
	Auth clientauth.Auth
	// RequestTimeout bounds each network call. 0 selects DefaultRequestTimeout (10s); otherwise at
	// least 100ms. The caller's context bounds the whole.
	RequestTimeout time.Duration
	// Expect is what a healthy cluster looks like.
	Expect Expect
}

// Expect is what Evaluate compares the cluster with. Zero values select defaults or skip a check.
type Expect struct {
	// Brokers is how many brokers must be registered (the stack's deployed.replicas). 0 does not
	// check.
	Brokers int `json:"brokers"`
	// Controllers is how many voters the quorum must have (the stack's deployed.controllers). 0
	// does not check.
	Controllers int `json:"controllers"`
	// MaxVoterLag is how far (records) a voter may be behind the leader's log end offset. 0
	// selects DefaultMaxVoterLag (1000).
	MaxVoterLag int64 `json:"maxVoterLag"`
	// MaxFetchAge is how long ago a voter may have last fetched from the leader, measured on the
	// leader's clock (no skew with this machine). 0 selects DefaultMaxFetchAge (10s).
	MaxFetchAge time.Duration `json:"maxFetchAge"`
}

func (e Expect) withDefaults() Expect {
	if e.MaxVoterLag == 0 {
		e.MaxVoterLag = DefaultMaxVoterLag
	}
	if e.MaxFetchAge == 0 {
		e.MaxFetchAge = DefaultMaxFetchAge
	}
	return e
}

// Validate reports the first invalid field, naming it.
func (c Config) Validate() error {
	if len(c.Brokers) == 0 {
		return errors.New("status: Config.Brokers is empty: at least one bootstrap address host:port is required")
	}
	if err := c.Auth.Validate(); err != nil {
		return fmt.Errorf("status: Config.Auth: %w", err)
	}
	if c.RequestTimeout != 0 && c.RequestTimeout < 100*time.Millisecond {
		return fmt.Errorf("status: Config.RequestTimeout = %s: must be at least 100ms (0 = default %s)", c.RequestTimeout, DefaultRequestTimeout)
	}
	e := c.Expect
	switch {
	case e.Brokers < 0:
		return fmt.Errorf("status: Expect.Brokers = %d: must be 0 (do not check) or more", e.Brokers)
	case e.Controllers < 0:
		return fmt.Errorf("status: Expect.Controllers = %d: must be 0 (do not check) or more", e.Controllers)
	case e.MaxVoterLag < 0:
		return fmt.Errorf("status: Expect.MaxVoterLag = %d: must be 0 (default %d) or more", e.MaxVoterLag, DefaultMaxVoterLag)
	case e.MaxFetchAge < 0:
		return fmt.Errorf("status: Expect.MaxFetchAge = %s: must be 0 (default %s) or more", e.MaxFetchAge, DefaultMaxFetchAge)
	}
	return nil
}

// ParseExpect reads the broker and voter counts from a stack's outputs as JSON (the deployed
// output's replicas and controllers); missing values leave the checks off.
// The deployed output is an object in `pulumi stack output --json` and a string holding that
// object's JSON in `kafka-kraft -show-secrets outputs` (whose values are all strings, what make
// status passes): both are read.
func ParseExpect(outputs []byte) (Expect, error) {
	var o struct {
		Deployed json.RawMessage `json:"deployed"`
	}
	if err := json.Unmarshal(outputs, &o); err != nil {
		return Expect{}, fmt.Errorf("the stack outputs are not JSON: %w", err)
	}
	raw := []byte(o.Deployed)
	var inner string
	if json.Unmarshal(raw, &inner) == nil {
		raw = []byte(inner)
	}
	if len(raw) == 0 || string(raw) == "null" {
		return Expect{}, nil
	}
	var d struct {
		Replicas    int `json:"replicas"`
		Controllers int `json:"controllers"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return Expect{}, fmt.Errorf("the stack output deployed is not the program's record (%.80s): %w", raw, err)
	}
	return Expect{Brokers: d.Replicas, Controllers: d.Controllers}, nil
}
