// Command existing-image is a Pulumi program of its own that uses kafka-kraft's components as a
// library: a namespace and a three-node KraftCluster running a Kafka image pushed before (built from
// kafka-kraft's docker/ folder), with no in-cluster registry and no kcat.
//
//	go run . credentials > creds.json   # once: the CA, the admin password, the name key
//	pulumi config set --secret credentials "$(cat creds.json)" && rm creds.json
//	pulumi config set image registry.example.com/kafka-kraft:4.4.0
//	pulumi config set --secret ordersAppPassword "$(openssl rand -base64 24)"
//	pulumi config set storageClass local-path   # optional: without it, hostPath volumes
//	pulumi up
package main

import (
	"encoding/json"
	"fmt"
	"os"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/kafka-kraft/kafka-kraft/components/kraftcluster"
)

func main() {
	if len(os.Args) == 2 && os.Args[1] == "credentials" {
		if err := printCredentials(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	pulumi.Run(Program)
}

// printCredentials prints new cluster credentials as JSON, for `pulumi config set --secret`.
func printCredentials() error {
	c, err := kraftcluster.NewCredentials("kafka-orders")
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(c)
}

// Program is the whole deployment.
func Program(ctx *pulumi.Context) error {
	cfg := config.New(ctx, "")
	var creds kraftcluster.Credentials
	// Kept in the stack's secret config: new credentials on every run would roll the nodes onto a
	// CA the running ones do not trust.
	if err := cfg.TryObject("credentials", &creds); err != nil {
		return fmt.Errorf("config %q: set it once from `go run . credentials` with `pulumi config set --secret credentials`: %w", "credentials", err)
	}

	const namespace = "orders-kafka"
	ns, err := corev1.NewNamespace(ctx, "orders-kafka", &corev1.NamespaceArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(namespace)},
	})
	if err != nil {
		return err
	}
	cluster, err := kraftcluster.New(ctx, "orders", &kraftcluster.Args{
		Image:     pulumi.String(cfg.Require("image")),
		Namespace: namespace,
		// Beside a default kafka-kraft stack on the same cluster, whose brokers use 31090 and up.
		ExternalNodePortBase: 31190,
		Storage:              kraftcluster.Storage{Size: "2Gi", Class: cfg.Get("storageClass")},
		Security: kraftcluster.Security{
			Credentials: creds,
			Users: map[string]kraftcluster.User{
				"orders-app": {
					Password: cfg.Require("ordersAppPassword"),
					ACLs: []kraftcluster.ACL{
						{Resource: "topic", Name: "orders", Pattern: "prefixed", Operations: []string{"read", "write", "create", "describe"}},
						{Resource: "group", Name: "orders", Pattern: "prefixed", Operations: []string{"read"}},
					},
				},
			},
		},
	}, pulumi.DependsOn([]pulumi.Resource{ns}))
	if err != nil {
		return err
	}
	ctx.Export("bootstrapServers", cluster.BootstrapServers)
	ctx.Export("externalBootstrapServers", cluster.ExternalBootstrapServers)
	ctx.Export("caCertificate", cluster.CACertificate)
	return nil
}
