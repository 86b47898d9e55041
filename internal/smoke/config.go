// Package smoke is a post-deploy smoke test for a Kafka cluster that doubles
// as a small benchmark.
//
// Run checks the cluster metadata (broker count, a controller, every
// advertised broker address answers), creates or reuses a topic, produces
// numbered and checksummed messages with acks=all through its own producer
// on kafka-go's Client (one request in flight per partition, carrying
// whatever accumulated while the previous one was in flight),
// reads them back partition by partition and verifies that none was lost,
// duplicated, corrupted or reordered. It reports produce and consume
// throughput and the produce latency distribution.
//
// Every network call carries its own deadline and the whole run has an
// overall one, so an unreachable or half-broken cluster ends the run with an
// error naming the address and the step that failed instead of hanging.
//
// The package is used by cmd/smoke (make smoke) and by the Go tests of the
// image and end-to-end tiers.
package smoke

import (
	"context"
	"fmt"
	"github.com/kafka-kraft/kafka-kraft/internal/clientauth"
	"io"
	"net"
	"strconv"
	"time"
)

// Defaults applied by Run to zero-valued Config fields.
const (
	// DefaultTopic is the topic of the original tutorial this project
	// follows.
	DefaultTopic = "message_type.dataset_name.hear-ye"
	// DefaultMessages is sized so that a healthy cluster finishes in a few
	// seconds.
	DefaultMessages = 10000
	// DefaultMessageSize is the record value size in bytes.
	DefaultMessageSize = 512
	// DefaultTimeout is the overall deadline of a run.
	DefaultTimeout = 2 * time.Minute
	// DefaultRequestTimeout is the deadline of each single network call.
	DefaultRequestTimeout = 10 * time.Second
)

// Limits checked by Config.Validate.
const (
	// MinMessageSize is the smallest record value: the fixed header that
	// carries the magic, run id, sequence number and checksum.
	MinMessageSize = headerLen
	// MaxMessageSize keeps one record within Kafka's default
	// message.max.bytes (1 MiB) including the record batch overhead.
	MaxMessageSize = 1000000
	// MaxMessages bounds memory: the run keeps about 60 bytes of
	// bookkeeping per message.
	MaxMessages = 10000000
	// MaxRate bounds Config.Rate (messages per second).
	MaxRate = 10000000
	// MaxPartitions bounds the topic created by the smoke test.
	MaxPartitions = 10000
	// maxTopicLen is Kafka's limit on topic names.
	maxTopicLen = 249
)

// Config configures one smoke run. The zero value of every field except
// Brokers selects a default.
type Config struct {
	// Brokers are the bootstrap addresses, "host:port" each. Required.
	// Every address must answer: a listed address that does not is a
	// deployment defect, and the run fails naming it.
	Brokers []string

	// Auth is how the run connects: TLS verified against the cluster CA
	// and a SCRAM-SHA-512 user for a cluster with security "tls" (see
	// StackAuth); the zero value is PLAINTEXT.
	Auth clientauth.Auth

	// Topic is the topic to produce to and consume from. Default
	// DefaultTopic ("message_type.dataset_name.hear-ye"). Allowed: 1 to 249
	// characters of [a-zA-Z0-9._-], not "." or "..". An existing topic is
	// reused as it is (its partition count and replication factor win over
	// Partitions and ReplicationFactor); the run only consumes the records
	// it produced itself.
	Topic string

	// ExpectedBrokers is the number of brokers the metadata must list.
	// 0 (default) does not check the count; otherwise at least 1. The run
	// waits (until Timeout) for the count to match, so it can follow a
	// deployment whose brokers are still registering.
	ExpectedBrokers int

	// Messages is how many messages to produce and verify. 0 selects
	// DefaultMessages (10000); allowed 1 to MaxMessages.
	Messages int

	// MessageSize is the size in bytes of each record value, header
	// included. Default DefaultMessageSize (512); allowed MinMessageSize
	// (32) to MaxMessageSize (1000000).
	MessageSize int

	// Rate caps the produce rate in messages per second, to measure latency
	// at a given load as kafka-producer-perf-test --throughput does. 0
	// (default) produces as fast as the cluster acknowledges, up to the
	// in-flight bound. Allowed 0 to MaxRate.
	Rate int

	// Partitions is the partition count of the topic when the run creates
	// it. 0 (default) fits it to the cluster: one partition per broker, so
	// that with the usual leader spread every broker leads one. Allowed 0
	// to MaxPartitions.
	Partitions int

	// ReplicationFactor is the replication factor of the topic when the run
	// creates it. 0 (default) fits it to the cluster: min(3, brokers).
	// Allowed 0 to the broker count (checked once the metadata is known).
	ReplicationFactor int

	// Timeout is the overall deadline of the run. Default DefaultTimeout
	// (2m); allowed 1s or more.
	Timeout time.Duration

	// RequestTimeout is the deadline of each network call (metadata, topic
	// creation, each produce and fetch request, each connection attempt,
	// which gets half of it). Default DefaultRequestTimeout (10s); allowed
	// 100ms or more. It is capped at Timeout.
	RequestTimeout time.Duration

	// DeliveryTimeout bounds the time from handing a message to the
	// producer to its acknowledgement, retries included, as the Java
	// producer's delivery.timeout.ms: a produce that fails with an error
	// that may go away (a leader moving, a broker that refuses connections
	// while it restarts or until KRaft fences it) is retried until then.
	// Default DefaultDeliveryTimeout (2m); allowed 1s or more. The run's
	// Timeout still bounds everything.
	DeliveryTimeout time.Duration

	// Progress receives one progress line per second once a run has lasted
	// more than a couple of seconds. nil (default) keeps the run quiet.
	Progress io.Writer

	// afterProduce, when set, runs between produce and consume. Tests use
	// it to damage the topic for real (delete records, inject duplicates)
	// and check that the verification notices.
	afterProduce func(ctx context.Context, info hookInfo) error
}

// hookInfo is what afterProduce learns about the run.
type hookInfo struct {
	RunID       runID
	MessageSize int
	Topic       string
}

// Validate reports the first invalid field, naming it and the values it
// allows. Zero values are valid: they select defaults.
func (c Config) Validate() error {
	if err := c.Auth.Validate(); err != nil {
		return fmt.Errorf("smoke: Config.Auth: %w", err)
	}
	if len(c.Brokers) == 0 {
		return fmt.Errorf("smoke: Config.Brokers is empty: at least one bootstrap address host:port is required")
	}
	for i, b := range c.Brokers {
		if err := validateAddress(b); err != nil {
			return fmt.Errorf("smoke: Config.Brokers[%d] = %q: %w", i, b, err)
		}
	}
	if c.Topic != "" {
		if err := validateTopic(c.Topic); err != nil {
			return fmt.Errorf("smoke: Config.Topic = %q: %w", c.Topic, err)
		}
	}
	if c.ExpectedBrokers < 0 {
		return fmt.Errorf("smoke: Config.ExpectedBrokers = %d: must be 0 (do not check) or at least 1", c.ExpectedBrokers)
	}
	if c.Messages < 0 || c.Messages > MaxMessages {
		return fmt.Errorf("smoke: Config.Messages = %d: must be between 1 and %d (0 = default %d)", c.Messages, MaxMessages, DefaultMessages)
	}
	if c.MessageSize != 0 && (c.MessageSize < MinMessageSize || c.MessageSize > MaxMessageSize) {
		return fmt.Errorf("smoke: Config.MessageSize = %d: must be between %d and %d bytes (0 = default %d)", c.MessageSize, MinMessageSize, MaxMessageSize, DefaultMessageSize)
	}
	if c.Rate < 0 || c.Rate > MaxRate {
		return fmt.Errorf("smoke: Config.Rate = %d: must be between 1 and %d messages per second (0 = unlimited)", c.Rate, MaxRate)
	}
	if c.Partitions < 0 || c.Partitions > MaxPartitions {
		return fmt.Errorf("smoke: Config.Partitions = %d: must be between 1 and %d (0 = one per broker)", c.Partitions, MaxPartitions)
	}
	if c.ReplicationFactor < 0 || c.ReplicationFactor > maxReplicationFactor {
		return fmt.Errorf("smoke: Config.ReplicationFactor = %d: must be between 1 and the broker count (0 = min(3, brokers))", c.ReplicationFactor)
	}
	if c.Timeout != 0 && c.Timeout < time.Second {
		return fmt.Errorf("smoke: Config.Timeout = %s: must be at least 1s (0 = default %s)", c.Timeout, DefaultTimeout)
	}
	if c.DeliveryTimeout != 0 && c.DeliveryTimeout < time.Second {
		return fmt.Errorf("smoke: Config.DeliveryTimeout = %s: must be at least 1s (0 = default %s)", c.DeliveryTimeout, DefaultDeliveryTimeout)
	}
	if c.RequestTimeout != 0 && c.RequestTimeout < 100*time.Millisecond {
		return fmt.Errorf("smoke: Config.RequestTimeout = %s: must be at least 100ms (0 = default %s)", c.RequestTimeout, DefaultRequestTimeout)
	}
	return nil
}

// maxReplicationFactor is the largest value the Kafka protocol carries
// (int16); the real bound is the broker count, checked at run time.
const maxReplicationFactor = 32767

// withDefaults returns a copy of c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Topic == "" {
		c.Topic = DefaultTopic
	}
	if c.Messages == 0 {
		c.Messages = DefaultMessages
	}
	if c.MessageSize == 0 {
		c.MessageSize = DefaultMessageSize
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.DeliveryTimeout == 0 {
		c.DeliveryTimeout = DefaultDeliveryTimeout
	}
	if c.RequestTimeout > c.Timeout {
		c.RequestTimeout = c.Timeout
	}
	return c
}

func validateAddress(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("not host:port: %w", err)
	}
	if host == "" {
		return fmt.Errorf("host is empty (want host:port)")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q is not a number from 1 to 65535", port)
	}
	return nil
}

func validateTopic(topic string) error {
	if len(topic) > maxTopicLen {
		return fmt.Errorf("longer than %d characters", maxTopicLen)
	}
	if topic == "." || topic == ".." {
		return fmt.Errorf(`"." and ".." are not allowed`)
	}
	for _, r := range topic {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
		default:
			return fmt.Errorf("character %q not allowed (use a-z A-Z 0-9 . _ -)", r)
		}
	}
	return nil
}
