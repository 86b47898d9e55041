//go:build image

package image_test

import (
	"context"
	"testing"
	"time"

	"github.com/kafka-kraft/kafka-kraft/internal/smoke"
)

// TestLoadRidesOverABrokerRestart: the live producer of the change tests (smoke.Load) keeps
// producing to a one-node cluster whose only broker restarts: every partition stalls, then every
// partition must take writes again, and every acknowledged record is read back.
func TestLoadRidesOverABrokerRestart(t *testing.T) {
	image := kafkaImage(t)
	c := newCluster(t, image, testConfig(1, externalBase+7))
	addrs := c.externalAddrs()
	c.start(0)
	eventually(t, quorumTimeout, "broker 0 visible", func(ctx context.Context) error {
		return brokersVisible(ctx, addrs[0], c.rendered.ClusterID, 0)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	l, err := smoke.StartLoad(ctx, smoke.LoadConfig{Brokers: addrs, Topic: "restart", Partitions: 3, ReplicationFactor: 1, Rate: 500})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.WaitAcked(ctx, 1000); err != nil {
		t.Fatal(err)
	}
	c.restart(0)
	restarted := time.Now()
	wctx, wcancel := context.WithTimeout(ctx, 90*time.Second)
	defer wcancel()
	if err := l.WaitAcked(wctx, 3000); err != nil {
		t.Errorf("after the restart: %v (%+v)", err, l.Stats())
	}
	rep, err := l.Stop(ctx)
	t.Logf("restart -> %s; %s", time.Since(restarted).Round(100*time.Millisecond), rep)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Unacknowledged != 0 {
		t.Errorf("%d records unacknowledged after a plain restart (last error %v)", rep.Unacknowledged, rep.LastError)
	}
}
