//go:build image

package image_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kafka-kraft/kafka-kraft/internal/clientauth"
	"github.com/kafka-kraft/kafka-kraft/internal/kraft"
	"github.com/kafka-kraft/kafka-kraft/internal/pki"
)

// testLabel marks every container, network and volume the tier creates, so leftovers of a killed
// run can be found: docker rm -f $(docker ps -aq --filter label=kafka-kraft.test=image)
const testLabel = "kafka-kraft.test=image"

// docker runs the docker CLI and returns its trimmed stdout; stderr is part of the error.
// DOCKER_BUILDKIT=0: the docker CLI on our machines has no buildx plugin, so builds use the legacy builder.
func docker(ctx context.Context, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0", "DOCKER_CLI_HINTS=false")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// mustDocker is docker with a deadline that fails the test or benchmark on error.
func mustDocker(tb testing.TB, timeout time.Duration, args ...string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := docker(ctx, args...)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// images are the images under test.
type images struct{ kafka, kcat string }

var (
	imagesOnce sync.Once
	imagesRef  images
	imagesErr  error
)

// kafkaImage returns the Kafka image under test. A fresh machine builds it with
// scripts/build-images.sh (cached steps, so later runs take seconds); KAFKA_IMAGE and KCAT_IMAGE
// name images built beforehand (e.g. by `make image`). Without a Docker engine the test fails,
// saying so.
func kafkaImage(t *testing.T) string {
	t.Helper()
	return testImages(t).kafka
}

func testImages(t *testing.T) images {
	t.Helper()
	imagesOnce.Do(func() { imagesRef, imagesErr = prepareImages() })
	if imagesErr != nil {
		t.Fatalf("image tier cannot run: %v", imagesErr)
	}
	return imagesRef
}

func prepareImages() (images, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := exec.LookPath("docker"); err != nil {
		return images{}, fmt.Errorf("no docker CLI on PATH (run scripts/install-docker.sh as root): %w", err)
	}
	if _, err := docker(ctx, "info", "--format", "{{.ServerVersion}}"); err != nil {
		return images{}, fmt.Errorf("no Docker engine answers (run scripts/install-docker.sh as root): %w", err)
	}
	removeLeftovers(ctx, testLabel)
	if os.Getenv("KAFKA_IMAGE") != "" || os.Getenv("KCAT_IMAGE") != "" {
		imgs := images{kafka: os.Getenv("KAFKA_IMAGE"), kcat: os.Getenv("KCAT_IMAGE")}
		for name, ref := range map[string]string{"KAFKA_IMAGE": imgs.kafka, "KCAT_IMAGE": imgs.kcat} {
			if ref == "" {
				return images{}, fmt.Errorf("set both KAFKA_IMAGE and KCAT_IMAGE (as printed by scripts/build-images.sh), or neither; %s is empty", name)
			}
			if _, err := docker(ctx, "image", "inspect", ref); err != nil {
				return images{}, fmt.Errorf("%s=%s does not exist in the engine: %w", name, ref, err)
			}
		}
		return imgs, nil
	}
	return buildImages()
}

// buildImages runs scripts/build-images.sh and returns the images it reports.
func buildImages() (images, error) {
	root, err := repoRoot()
	if err != nil {
		return images{}, err
	}
	// A cold build (debootstrap, apt, Maven) takes minutes; progress goes to the test's stderr.
	bctx, bcancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer bcancel()
	start := time.Now()
	var stdout bytes.Buffer
	cmd := exec.CommandContext(bctx, filepath.Join(root, "scripts", "build-images.sh"))
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return images{}, fmt.Errorf("scripts/build-images.sh: %w", err)
	}
	var imgs images
	for _, line := range strings.Split(stdout.String(), "\n") {
		if ref, ok := strings.CutPrefix(line, "KAFKA_IMAGE="); ok {
			imgs.kafka = ref
		}
		if ref, ok := strings.CutPrefix(line, "KCAT_IMAGE="); ok {
			imgs.kcat = ref
		}
	}
	if imgs.kafka == "" || imgs.kcat == "" {
		return images{}, fmt.Errorf("scripts/build-images.sh printed no KAFKA_IMAGE= and KCAT_IMAGE= lines:\n%s", stdout.String())
	}
	fmt.Fprintf(os.Stderr, "TIMING image build (scripts/build-images.sh): %s\n", time.Since(start).Round(time.Second))
	return imgs, nil
}

// removeLeftovers removes the containers labelled label: leftovers of a run that was killed
// before its cleanup would hold the host ports.
func removeLeftovers(ctx context.Context, label string) {
	if ids, _ := docker(ctx, "ps", "-aq", "--filter", "label="+label); ids != "" {
		_, _ = docker(ctx, append([]string{"rm", "-f", "-v"}, strings.Fields(ids)...)...)
	}
}

// repoRoot is the module root: two levels above this file.
func repoRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("cannot locate the test source file")
	}
	root := filepath.Join(filepath.Dir(file), "..", "..")
	if _, err := os.Stat(filepath.Join(root, "scripts", "build-images.sh")); err != nil {
		return "", fmt.Errorf("repository root not found from %s: %w", file, err)
	}
	return root, nil
}

// cluster is a set of Kafka containers on their own docker network, laid out as the StatefulSet
// lays out pods: hostname kafka-N, DNS name kafka-N.kafka-svc.<ns>.svc.cluster.local, the rendered
// ConfigMap at /etc/kafka-kraft, one data volume per node, EXTERNAL published on 127.0.0.1.
type cluster struct {
	t        testing.TB
	label    string // docker label of every object the cluster creates: testLabel, or benchLabel
	image    string
	prefix   string // unique name prefix of this cluster's docker objects
	network  string
	cfg      kraft.Config
	rendered kraft.Rendered
	confDir  string
	// With security on: the stack's secret material, and the directories standing in for the CA
	// and users Secrets (mounted where the StatefulSet and the Job mount them).
	state    pki.State
	tlsDir   string
	usersDir string
	// setPodName passes POD_NAME like the StatefulSet does; false exercises the hostname fallback.
	setPodName bool
	// env are more -e NAME=VALUE settings of the node containers.
	env []string

	mu         sync.Mutex
	containers []string // every container created, for logs and cleanup
	volumes    []string
}

// newCluster renders cfg with the core, writes the files and creates the network, labelling its
// docker objects testLabel. Cleanup removes everything and dumps container logs when the test
// failed.
func newCluster(t testing.TB, image string, cfg kraft.Config) *cluster {
	t.Helper()
	return newLabelledCluster(t, image, cfg, testLabel)
}

// newLabelledCluster is newCluster with the docker label of the cluster's objects: the benchmark
// uses benchLabel, so that prepareImages' sweep of testLabel leftovers does not remove its cluster.
func newLabelledCluster(t testing.TB, image string, cfg kraft.Config, label string) *cluster {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("core rejected the test config: %v", err)
	}
	c := &cluster{
		t:          t,
		label:      label,
		image:      image,
		prefix:     fmt.Sprintf("kit%d-%s", os.Getpid(), strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))),
		cfg:        cfg,
		rendered:   kraft.Render(cfg),
		confDir:    t.TempDir(),
		setPodName: true,
	}
	for name, content := range c.rendered.Files {
		if err := os.WriteFile(filepath.Join(c.confDir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The container user (uid 1001) must read the mounted ConfigMap stand-in.
	if err := os.Chmod(c.confDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if cfg.Security.Enabled() {
		c.setSecrets(cfg.Security)
	}
	c.network = c.prefix + "-net"
	mustDocker(t, time.Minute, "network", "create", "--label", c.label, c.network)
	t.Cleanup(c.cleanup)
	return c
}

// setSecrets makes the stack's secret material as the program does and writes the CA and the
// users file where the containers mount them.
func (c *cluster) setSecrets(sec kraft.Security) {
	c.t.Helper()
	st, err := pki.State{}.Complete("kafka-kraft image-test", time.Now(), 24*time.Hour,
		pki.Users(sec.Users, func(u kraft.User) bool { return u.Password != "" }), rand.Reader)
	if err != nil {
		c.t.Fatal(err)
	}
	c.state = st
	c.tlsDir, c.usersDir = c.t.TempDir(), c.t.TempDir()
	c.writeSecretDir(c.tlsDir, map[string]string{kraft.TLSCACertFile: st.CACert, kraft.TLSCAKeyFile: st.CAKey})
	c.setUsers(sec)
}

// setUsers rewrites the users file (the users Secret) for sec.
func (c *cluster) setUsers(sec kraft.Security) {
	c.t.Helper()
	c.writeSecretDir(c.usersDir, map[string]string{kraft.UsersFileName: kraft.UsersFile(sec, c.state.AdminPassword, c.state.Passwords)})
}

// writeSecretDir writes files readable by the container user (uid 1001): in a test's temporary
// directory, where only this machine's users can reach them.
func (c *cluster) writeSecretDir(dir string, files map[string]string) {
	c.t.Helper()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			c.t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		c.t.Fatal(err)
	}
}

// runClusterJob runs the cluster-settings Job's command (kraft.ClusterJobCommand) in a container
// on the cluster's network, with the Secrets mounted as the Job has them, and returns its output.
func (c *cluster) runClusterJob() (string, error) {
	c.t.Helper()
	cmd := kraft.ClusterJobCommand(c.cfg)
	args := []string{"run", "--rm", "--label", c.label, "--network", c.network, "--user", "1001:1001", "--entrypoint", cmd[0]}
	if c.tlsDir != "" {
		args = append(args, "-v", c.tlsDir+":"+kraft.TLSMountPath+":ro", "-v", c.usersDir+":"+kraft.UsersMountPath+":ro")
	}
	args = append(append(args, c.image), cmd[1:]...)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	return docker(ctx, append(args, "-timeout", "3m")...)
}

// externalAuth is the admin's credentials for the EXTERNAL listener (the zero Auth without security).
func (c *cluster) externalAuth() clientauth.Auth {
	if c.tlsDir == "" {
		return clientauth.Auth{}
	}
	return clientauth.Auth{CACert: c.state.CACert, Username: kraft.AdminUser, Password: c.state.AdminPassword}
}

func (c *cluster) container(ordinal int) string { return fmt.Sprintf("%s-kafka-%d", c.prefix, ordinal) }
func (c *cluster) volume(ordinal int) string    { return fmt.Sprintf("%s-data-%d", c.prefix, ordinal) }

// externalAddr is the host address of a node's EXTERNAL listener, as advertised.
func (c *cluster) externalAddr(ordinal int) string {
	return fmt.Sprintf("%s:%d", c.cfg.ExternalHost, c.cfg.ExternalNodePortBase+ordinal)
}

func (c *cluster) externalAddrs() []string {
	addrs := make([]string, c.cfg.Replicas)
	for i := range addrs {
		addrs[i] = c.externalAddr(i)
	}
	return addrs
}

// runArgs are the `docker run` arguments of a node container; name and clusterID may differ from
// the node's own to point a container at another node's data or another cluster id.
func (c *cluster) runArgs(name string, ordinal int, clusterID string, publish bool) []string {
	args := []string{"run", "-d", "--name", name, "--label", c.label,
		"--hostname", kraft.PodName(ordinal),
		"--network", c.network, "--network-alias", kraft.PodHost(ordinal, c.cfg.Namespace, c.cfg.ClusterDomain),
		"-e", "KAFKA_CLUSTER_ID=" + clusterID,
		"-e", "KAFKA_HEAP_OPTS=" + c.cfg.Resources.HeapOpts,
		"-v", c.confDir + ":" + kraft.ConfigMountPath + ":ro",
		"-v", c.volume(ordinal) + ":" + kraft.DataMountPath,
	}
	if c.setPodName {
		args = append(args, "-e", "POD_NAME="+kraft.PodName(ordinal))
	}
	for _, e := range c.env {
		args = append(args, "-e", e)
	}
	if c.tlsDir != "" {
		args = append(args, "-v", c.tlsDir+":"+kraft.TLSMountPath+":ro",
			"-e", "KAFKA_TLS_DIR="+kraft.TLSMountPath,
			"-e", "KAFKA_TLS_NAMES="+strings.Join(kraft.TLSNames(c.cfg), ","),
			"-e", fmt.Sprintf("KAFKA_TLS_DAYS=%d", kraft.NodeCertDays))
	}
	if publish {
		args = append(args, "-p", fmt.Sprintf("127.0.0.1:%d:%d", c.cfg.ExternalNodePortBase+ordinal, kraft.ExternalPort))
	}
	return append(args, c.image)
}

// start creates and starts node containers (each with a fresh labelled volume).
func (c *cluster) start(ordinals ...int) {
	c.t.Helper()
	for _, n := range ordinals {
		mustDocker(c.t, time.Minute, "volume", "create", "--label", c.label, c.volume(n))
		c.track(c.container(n), c.volume(n))
		mustDocker(c.t, time.Minute, c.runArgs(c.container(n), n, c.rendered.ClusterID, true)...)
	}
}

func (c *cluster) track(container, volume string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if container != "" {
		c.containers = append(c.containers, container)
	}
	if volume != "" {
		c.volumes = append(c.volumes, volume)
	}
}

// stop stops a node gracefully: Kafka's controlled shutdown needs more than docker's default 10s
// on a busy machine.
func (c *cluster) stop(ordinal int) {
	c.t.Helper()
	mustDocker(c.t, 2*time.Minute, "stop", "-t", "60", c.container(ordinal))
}

func (c *cluster) restart(ordinal int) {
	c.t.Helper()
	mustDocker(c.t, 2*time.Minute, "restart", "-t", "60", c.container(ordinal))
}

func (c *cluster) startStopped(ordinal int) {
	c.t.Helper()
	mustDocker(c.t, time.Minute, "start", c.container(ordinal))
}

func (c *cluster) logs(container string) string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", "logs", container).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("(docker logs %s: %v)\n%s", container, err, out)
	}
	return string(out)
}

// readDataFile reads a file from a node's data volume with a throwaway container, so it works
// whether the node runs or not and never goes through the entrypoint.
func (c *cluster) readDataFile(ordinal int, name string) string {
	c.t.Helper()
	return mustDocker(c.t, time.Minute, "run", "--rm", "--label", c.label, "--network", "none",
		"--entrypoint", "cat", "-v", c.volume(ordinal)+":"+kraft.DataMountPath+":ro",
		c.image, kraft.LogDir+"/"+name)
}

// kcat runs the kcat image on the cluster's network, as the kcat Deployment runs in the
// namespace, and returns its output.
func (c *cluster) kcat(kcatImage string, args ...string) string {
	c.t.Helper()
	name := fmt.Sprintf("%s-kcat-%d", c.prefix, time.Now().UnixNano())
	c.track(name, "")
	return mustDocker(c.t, 2*time.Minute, append([]string{"run", "--name", name, "--label", c.label,
		"--network", c.network, kcatImage, "kcat"}, args...)...)
}

// waitExit waits for a container to stop and returns its exit code.
func (c *cluster) waitExit(container string, timeout time.Duration) int {
	c.t.Helper()
	out := mustDocker(c.t, timeout, "wait", container)
	code, err := strconv.Atoi(out)
	if err != nil {
		c.t.Fatalf("docker wait %s: unexpected output %q", container, out)
	}
	return code
}

func (c *cluster) cleanup() {
	c.mu.Lock()
	containers, volumes, network := c.containers, c.volumes, c.network
	// Idempotent: a benchmark removes a cluster before the next, then t.Cleanup calls it again.
	c.containers, c.volumes, c.network = nil, nil, ""
	c.mu.Unlock()
	if network == "" {
		return
	}
	// IMAGE_TEST_LOG_DIR keeps every container's logs, e.g. to study start-up timings of a passing run.
	if dir := os.Getenv("IMAGE_TEST_LOG_DIR"); dir != "" {
		for _, name := range containers {
			if err := os.WriteFile(filepath.Join(dir, name+".log"), []byte(c.logs(name)), 0o644); err != nil {
				c.t.Logf("IMAGE_TEST_LOG_DIR: %v", err)
			}
		}
	}
	if c.t.Failed() {
		for _, name := range containers {
			logs := c.logs(name)
			if lines := strings.Split(logs, "\n"); len(lines) > 400 {
				logs = fmt.Sprintf("(first %d lines cut)\n", len(lines)-400) + strings.Join(lines[len(lines)-400:], "\n")
			}
			c.t.Logf("==== docker logs %s ====\n%s", name, logs)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if len(containers) > 0 {
		if _, err := docker(ctx, append([]string{"rm", "-f", "-v"}, containers...)...); err != nil {
			c.t.Logf("cleanup: %v", err)
		}
	}
	if len(volumes) > 0 {
		if _, err := docker(ctx, append([]string{"volume", "rm", "-f"}, volumes...)...); err != nil {
			c.t.Logf("cleanup: %v", err)
		}
	}
	if _, err := docker(ctx, "network", "rm", network); err != nil {
		c.t.Logf("cleanup: %v", err)
	}
}
