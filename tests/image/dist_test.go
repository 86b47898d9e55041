//go:build image

package image_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kafka-kraft/kafka-kraft/monitoring"
)

// distServerAddr serves the stand-in Apache download site. Fixed, not random: the URL is part of
// the legacy builder's cache key, and a new key every run would leave a new dist-stage image behind
// every run.
const distServerAddr = "127.0.0.1:32089"

// TestDistSourcesGiveSameLayout builds the image the way users do (KAFKA_DIST_SOURCE=apache:
// download the release tarball, verify its .sha512, and the metrics agent from Maven Central,
// verify its SHA-256) against local stand-ins for the Apache site and Maven Central serving the
// same jars, and checks that /opt/kafka is byte-identical to the offline
// build (KAFKA_DIST_SOURCE=context). A tarball or an agent whose checksum does not match must fail
// the build.
func TestDistSourcesGiveSameLayout(t *testing.T) {
	image := kafkaImage(t)
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	const version, scala = "4.4.0", "2.13"
	name := fmt.Sprintf("kafka_%s-%s", scala, version)
	tgz := tarball(t, filepath.Join(root, "docker", "dist", name, "libs"), name)
	sum := sha512.Sum512(tgz)
	mux := http.NewServeMux()
	mux.HandleFunc("/good/"+version+"/"+name+".tgz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(tgz) })
	mux.HandleFunc("/good/"+version+"/"+name+".tgz.sha512", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(gpgStyleSHA512(name+".tgz", sum[:])))
	})
	mux.HandleFunc("/bad/"+version+"/"+name+".tgz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(tgz) })
	mux.HandleFunc("/bad/"+version+"/"+name+".tgz.sha512", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = fmt.Fprintf(w, "%s  %s.tgz\n", strings.Repeat("0", 128), name)
	})
	// The stand-in for Maven Central serves the metrics agent the image pins (from docker/dist, where
	// scripts/fetch-kafka-dist.sh put it); /badmaven serves other bytes under the same name.
	agentName := "jmx_prometheus_javaagent-" + monitoring.ExporterVersion + ".jar"
	agent, err := os.ReadFile(filepath.Join(root, "docker", "dist", agentName))
	if err != nil {
		t.Fatal(err)
	}
	agentPath := "/io/prometheus/jmx/jmx_prometheus_javaagent/" + monitoring.ExporterVersion + "/" + agentName
	mux.HandleFunc("/maven"+agentPath, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(agent) })
	mux.HandleFunc("/badmaven"+agentPath, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(agent[:len(agent)/2]) })
	ln, err := net.Listen("tcp", distServerAddr)
	if err != nil {
		t.Fatalf("stand-in download site needs %s: %v", distServerAddr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	// The base the offline image was built on (the local JRE), from the image's own label.
	base := mustDocker(t, time.Minute, "image", "inspect", "-f", `{{index .Config.Labels "org.opencontainers.image.base.name"}}`, image)
	goImage := mustDocker(t, time.Minute, "image", "inspect", "-f", `{{index .Config.Labels "io.kafka-kraft.go-image"}}`, image)
	build := func(tag, urlPath, mavenPath string) (string, error) {
		// --network host: the build's RUN reaches the stand-in site on loopback (and apt's mirror).
		args := []string{"build", "--network", "host", "-t", tag,
			"--build-arg", "BASE_IMAGE=" + base, "--build-arg", "GO_IMAGE=" + goImage, "--build-arg", "KAFKA_DIST_SOURCE=apache",
			"--build-arg", "KAFKA_DIST_URL=http://" + distServerAddr + urlPath,
			"--build-arg", "MAVEN_URL=http://" + distServerAddr + mavenPath,
			"--build-arg", "KAFKA_VERSION=" + version, "--build-arg", "SCALA_VERSION=" + scala,
			filepath.Join(root, "docker")}
		return dockerBuild(t, 10*time.Minute, args...)
	}

	tag := "kafka-kraft/kafka:dist-source-test"
	t.Cleanup(func() { _, _ = dockerBuild(t, time.Minute, "image", "rm", tag) })
	if out, err := build(tag, "/good", "/maven"); err != nil {
		t.Fatalf("apache-source build failed: %v\n%s", err, out)
	}
	// Every file's path, owner, mode and content under /opt/kafka.
	layout := func(img string) string {
		return mustDocker(t, time.Minute, "run", "--rm", "--network", "none", "--entrypoint", "sh", img, "-c",
			`cd /opt/kafka && find . -exec stat -c '%n %U:%G %a' {} + | sort && find . -type f -exec sha256sum {} + | sort -k2`)
	}
	if got, want := layout(tag), layout(image); got != want {
		t.Errorf("KAFKA_DIST_SOURCE=apache and =context give different /opt/kafka trees:\napache:\n%s\ncontext:\n%s", got, want)
	}

	out, err := build("kafka-kraft/kafka:dist-source-bad", "/bad", "/maven")
	if err == nil {
		t.Fatalf("build with a wrong .sha512 succeeded:\n%s", out)
	}
	if !strings.Contains(out, "sha512 mismatch for "+name+".tgz") {
		t.Errorf("build failed without naming the checksum mismatch: %v\n%s", err, out)
	}
	out, err = build("kafka-kraft/kafka:dist-source-bad", "/good", "/badmaven")
	if err == nil {
		t.Fatalf("build with a metrics agent of another SHA-256 succeeded:\n%s", out)
	}
	if !strings.Contains(out, agentName+": FAILED") {
		t.Errorf("build failed without naming the agent's checksum mismatch: %v\n%s", err, out)
	}
}

// dockerBuild runs docker with a deadline and returns its output.
func dockerBuild(t *testing.T, timeout time.Duration, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return docker(ctx, args...)
}

// tarball packs libs the way the Apache release does: NAME/libs/*.jar, plus NAME/bin and
// NAME/config, which the image does not take.
func tarball(t *testing.T, libs, name string) []byte {
	t.Helper()
	entries, err := os.ReadDir(libs)
	if err != nil {
		t.Fatalf("%v (scripts/fetch-kafka-dist.sh fills it)", err)
	}
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	add := func(path string, mode int64, data []byte) {
		hdr := &tar.Header{Name: path, Mode: mode, Size: int64(len(data)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}
		if strings.HasSuffix(path, "/") {
			hdr.Typeflag, hdr.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	for _, dir := range []string{"", "bin/", "config/", "libs/"} {
		add(name+"/"+dir, 0o755, nil)
	}
	add(name+"/bin/kafka-server-start.sh", 0o755, []byte("#!/bin/bash\n"))
	add(name+"/config/server.properties", 0o644, []byte("process.roles=broker,controller\n"))
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(libs, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		add(name+"/libs/"+e.Name(), 0o644, data)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// gpgStyleSHA512 formats a checksum like the .sha512 files of older Apache Kafka releases
// (`gpg --print-md SHA512`): "FILE: " then upper-case groups of 8 hex digits over several lines.
func gpgStyleSHA512(file string, sum []byte) string {
	h := strings.ToUpper(hex.EncodeToString(sum))
	var b strings.Builder
	b.WriteString(file + ":")
	for i := 0; i < len(h); i += 8 {
		if i > 0 && i%64 == 0 {
			b.WriteString("\n" + strings.Repeat(" ", len(file)+1))
		}
		b.WriteString(" " + h[i:i+8])
	}
	b.WriteString("\n")
	return b.String()
}
