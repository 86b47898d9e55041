package smoke

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestLoadRidesOverAnOutageAndVerifiesEveryAck: the live producer of the
// change tests keeps producing through a one-second outage (every produce
// answered NotLeaderForPartition), resumes, and Stop finds every
// acknowledged record in the log.
func TestLoadRidesOverAnOutageAndVerifiesEveryAck(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := StartLoad(ctx, LoadConfig{Brokers: c.ListenAddrs(), Topic: "live", Rate: 2000, MinInsyncReplicas: 2, MessageSize: 128})
	if err != nil {
		t.Fatalf("StartLoad: %v", err)
	}
	if err := l.WaitAcked(ctx, 500); err != nil {
		t.Fatal(err)
	}

	var outage atomic.Bool
	outage.Store(true)
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if !outage.Load() {
			c.DropControl()
			return nil, nil, false
		}
		resp, ok := produceErrorResponse(req, kerr.NotLeaderForPartition.Code, func(int32) bool { return true })
		return resp, nil, ok
	})
	outageStart := time.Now()
	time.Sleep(time.Second)
	outage.Store(false)
	outageEnd := time.Now()
	if err := l.WaitAcked(ctx, 1000); err != nil {
		t.Fatalf("after the outage: %v", err)
	}
	if n := l.AckedBetween(outageStart.Add(100*time.Millisecond), outageEnd); n != 0 {
		t.Errorf("%d records acknowledged during the outage", n)
	}

	rep, err := l.Stop(ctx)
	if err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("%s", rep)
	if rep.Unacknowledged != 0 || rep.Verify.Lost != 0 || rep.Acked != rep.Sent {
		t.Errorf("report %s: want every record acknowledged and none lost", rep)
	}
	if rep.LongestAckGap < 800*time.Millisecond {
		t.Errorf("LongestAckGap = %s, want about the 1 s outage", rep.LongestAckGap)
	}
	if rep.Retries == 0 {
		t.Error("no retries: the outage did not reach the producer")
	}
	if rep.ReplicationFactor != 3 || rep.Partitions != 3 {
		t.Errorf("topic %d partitions RF %d, want 3 and 3", rep.Partitions, rep.ReplicationFactor)
	}
}

// TestLoadStopReportsLostAcknowledgedRecords: records acknowledged and then
// deleted for real are reported lost, by count and place.
func TestLoadStopReportsLostAcknowledgedRecords(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := StartLoad(ctx, LoadConfig{Brokers: c.ListenAddrs(), Topic: "lossy-live", Rate: 3000, MessageSize: 64})
	if err != nil {
		t.Fatalf("StartLoad: %v", err)
	}
	if err := l.WaitAcked(ctx, 300); err != nil {
		t.Fatal(err)
	}
	if err := deleteRecords(ctx, c, "lossy-live", 2, 10); err != nil {
		t.Fatalf("delete records: %v", err)
	}
	rep, err := l.Stop(ctx)
	t.Logf("error: %v", err)
	if again, err2 := l.Stop(ctx); again != rep || !errors.Is(err2, err) {
		t.Errorf("a second Stop returned %v, %v; want the first report again", again, err2)
	}
	var verr *VerifyError
	if !errors.As(err, &verr) || verr.Lost != 10 || verr.FirstLostPartition != 2 {
		t.Fatalf("Stop error = %v, want 10 acknowledged records lost from partition 2", err)
	}
	if rep == nil || rep.Verify == nil || rep.Verify.Lost != 10 {
		t.Errorf("report %v does not carry the loss", rep)
	}
	if !strings.Contains(err.Error(), "lost 10 of") {
		t.Errorf("error %q does not say what was lost", err)
	}
}

func TestStartLoadRejectsBadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  LoadConfig
		want string
	}{
		{"no brokers", LoadConfig{}, "Config.Brokers is empty"},
		{"negative rate", LoadConfig{Brokers: []string{"127.0.0.1:1"}, Rate: -1}, "LoadConfig.Rate = -1"},
		{"negative min.insync", LoadConfig{Brokers: []string{"127.0.0.1:1"}, MinInsyncReplicas: -2}, "LoadConfig.MinInsyncReplicas = -2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := StartLoad(context.Background(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("StartLoad error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestLoadStopIsBoundedByItsContext: a partition that never answers keeps records in flight; Stop's
// context still bounds the stop, and those records count as unacknowledged, not lost.
func TestLoadStopIsBoundedByItsContext(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := StartLoad(ctx, LoadConfig{Brokers: c.ListenAddrs(), Topic: "stuck", Rate: 1000, MessageSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.WaitAcked(ctx, 200); err != nil {
		t.Fatal(err)
	}
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		return nil, nil, true // handled without an answer: never acknowledged
	})
	time.Sleep(200 * time.Millisecond)
	sctx, scancel := context.WithTimeout(ctx, 2*time.Second)
	defer scancel()
	start := time.Now()
	rep, err := l.Stop(sctx)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Stop took %s with a 2s context", took)
	}
	t.Logf("%v; %v", rep, err)
	if rep == nil || rep.Unacknowledged == 0 {
		t.Errorf("report %v: want the unanswered records counted as unacknowledged", rep)
	}
}
