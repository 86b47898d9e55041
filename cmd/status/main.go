// Command status shows how a deployed Kafka cluster is doing: brokers and their addresses, the
// KRaft quorum and its active controller, topics with partitions and replication factor,
// under-replicated and offline partitions, consumer groups and their lag.
//
//	go run ./cmd/status -outputs outputs.json       # what make status does (kafka-kraft -show-secrets outputs)
//	go run ./cmd/status -brokers host:31090 -json
//	KAFKA_PASSWORD=... go run ./cmd/status -brokers host:31090 -ca ca.crt -user admin -expect-brokers 3
//
// It exits 0 when the cluster is healthy, 1 when it found problems (the report is printed all the
// same) and 2 when it cannot read the cluster or the flags are wrong (the reason on stderr). The
// logic lives in internal/status.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/kafka-kraft/kafka-kraft/internal/clientauth"
	"github.com/kafka-kraft/kafka-kraft/internal/smoke"
	"github.com/kafka-kraft/kafka-kraft/internal/status"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitHealthy   = 0
	exitUnhealthy = 1
	exitError     = 2
)

// run is main without the process: it parses args, reads the cluster, prints the report and
// returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg     status.Config
		outputs = fs.String("outputs", "", "a file of the stack's outputs as JSON with the secrets shown (kafka-kraft -show-secrets outputs): brokers, credentials and the expected broker and voter counts from it")
		brokers = fs.String("brokers", "", "bootstrap addresses host:port,... (instead of -outputs)")
		caFile  = fs.String("ca", "", "with -brokers: PEM CA file to verify the brokers with (TLS)")
		user    = fs.String("user", "", "with -brokers: SCRAM-SHA-512 user (its password in $KAFKA_PASSWORD)")
		jsonOut = fs.Bool("json", false, "print the report as JSON instead of tables")
		timeout = fs.Duration("timeout", 30*time.Second, "deadline of the whole run")
	)
	fs.IntVar(&cfg.Expect.Brokers, "expect-brokers", 0, "brokers that must be registered (0 = do not check; default with -outputs: the stack's deployed.replicas)")
	fs.IntVar(&cfg.Expect.Controllers, "expect-controllers", 0, "voters the quorum must have (0 = do not check; default with -outputs: the stack's deployed.controllers)")
	fs.Int64Var(&cfg.Expect.MaxVoterLag, "max-voter-lag", status.DefaultMaxVoterLag, "records a voter may be behind the quorum leader")
	fs.DurationVar(&cfg.Expect.MaxFetchAge, "max-fetch-age", status.DefaultMaxFetchAge, "how long ago a voter may have last fetched from the quorum leader (on the leader's clock)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: status -outputs FILE | -brokers host:port,... [flags]\n\n"+
			"Shows a Kafka cluster's brokers, KRaft quorum, topics, under-replicated and offline partitions,\n"+
			"consumer groups and lag. Exits 0 when healthy, 1 when it finds problems, 2 when it cannot read\n"+
			"the cluster or on bad flags.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitHealthy
		}
		return exitError
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if err := configure(&cfg, set, *outputs, *brokers, *caFile, *user, fs.Args()); err != nil {
		fmt.Fprintf(stderr, "status: %v\n", err)
		return exitError
	}
	if *timeout <= 0 {
		fmt.Fprintf(stderr, "status: -timeout %s: must be positive\n", *timeout)
		return exitError
	}
	cfg.RequestTimeout = min(status.DefaultRequestTimeout, *timeout)
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(stderr, err)
		return exitError
	}

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	rep, err := status.Gather(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "%v\n", err)
		return exitError
	}
	write := status.WriteTable
	if *jsonOut {
		write = status.WriteJSON
	}
	if err := write(stdout, *rep); err != nil {
		fmt.Fprintf(stderr, "status: write the report: %v\n", err)
		return exitError
	}
	if !rep.Healthy {
		return exitUnhealthy
	}
	return exitHealthy
}

// configure fills cfg's brokers, credentials and expectations from -outputs or -brokers; flags
// given explicitly (set) win over the stack's deployed counts.
func configure(cfg *status.Config, set map[string]bool, outputs, brokers, caFile, user string, rest []string) error {
	switch {
	case len(rest) > 0:
		return fmt.Errorf("unexpected arguments %q", rest)
	case outputs != "" && (brokers != "" || caFile != "" || user != ""):
		return errors.New("-outputs gives the brokers and credentials: it goes without -brokers, -ca and -user")
	case outputs == "" && brokers == "":
		return errors.New("give -outputs FILE (the stack's outputs, as make status does) or -brokers host:port,host:port")
	case outputs != "":
		raw, err := os.ReadFile(outputs)
		if err != nil {
			return fmt.Errorf("-outputs: %w", err)
		}
		if cfg.Brokers, cfg.Auth, err = smoke.ParseStackOutputs(raw); err != nil {
			return fmt.Errorf("-outputs %s: %w", outputs, err)
		}
		deployed, err := status.ParseExpect(raw)
		if err != nil {
			return fmt.Errorf("-outputs %s: %w", outputs, err)
		}
		if !set["expect-brokers"] {
			cfg.Expect.Brokers = deployed.Brokers
		}
		if !set["expect-controllers"] {
			cfg.Expect.Controllers = deployed.Controllers
		}
		return nil
	}
	list, err := smoke.ParseBrokers(brokers)
	if err != nil {
		return fmt.Errorf("-brokers: %w", err)
	}
	cfg.Brokers = list
	cfg.Auth, err = clientauth.FromFlags(caFile, user, os.Getenv)
	return err
}
