package stack

// Keeps what users read in step with the code: every config key and output is in README.md, and
// the committed stack file is a configuration the program accepts.

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

func TestReadmeDocumentsEveryKeyAndOutput(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, key := range Keys() {
		// A row of the configuration table starts with the key in backticks (cpu and memory share rows).
		if !regexp.MustCompile("(?m)^\\| (`[a-zA-Z]+` / )?`" + key + "`").MatchString(readme) {
			t.Errorf("README configuration table has no row for %q", key)
		}
	}
	for _, out := range []string{OutputBootstrapServers, OutputExternalBootstrapServers, OutputRegistry, OutputImage,
		OutputNamespace, OutputClusterID, OutputKcatCommand, OutputDeployed, OutputSecurityProtocol, OutputCACertificate,
		OutputAdminUser, OutputAdminPassword, OutputUserPasswords, OutputSecurityState, OutputRegistryUser, OutputRegistryPassword} {
		if !strings.Contains(readme, "| `"+out+"` |") {
			t.Errorf("README outputs table has no row for %q", out)
		}
	}
}

func TestCommittedDevStackIsValid(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../Pulumi.dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The file is flat `  kafka-kraft:key: value` lines; no YAML library needed for that.
	line := regexp.MustCompile(`^\s+kafka-kraft:([A-Za-z]+):\s*"?([^"]*)"?\s*$`)
	values := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if m := line.FindStringSubmatch(l); m != nil {
			values[m[1]] = m[2]
		}
	}
	if len(values) == 0 {
		t.Fatal("no kafka-kraft: keys found in Pulumi.dev.yaml")
	}
	if _, err := ParseSettings("kafka-kraft", "dev", func(k string) (string, bool) { v, ok := values[k]; return v, ok }); err != nil {
		t.Fatalf("Pulumi.dev.yaml is rejected by the program:\n%v", err)
	}
	for k := range values {
		known := false
		for _, key := range Keys() {
			known = known || key == k
		}
		if !known {
			t.Errorf("Pulumi.dev.yaml sets %q, which the program does not read", k)
		}
	}
}
