// Command smoke checks a deployed Kafka cluster end to end and measures it:
// metadata (broker count, controller, advertised addresses), topic setup,
// produce with acks=all, consume and verify (nothing lost, duplicated,
// corrupted or reordered), throughput and produce latency.
//
//	go run ./cmd/smoke                              # brokers from `pulumi stack output externalBootstrapServers --stack dev`
//	go run ./cmd/smoke -brokers host:9094 -expect-brokers 3 -json
//	KAFKA_PASSWORD=... go run ./cmd/smoke -brokers host:31090 -ca ca.crt -user orders
//
// Without -brokers the CA and the admin user's credentials come from the stack's outputs too.
//
// It exits 0 when the run passes, 1 when it fails (the reason is printed on
// stderr, and in the JSON report with -json) and 2 on bad flags. The logic
// lives in internal/smoke.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/kafka-kraft/kafka-kraft/internal/clientauth"
	"github.com/kafka-kraft/kafka-kraft/internal/smoke"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process: it parses args, runs the smoke test and
// returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("smoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		brokers   = fs.String("brokers", "", "bootstrap addresses host:port,... (default: the stack output "+smoke.StackOutput+")")
		stack     = fs.String("stack", "dev", "Pulumi stack to read the bootstrap addresses from when -brokers is not given")
		cfg       smoke.Config
		jsonOut   = fs.Bool("json", false, "print a machine-readable JSON report on stdout instead of the summary")
		quiet     = fs.Bool("quiet", false, "no progress lines on stderr")
		caFile    = fs.String("ca", "", "with -brokers: PEM CA file to verify the brokers with (TLS); the stack's caCertificate otherwise")
		outputs   = fs.String("outputs", "", "a file of the stack's outputs as JSON with the secrets shown (kafka-kraft -show-secrets outputs, pulumi stack output --json --show-secrets): brokers and credentials from it")
		user      = fs.String("user", "", "with -brokers: SCRAM-SHA-512 user (its password in $KAFKA_PASSWORD); the stack's admin user otherwise")
		sizeUsage = fmt.Sprintf("bytes per message value, %d to %d", smoke.MinMessageSize, smoke.MaxMessageSize)
	)
	fs.StringVar(&cfg.Topic, "topic", smoke.DefaultTopic, "topic to use; created if missing, reused if present")
	fs.IntVar(&cfg.ExpectedBrokers, "expect-brokers", 0, "number of brokers the metadata must list (0 = do not check)")
	fs.IntVar(&cfg.Messages, "messages", smoke.DefaultMessages, "messages to produce and verify")
	fs.IntVar(&cfg.MessageSize, "size", smoke.DefaultMessageSize, sizeUsage)
	fs.IntVar(&cfg.Rate, "rate", 0, "cap the produce rate in messages per second (0 = as fast as possible), like kafka-producer-perf-test --throughput")
	fs.IntVar(&cfg.Partitions, "partitions", 0, "partitions of a topic the run creates (0 = one per broker)")
	fs.IntVar(&cfg.ReplicationFactor, "replication-factor", 0, "replication factor of a topic the run creates (0 = min(3, brokers))")
	fs.DurationVar(&cfg.Timeout, "timeout", smoke.DefaultTimeout, "deadline of the whole run")
	fs.DurationVar(&cfg.RequestTimeout, "request-timeout", smoke.DefaultRequestTimeout, "deadline of each network call")
	fs.DurationVar(&cfg.DeliveryTimeout, "delivery-timeout", smoke.DefaultDeliveryTimeout, "how long a message is retried before the producer gives up on it, like the Java producer's delivery.timeout.ms (rides over a leader failover)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: smoke [flags]\n\nSmoke-tests and benchmarks a Kafka cluster: produce with acks=all, consume, verify.\n\n"+
			"Produce latency is per message, measured as kafka-producer-perf-test measures it: from the moment\n"+
			"the message is handed to the producer until the produce request that carried it is acknowledged\n"+
			"by every in-sync replica (batching, waiting behind the request in flight and retries included).\n"+
			"The producer keeps one request in flight per partition and sends whatever accumulated meanwhile.\n"+
			"Messages the producer gave up on (after -delivery-timeout) are reported apart from lost ones;\n"+
			"duplicates left by a retried request are reported, not failed (kafka-go has no idempotence).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "smoke: unexpected arguments %q\n", fs.Args())
		fs.Usage()
		return 2
	}

	if *outputs != "" {
		raw, err := os.ReadFile(*outputs)
		if err == nil {
			cfg.Brokers, cfg.Auth, err = smoke.ParseStackOutputs(raw)
		}
		if err != nil {
			fmt.Fprintf(stderr, "smoke: -outputs %s: %v\n", *outputs, err)
			return 2
		}
	} else if *brokers != "" {
		list, err := smoke.ParseBrokers(*brokers)
		if err != nil {
			fmt.Fprintf(stderr, "smoke: -brokers: %v\n", err)
			return 2
		}
		cfg.Brokers = list
		if cfg.Auth, err = clientauth.FromFlags(*caFile, *user, os.Getenv); err != nil {
			fmt.Fprintf(stderr, "smoke: %v\n", err)
			return 2
		}
	} else {
		list, err := smoke.StackBrokers(ctx, "pulumi", *stack)
		if err != nil {
			hint := "pass -brokers host:port,... or deploy the stack first"
			if errors.Is(err, smoke.ErrNoPulumi) {
				hint = "install the pulumi CLI or pass -brokers host:port,..."
			}
			return fail(stdout, stderr, *jsonOut, nil, fmt.Errorf("smoke: no -brokers given and reading them from stack %q failed: %w (%s)", *stack, err, hint))
		}
		cfg.Brokers = list
		if cfg.Auth, err = smoke.StackAuth(ctx, "pulumi", *stack); err != nil {
			return fail(stdout, stderr, *jsonOut, nil, fmt.Errorf("smoke: reading the credentials from stack %q: %w", *stack, err))
		}
	}
	if !*quiet {
		fmt.Fprintf(stderr, "smoke: %s, %s\n", strings.Join(cfg.Brokers, ","), cfg.Auth)
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if !*quiet {
		cfg.Progress = stderr
	}

	res, err := smoke.Run(ctx, cfg)
	if err != nil {
		return fail(stdout, stderr, *jsonOut, res, err)
	}
	if *jsonOut {
		return report(stdout, stderr, res, nil)
	}
	if err := res.WriteSummary(stdout); err != nil {
		fmt.Fprintf(stderr, "smoke: write summary: %v\n", err)
		return 1
	}
	return 0
}

// fail prints err on stderr (and the JSON report with -json) and returns 1.
func fail(stdout, stderr io.Writer, jsonOut bool, res *smoke.Result, err error) int {
	fmt.Fprintf(stderr, "FAIL %v\n", err)
	if jsonOut {
		report(stdout, stderr, res, err)
	}
	return 1
}

// report prints the JSON report; it returns 0 only for a passing run.
func report(stdout, stderr io.Writer, res *smoke.Result, runErr error) int {
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(smoke.NewReport(res, runErr)); err != nil {
		fmt.Fprintf(stderr, "smoke: write JSON report: %v\n", err)
		return 1
	}
	if runErr != nil {
		return 1
	}
	return 0
}
