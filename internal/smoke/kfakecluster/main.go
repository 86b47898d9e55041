// Command kfakecluster starts franz-go's in-process kfake Kafka cluster for
// trying cmd/smoke without a real cluster. It prints the bootstrap list on
// stdout and serves until interrupted or -for has passed:
//
//	go run ./internal/smoke/kfakecluster -for 5m > /tmp/brokers &
//	go run ./cmd/smoke -brokers "$(cat /tmp/brokers)" -expect-brokers 3
//
// kfake keeps everything in memory and is not Apache Kafka: figures measured
// against it describe the client path only.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	brokers := flag.Int("brokers", 3, "number of brokers")
	lifetime := flag.Duration("for", 10*time.Minute, "stop after this long")
	flag.Parse()

	c, err := kfake.NewCluster(kfake.NumBrokers(*brokers))
	if err != nil {
		fmt.Fprintf(os.Stderr, "kfakecluster: %v\n", err)
		os.Exit(1)
	}
	defer c.Close()
	fmt.Println(strings.Join(c.ListenAddrs(), ","))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
	case <-time.After(*lifetime):
	}
}
