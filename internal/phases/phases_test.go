package phases

import (
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

func sec(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func TestParallel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		nodes []Marks
		want  Breakdown
	}{
		{"no nodes: nothing", nil, Breakdown{}},
		{"one fresh node: every phase from its marks", []Marks{{
			Start: at(0), Created: at(10), Scheduled: at(11), Started: at(13), JVM: at(15), Listening: at(18), Registered: at(19), Ready: at(21),
		}}, Breakdown{Driver: sec(10), Scheduling: sec(1), Container: sec(2), Format: sec(2), JVMListen: sec(3), Register: sec(1), ReadySeen: sec(2)}},
		{"a restart: the driver ends at the deletion, the shutdown at the new pod", []Marks{{
			Start: at(0), Deleted: at(0.5), Created: at(4), Scheduled: at(4), Started: at(5), JVM: at(5), Listening: at(8), Registered: at(9), Ready: at(12),
		}}, Breakdown{Driver: sec(0.5), Shutdown: sec(3.5), Container: sec(1), JVMListen: sec(3), Register: sec(1), ReadySeen: sec(3)}},
		{"three nodes: each phase ends with the slowest node, the sum is start to the last Ready", []Marks{
			{Start: at(0), Created: at(10), Scheduled: at(11), Started: at(12), JVM: at(14), Listening: at(17), Registered: at(20), Ready: at(22)},
			{Start: at(0), Created: at(10), Scheduled: at(12), Started: at(13), JVM: at(15), Listening: at(18), Registered: at(20), Ready: at(24)},
			{Start: at(0), Created: at(11), Scheduled: at(11), Started: at(12), JVM: at(14), Listening: at(16), Registered: at(20), Ready: at(21)},
		}, Breakdown{Driver: sec(11), Scheduling: sec(1), Container: sec(1), Format: sec(2), JVMListen: sec(3), Register: sec(2), ReadySeen: sec(4)}},
		{"a missing mark is carried forward: no phase is negative", []Marks{{
			Start: at(0), Created: at(10), Started: at(13), JVM: at(12.9), Listening: at(18), Ready: at(21),
		}}, Breakdown{Driver: sec(10), Container: sec(3), JVMListen: sec(5), ReadySeen: sec(3)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Parallel(tt.nodes)
			if got != tt.want {
				t.Errorf("Parallel =\n%v\nwant\n%v", got, tt.want)
			}
			if len(tt.nodes) > 0 {
				if last := tt.nodes[len(tt.nodes)-1]; got.Total() > 0 && got.Total() < last.Ready.Sub(last.Start) {
					t.Errorf("total %s is shorter than a node's start to Ready", got.Total())
				}
			}
		})
	}
}

func TestSequentialRoll(t *testing.T) {
	t.Parallel()
	// A roll of three, listed out of order: kafka-2 goes first (at 5 s, Pulumi's share), the
	// controller deletes the next one 1 s after the previous is Ready.
	nodes := []Marks{
		{Name: "kafka-0", Deleted: at(27), Created: at(30), Scheduled: at(30), Started: at(31), JVM: at(31), Listening: at(34), Registered: at(35), Ready: at(38)},
		{Name: "kafka-2", Deleted: at(5), Created: at(8), Scheduled: at(8), Started: at(9), JVM: at(9), Listening: at(12), Registered: at(13), Ready: at(16)},
		{Name: "kafka-1", Deleted: at(17), Created: at(20), Scheduled: at(20), Started: at(21), JVM: at(21), Listening: at(24), Registered: at(25), Ready: at(26)},
	}
	got := Sequential(at(0), nodes)
	want := Breakdown{Driver: sec(5 + 1 + 1), Shutdown: sec(9), Container: sec(3), JVMListen: sec(9), Register: sec(3), ReadySeen: sec(3 + 1 + 3)}
	if got != want {
		t.Errorf("Sequential =\n%v\nwant\n%v", got, want)
	}
	if got.Total() != sec(38) {
		t.Errorf("total %s, want 38s (start to the last Ready)", got.Total())
	}
}

func TestParseLog(t *testing.T) {
	t.Parallel()
	log := `2026-11-27T12:00:02.500000000Z [2026-11-27T12:00:02] kafka-entrypoint: settings for node ordinal 1 (/tmp/kafka/server.properties):
2026-11-27T12:00:02.510000000Z   process.roles=broker,controller
2026-11-27T12:00:02.600000000Z [2026-11-27T12:00:02] kafka-entrypoint: formatting storage (/var/lib/kafka/data/kafka-logs) for cluster abc, node ordinal 1
2026-11-27T12:00:04.250000000Z [2026-11-27T12:00:04] kafka-entrypoint: starting kafka.Kafka with /tmp/kafka/server.properties
2026-11-27T12:00:07.000000000Z [2026-11-27 12:00:07,000] INFO Awaiting socket connections on 0.0.0.0:9093. (kafka.network.DataPlaneAcceptor)
2026-11-27T12:00:07.100000000Z [2026-11-27 12:00:07,100] INFO Awaiting socket connections on 0.0.0.0:9092. (kafka.network.DataPlaneAcceptor)
not a timestamped line
2026-11-27T12:00:08.750000000Z [2026-11-27 12:00:08,750] INFO [BrokerLifecycleManager id=1] The broker has been unfenced. Transitioning from RECOVERY to RUNNING. (kafka.server.BrokerLifecycleManager)
`
	var m Marks
	if err := ParseLog(strings.NewReader(log), &m); err != nil {
		t.Fatal(err)
	}
	want := Marks{Started: at(2.5), JVM: at(4.25), Listening: at(7), Registered: at(8.75)}
	if m != want {
		t.Errorf("ParseLog =\n%+v\nwant\n%+v", m, want)
	}
}

func TestWriteTable(t *testing.T) {
	t.Parallel()
	var sb strings.Builder
	cols := []Column{
		{Name: "pulumi", B: Breakdown{Driver: sec(20), JVMListen: sec(4), ReadySeen: sec(3)}},
		{Name: "kubectl", B: Breakdown{Driver: sec(2), JVMListen: sec(4), ReadySeen: sec(2)}},
		{Name: "docker", Missing: true},
	}
	if err := WriteTable(&sb, "up from nothing", cols); err != nil {
		t.Fatal(err)
	}
	out := sb.String()
	for _, want := range []string{
		"up from nothing\n",
		"pulumi/kubectl/controller",
		"20.0s",
		"10.00x",
		"TOTAL",
		"27.0s",
		"3.38x",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	// A phase the floor does not have (old pod shutdown, 0 s) has no ratio.
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, Names[Shutdown]) && strings.Contains(line, "x") {
			t.Errorf("a zero phase got a ratio: %q", line)
		}
	}
}

func TestRatio(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		a, b    time.Duration
		missing bool
		want    string
	}{
		{"slower", sec(36), sec(22.5), false, "1.60x"},
		{"equal", sec(2), sec(2), false, "1.00x"},
		{"floor has no such phase", sec(2), 0, false, "-"},
		{"not measured", sec(2), sec(2), true, "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Ratio(tt.a, tt.b, tt.missing); got != tt.want {
				t.Errorf("Ratio(%s, %s) = %q, want %q", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	t.Parallel()
	run := func(secs ...float64) Breakdown {
		var b Breakdown
		for p, s := range secs {
			b[p] = time.Duration(s * float64(time.Second))
		}
		return b
	}
	a, b, c, d := run(1, 2), run(3, 4), run(0.5, 0.5), run(2, 2)
	tests := []struct {
		name   string
		runs   []Breakdown
		want   Breakdown
		totals []time.Duration
	}{
		{name: "none", runs: nil, want: Breakdown{}, totals: nil},
		{name: "one", runs: []Breakdown{a}, want: a, totals: []time.Duration{3 * time.Second}},
		{name: "odd: the middle total, whole breakdown", runs: []Breakdown{b, c, a}, want: a,
			totals: []time.Duration{7 * time.Second, time.Second, 3 * time.Second}},
		{name: "even: the lower middle", runs: []Breakdown{d, b, c, a}, want: a,
			totals: []time.Duration{4 * time.Second, 7 * time.Second, time.Second, 3 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, totals := Median(tt.runs)
			if got != tt.want || !slices.Equal(totals, tt.totals) {
				t.Errorf("Median = %v %v, want %v %v", got, totals, tt.want, tt.totals)
			}
		})
	}
}

func TestLiveFencings(t *testing.T) {
	t.Parallel()
	// From a k8s-local run: broker 1 shut down cleanly (its session's end is a no-op), broker 2 was
	// fenced while serving.
	lines := []string{
		"2026-11-28T04:22:25.861Z [..] INFO [QuorumController id=0] Unfenced broker 1 has requested and been granted an immediate shutdown.",
		"2026-11-28T04:22:35.843Z [..] INFO [QuorumController id=0] Fencing broker 1 at epoch 1430 because its session has timed out. (org.apache.kafka.controller.ReplicationControlManager)",
		"2026-11-28T04:22:35.843Z [..] INFO [QuorumController id=0] Ignoring no-op registration change for BrokerRegistration(id=1, epoch=1430, incarnationId=c69x, listeners=[])",
		"2026-11-28T04:30:01.000Z [..] INFO [QuorumController id=0] Fencing broker 2 at epoch 99 because its session has timed out. (org.apache.kafka.controller.ReplicationControlManager)",
		"2026-11-28T04:30:01.001Z [..] INFO [QuorumController id=0] Replayed BrokerRegistrationChangeRecord modifying the registration for broker 2: BrokerRegistrationChangeRecord(brokerId=2, brokerEpoch=99, fenced=1)",
		"2026-11-28T04:30:01.002Z [..] INFO [QuorumController id=0] Ignoring no-op registration change for BrokerRegistration(id=2, epoch=100, incarnationId=x, listeners=[])",
	}
	got := LiveFencings(lines)
	if len(got) != 1 || !strings.Contains(got[0], "Fencing broker 2 ") {
		t.Errorf("LiveFencings = %q, want broker 2's line only", got)
	}
	// Another thread's lines between the fencing and its no-op.
	interleaved := append(append([]string{lines[1]}, "2026-11-28T04:22:35.843Z [..] INFO [RaftManager id=0] High watermark set"), lines[2])
	if got := LiveFencings(interleaved); len(got) != 0 {
		t.Errorf("a no-op after another line not matched: %q", got)
	}
	if got := LiveFencings(lines[:3]); len(got) != 0 {
		t.Errorf("a clean shutdown's session end counted: %q", got)
	}
}
