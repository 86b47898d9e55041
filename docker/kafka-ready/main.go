// Command kafka-ready is the readiness probe of a kafka-kraft node. It answers "is it safe to
// restart the next node now?": exit 0 when this node's broker is registered and unfenced, back in
// the ISR of every partition it replicates, and (for a voter) caught up with the metadata quorum's
// leader; exit 1 otherwise, with the reason on stdout (the kubelet shows it in the pod's events).
//
// With it as the readiness probe, the StatefulSet's own RollingUpdate (one pod at a time, the next
// only once the previous is Ready) is a safe roll: a restarted broker is not Ready until it has
// caught up, so the roll never takes a second replica of a partition out of the ISR.
//
// It reads the node's merged server.properties (written by kafka-entrypoint) for node.id,
// process.roles and the inter-broker listener's port, and asks the local broker: Metadata (its own
// view, which is what clients get from it) and DescribeQuorum (forwarded to the active controller).
// Usage:
//
//	kafka-ready [-config /tmp/kafka/server.properties] [-addr 127.0.0.1:9092] [-timeout 3s] [-max-quorum-lag 1000]
//	kafka-ready cluster -bootstrap host:port,... -brokers N [-set key=value ...] [-internal-rf N] [-tls-ca-dir DIR] [-users FILE]
//	kafka-ready cert -ca-dir DIR -names a,b,... -pod NAME -out FILE [-days N]
//
// The second form (cluster.go) applies the cluster-wide settings a running cluster does not read
// from server.properties; KraftCluster runs it as a Job. The third (tls.go) issues the node's
// certificate at start. With the inter-broker listener on SSL the probe speaks TLS with the node's
// own certificate.
//
// It is a static binary with only the standard library, built into the image (docker/Dockerfile).
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "cluster" {
		return clusterCommand(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "cert" {
		return certCommand(args[1:], stdout, stderr)
	}

	fs := flag.NewFlagSet("kafka-ready", flag.ContinueOnError)
	fs.SetOutput(stderr)
	runtimeDir := os.Getenv("KAFKA_RUNTIME_DIR")
	if runtimeDir == "" {
		runtimeDir = "/tmp/kafka"
	}
	var (
		config  = fs.String("config", filepath.Join(runtimeDir, "server.properties"), "the node's merged server.properties")
		addr    = fs.String("addr", "", "broker address to ask (default 127.0.0.1:<port of the inter-broker listener>)")
		timeout = fs.Duration("timeout", 3*time.Second, "deadline of each request")
		maxLag  = fs.Int64("max-quorum-lag", 1000, "largest lag, in records behind the quorum's high watermark, of a voter that counts as caught up")
	)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	props, err := readProperties(*config)
	if err != nil {
		fmt.Fprintf(stdout, "not ready: %v\n", err)
		return 1
	}
	node, port, err := nodeOf(props)
	if err != nil {
		fmt.Fprintf(stdout, "not ready: %s: %v\n", *config, err)
		return 1
	}
	if *addr == "" {
		*addr = "127.0.0.1:" + port
	}
	if tlsConfig, err = probeTLS(props); err != nil {
		fmt.Fprintf(stdout, "not ready: %s: %v\n", *config, err)
		return 1
	}
	ready, why := probe(node, *addr, *timeout, *maxLag)
	if !ready {
		fmt.Fprintf(stdout, "not ready: %s\n", why)
		return 1
	}
	fmt.Fprintf(stdout, "ready: %s\n", why)
	return 0
}

// probe asks the broker at addr and evaluates the answers.
func probe(node Node, addr string, timeout time.Duration, maxLag int64) (bool, string) {
	var md *Metadata
	var q *Quorum
	if node.Broker {
		body, err := roundTrip(addr, timeout, apiMetadata, metadataVersion, encodeMetadataRequest())
		if err != nil {
			return false, fmt.Sprintf("metadata from %s: %v", addr, err)
		}
		if md, err = decodeMetadataResponse(body); err != nil {
			return false, fmt.Sprintf("metadata from %s: %v", addr, err)
		}
	}
	if node.Voter {
		body, err := roundTrip(addr, timeout, apiDescribeQuorum, describeQuorumVersion, encodeDescribeQuorumRequest())
		if err != nil {
			return false, fmt.Sprintf("describe quorum via %s: %v", addr, err)
		}
		if q, err = decodeDescribeQuorumResponse(body); err != nil {
			return false, fmt.Sprintf("via %s: %v", addr, err)
		}
	}
	return evaluate(node, md, q, maxLag)
}

// readProperties reads a java.util.Properties file well enough for the keys the probe needs: the
// last "key=value" (or "key: value") of each key, comments and blank lines skipped.
func readProperties(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("node configuration not written yet: %w", err)
	}
	defer f.Close()
	props := map[string]string{}
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		i := strings.IndexAny(line, "=:")
		if i < 0 {
			continue
		}
		props[strings.TrimSpace(line[:i])] = strings.TrimSpace(line[i+1:])
	}
	return props, s.Err()
}

// nodeOf derives the node and the inter-broker listener's port from the properties.
func nodeOf(props map[string]string) (Node, string, error) {
	id, err := strconv.ParseInt(props["node.id"], 10, 32)
	if err != nil {
		return Node{}, "", fmt.Errorf("node.id %q is not a number", props["node.id"])
	}
	n := Node{ID: int32(id)}
	for _, r := range strings.Split(props["process.roles"], ",") {
		switch strings.TrimSpace(r) {
		case "broker":
			n.Broker = true
		case "controller":
			n.Voter = true
		}
	}
	if !n.Broker {
		// Every kafka-kraft node is a broker; a controller-only node has no broker listener to ask.
		return n, "", fmt.Errorf("process.roles %q has no broker role", props["process.roles"])
	}
	name := props["inter.broker.listener.name"]
	if name == "" {
		name = "PLAINTEXT"
	}
	for _, l := range strings.Split(props["listeners"], ",") {
		l = strings.TrimSpace(l)
		if proto, hostPort, ok := strings.Cut(l, "://"); ok && proto == name {
			if i := strings.LastIndex(hostPort, ":"); i >= 0 {
				return n, hostPort[i+1:], nil
			}
		}
	}
	return n, "", fmt.Errorf("no %s listener in listeners %q", name, props["listeners"])
}
