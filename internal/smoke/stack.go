package smoke

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// StackOutput is the Pulumi stack output that holds the external bootstrap
// addresses of the cluster.
const StackOutput = "externalBootstrapServers"

// stackLookupTimeout bounds the pulumi CLI call.
const stackLookupTimeout = time.Minute

// ErrNoPulumi is returned (wrapped) by StackBrokers when the pulumi CLI
// cannot be found.
var ErrNoPulumi = errors.New("pulumi CLI not found")

// StackBrokers reads the bootstrap addresses from the StackOutput output of
// a Pulumi stack by running `PULUMI stack output externalBootstrapServers
// --stack STACK --json`. pulumi is the CLI's name or path ("pulumi" finds it
// on PATH). It fails with an error wrapping ErrNoPulumi when the CLI is
// missing and with a clear error when the output is missing or empty.
func StackBrokers(ctx context.Context, pulumi, stack string) ([]string, error) {
	path, err := exec.LookPath(pulumi)
	if err != nil {
		return nil, fmt.Errorf("%w (looked for %q): %w", ErrNoPulumi, pulumi, err)
	}
	ctx, cancel := context.WithTimeout(ctx, stackLookupTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, "stack", "output", StackOutput, "--stack", stack, "--json")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("pulumi stack output %s --stack %s: %w: %s", StackOutput, stack, err, strings.TrimSpace(stderr.String()))
	}
	brokers, err := ParseBrokers(stdout.String())
	if err != nil {
		return nil, fmt.Errorf("pulumi stack output %s --stack %s: %w", StackOutput, stack, err)
	}
	return brokers, nil
}

// ParseBrokers parses a bootstrap address list: "host:port,host:port" (spaces
// allowed), a JSON string holding such a list, or a JSON array of addresses.
// It fails when no address is left.
func ParseBrokers(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	var list []string
	switch {
	case s == "null":
		// pulumi --json prints null for an output set to nothing.
	case strings.HasPrefix(s, "[") && json.Valid([]byte(s)):
		// A JSON array; "[::1]:9092" (IPv6) is not valid JSON.
		if err := json.Unmarshal([]byte(s), &list); err != nil {
			return nil, fmt.Errorf("parse address list %q: %w", s, err)
		}
	case strings.HasPrefix(s, `"`):
		var one string
		if err := json.Unmarshal([]byte(s), &one); err != nil {
			return nil, fmt.Errorf("parse address list %q: %w", s, err)
		}
		list = []string{one}
	default:
		list = []string{s}
	}
	var out []string
	for _, item := range list {
		out = append(out, strings.FieldsFunc(item, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' })...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the address list is empty")
	}
	for _, a := range out {
		if err := validateAddress(a); err != nil {
			return nil, fmt.Errorf("address %q: %w", a, err)
		}
	}
	return out, nil
}
