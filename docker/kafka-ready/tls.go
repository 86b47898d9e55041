package main

// TLS for kafka-ready. With security on (kraft.SecurityTLS) the node listeners INTERNAL and
// CONTROLLER take only mutual TLS with certificates from the cluster CA:
//
//   - `kafka-ready cert` (run by kafka-entrypoint at every start) issues the node its certificate
//     from the CA mounted from the stack's Secret: ECDSA P-256, subject CN=kafka-node (the super
//     user principal "User:CN=kafka-node"), the pod's DNS names, the bootstrap Service, localhost
//     and the external host, valid for -days. It writes Kafka's PEM keystore: the PKCS#8 key, the
//     certificate and the CA.
//   - the probe finds the keystore and the truststore in the node's server.properties and speaks
//     TLS when the inter-broker listener is SSL;
//   - `kafka-ready cluster -tls-ca-dir DIR` issues itself a short-lived client certificate the same
//     way (it runs in a Job, with the same Secret mounted).
//
// Issuing at start, instead of keeping per-node certificates in the stack, means a node never
// runs on a certificate older than its last restart, and adding a node needs nothing issued for it.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// nodeCN is kraft.NodeCertCN.
const nodeCN = "kafka-node"

// tlsConfig, when set, makes roundTrip speak TLS.
var tlsConfig *tls.Config

// loadCA reads ca.crt and ca.key from dir.
func loadCA(dir string) (*x509.Certificate, any, []byte, error) {
	certPEM, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		return nil, nil, nil, err
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, "ca.key"))
	if err != nil {
		return nil, nil, nil, err
	}
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, nil, nil, fmt.Errorf("%s/ca.crt: no PEM certificate", dir)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s/ca.crt: %w", dir, err)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, nil, nil, fmt.Errorf("%s/ca.key: no PEM key", dir)
	}
	key, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s/ca.key: %w", dir, err)
	}
	return cert, key, certPEM, nil
}

// issue makes a key and a certificate for names (DNS names or IP addresses) signed by the CA,
// valid from an hour ago (clock skew) for validity, for TLS servers and clients alike. It returns
// the PEM keystore: key, certificate, CA certificate.
func issue(ca *x509.Certificate, caKey any, caPEM []byte, names []string, now time.Time, validity time.Duration) ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: nodeCN},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if tmpl.NotAfter.After(ca.NotAfter) {
		tmpl.NotAfter = ca.NotAfter
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if n != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	pub := key.Public()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, pub, caKey)
	if err != nil {
		return nil, fmt.Errorf("signing the certificate: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
	out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	return append(out, caPEM...), nil
}

// clientTLS is the TLS config of a client holding keystore (PEM key and certificates) and
// trusting the CA certificates in truststore.
func clientTLS(keystore, truststore []byte) (*tls.Config, error) {
	pair, err := tls.X509KeyPair(keystore, keystore)
	if err != nil {
		return nil, fmt.Errorf("keystore: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(truststore) {
		return nil, errors.New("truststore: no PEM certificate")
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: pool, MinVersion: tls.VersionTLS13}, nil
}

// selfIssuedTLS is the TLS config of a client with a fresh certificate from the CA in dir.
func selfIssuedTLS(dir string, validity time.Duration) (*tls.Config, error) {
	ca, key, caPEM, err := loadCA(dir)
	if err != nil {
		return nil, err
	}
	ks, err := issue(ca, key, caPEM, nil, time.Now(), validity)
	if err != nil {
		return nil, err
	}
	return clientTLS(ks, caPEM)
}

// probeTLS returns the TLS config the probe needs for the node configured by props: nil when the
// inter-broker listener is not SSL.
func probeTLS(props map[string]string) (*tls.Config, error) {
	listener := props["inter.broker.listener.name"]
	if listener == "" {
		listener = "PLAINTEXT"
	}
	// A listener missing from the map is one named after its protocol (PLAINTEXT, SSL).
	protocol := listener
	if !strings.EqualFold(listener, "SSL") {
		protocol = "PLAINTEXT"
	}
	for _, m := range strings.Split(props["listener.security.protocol.map"], ",") {
		if name, p, ok := strings.Cut(strings.TrimSpace(m), ":"); ok && strings.EqualFold(name, listener) {
			protocol = p
		}
	}
	switch strings.ToUpper(protocol) {
	case "PLAINTEXT":
		return nil, nil
	case "SSL":
	default:
		return nil, fmt.Errorf("inter-broker listener %s is %s: the probe speaks PLAINTEXT and SSL only", listener, protocol)
	}
	ks, err := os.ReadFile(props["ssl.keystore.location"])
	if err != nil {
		return nil, fmt.Errorf("keystore: %w", err)
	}
	ts, err := os.ReadFile(props["ssl.truststore.location"])
	if err != nil {
		return nil, fmt.Errorf("truststore: %w", err)
	}
	return clientTLS(ks, ts)
}

// certCommand is `kafka-ready cert`; it returns the exit code.
func certCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kafka-ready cert", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		caDir = fs.String("ca-dir", "", "directory with ca.crt and ca.key (required)")
		names = fs.String("names", "", "comma-separated DNS names and IP addresses; @POD@ is replaced by -pod")
		pod   = fs.String("pod", "", "the pod's name")
		days  = fs.Int("days", 365, "validity in days (capped at the CA's)")
		out   = fs.String("out", "", "PEM keystore to write: key, certificate, CA (required)")
	)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *caDir == "" || *out == "" || *days < 1 {
		fmt.Fprintln(stderr, "kafka-ready cert: -ca-dir and -out are required, -days at least 1")
		return 2
	}
	ca, key, caPEM, err := loadCA(*caDir)
	if err != nil {
		fmt.Fprintf(stderr, "kafka-ready cert: %v\n", err)
		return 1
	}
	var list []string
	for _, n := range strings.Split(*names, ",") {
		if n = strings.TrimSpace(strings.ReplaceAll(n, "@POD@", *pod)); n != "" {
			list = append(list, n)
		}
	}
	ks, err := issue(ca, key, caPEM, list, time.Now(), time.Duration(*days)*24*time.Hour)
	if err == nil {
		err = os.MkdirAll(filepath.Dir(*out), 0o700)
	}
	if err == nil {
		// Written aside and renamed: a reader never sees half a keystore.
		tmp := *out + ".tmp"
		if err = os.WriteFile(tmp, ks, 0o600); err == nil {
			err = os.Rename(tmp, *out)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "kafka-ready cert: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "issued %s for %s (CN=%s, %d days, CA %q)\n", *out, strings.Join(list, ", "), nodeCN, *days, ca.Subject.CommonName)
	return 0
}
