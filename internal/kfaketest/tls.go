package kfaketest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafka-kraft/kafka-kraft/internal/pki"
)

// TLS returns the options of a kfake cluster that, like a kafka-kraft cluster with security
// "tls", takes only TLS (a certificate for 127.0.0.1 from a CA made by internal/pki) and
// SCRAM-SHA-512, with user as a super user, and the CA (PEM) its clients verify it with.
func TLS(t testing.TB, user, password string) (opts []kfake.Opt, caPEM string) {
	t.Helper()
	caPEM, caKeyPEM, err := pki.NewCA("kfake test", time.Now(), time.Hour, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := pki.ParseCert(caPEM)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := pem.Decode([]byte(caKeyPEM))
	caKey, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "broker"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return []kfake.Opt{
		kfake.TLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}),
		kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", user, password),
	}, caPEM
}
