package smoke

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/kafka-kraft/kafka-kraft/internal/clientauth"
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

// StackAuth reads a client's credentials from a Pulumi stack's outputs: with securityProtocol
// SASL_SSL, the CA (caCertificate) and the admin user (adminUser, adminPassword, read with
// --show-secrets); the zero Auth (PLAINTEXT) for a stack with security "none" or from before it.
func StackAuth(ctx context.Context, pulumi, stack string) (clientauth.Auth, error) {
	path, err := exec.LookPath(pulumi)
	if err != nil {
		return clientauth.Auth{}, fmt.Errorf("%w (looked for %q): %w", ErrNoPulumi, pulumi, err)
	}
	ctx, cancel := context.WithTimeout(ctx, stackLookupTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, "stack", "output", "--stack", stack, "--json", "--show-secrets")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return clientauth.Auth{}, fmt.Errorf("pulumi stack output --stack %s: %w: %s", stack, err, strings.TrimSpace(stderr.String()))
	}
	return ParseStackAuth(stdout.Bytes())
}

// ParseStackOutputs reads the bootstrap addresses (StackOutput) and the credentials (as
// ParseStackAuth) from a stack's outputs as JSON with the secrets shown.
func ParseStackOutputs(outputs []byte) ([]string, clientauth.Auth, error) {
	var o map[string]any
	if err := json.Unmarshal(outputs, &o); err != nil {
		return nil, clientauth.Auth{}, fmt.Errorf("the stack outputs are not JSON: %w", err)
	}
	raw, _ := o[StackOutput].(string)
	brokers, err := ParseBrokers(raw)
	if err != nil {
		return nil, clientauth.Auth{}, fmt.Errorf("output %s: %w", StackOutput, err)
	}
	auth, err := ParseStackAuth(outputs)
	return brokers, auth, err
}

// ParseStackAuth is StackAuth's reading of `pulumi stack output --json --show-secrets`.
func ParseStackAuth(outputs []byte) (clientauth.Auth, error) {
	var o struct {
		Protocol string `json:"securityProtocol"`
		CA       string `json:"caCertificate"`
		User     string `json:"adminUser"`
		Password string `json:"adminPassword"`
	}
	if err := json.Unmarshal(outputs, &o); err != nil {
		return clientauth.Auth{}, fmt.Errorf("the stack outputs are not JSON: %w", err)
	}
	switch o.Protocol {
	case "", "PLAINTEXT":
		return clientauth.Auth{}, nil
	case "SASL_SSL":
		a := clientauth.Auth{CACert: o.CA, Username: o.User, Password: o.Password}
		if o.CA == "" || o.User == "" || o.Password == "" || o.Password == "[secret]" {
			return clientauth.Auth{}, fmt.Errorf("securityProtocol is SASL_SSL but caCertificate, adminUser or adminPassword is missing from the outputs (read them with --show-secrets)")
		}
		return a, a.Validate()
	default:
		return clientauth.Auth{}, fmt.Errorf("securityProtocol %q: the smoke test speaks PLAINTEXT and SASL_SSL", o.Protocol)
	}
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
