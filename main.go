// Command kafka-kraft is the Pulumi program (runtime: go) that deploys Apache Kafka in KRaft mode to
// Kubernetes. All of it lives in internal/stack so tests and the Automation API run the same code.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kafka-kraft/kafka-kraft/internal/stack"
)

func main() { pulumi.Run(stack.Program) }
