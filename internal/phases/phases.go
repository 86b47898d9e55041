// Package phases splits the start of Kafka nodes into phases from observed timestamps, for the
// deploy benchmark (tests/e2e, make bench-deploy): how long Pulumi (or kubectl, or docker) took to
// create a pod, the scheduler to place it, the kubelet to start it, the entrypoint to format its
// storage, the JVM to open its listener, the broker to register, and the readiness probe to say so.
// It is pure: the benchmark observes, this package computes, and the table tests pin the arithmetic.
package phases

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Marks are the moments one pod (or container) of a scenario went through, as observed; a zero
// time is a moment that was not observed or did not happen (no storage format on a restart).
type Marks struct {
	// Name is the pod's name (for the report).
	Name string
	// Start is when the scenario began for this node: `up` or `kubectl apply` called, `kubectl
	// delete pod` called, the previous node Ready in a roll (computed by Sequential), `docker run`.
	Start time.Time
	// Deleted is when the node's previous pod was seen deleting (restart and roll only).
	Deleted time.Time
	// Created is when the pod was first seen (docker: `docker run` returned).
	Created time.Time
	// Scheduled is when the pod was seen bound to a node; binding waits for its claims to be bound.
	Scheduled time.Time
	// Started is the Kafka container's first log line: the image, the sandbox and the init
	// containers are done.
	Started time.Time
	// JVM is the entrypoint's "starting kafka.Kafka" line: the storage is formatted.
	JVM time.Time
	// Listening is when Kafka's socket server accepts connections.
	Listening time.Time
	// Registered is when the broker was unfenced by the quorum.
	Registered time.Time
	// Ready is when the pod's Ready condition was seen true (docker: kafka-ready passed).
	Ready time.Time
}

// Phase indexes a Breakdown.
type Phase int

// The phases, in the order a node goes through them.
const (
	Driver     Phase = iota // start -> previous pod deleted, or pod created: Pulumi, kubectl or the StatefulSet controller
	Shutdown                // previous pod deleted -> new pod created (controlled shutdown, restarts and rolls only)
	Scheduling              // pod created -> bound to a node (volume binding included)
	Container               // bound -> the Kafka container's first line (image, sandbox, init containers)
	Format                  // entrypoint -> JVM started (storage format on a fresh node)
	JVMListen               // JVM started -> listener open
	Register                // listener open -> broker unfenced
	ReadySeen               // unfenced -> Ready seen (catch-up, and the probe's period)
	NumPhases
)

// Names are the phases' printed names.
var Names = [NumPhases]string{
	Driver:     "pulumi/kubectl/controller",
	Shutdown:   "old pod shutdown",
	Scheduling: "scheduling + volume binding",
	Container:  "image + container start",
	Format:     "storage format",
	JVMListen:  "JVM to listener",
	Register:   "registration (unfenced)",
	ReadySeen:  "catch-up + Ready seen",
}

// Breakdown is the time spent in each phase; its sum is Total.
type Breakdown [NumPhases]time.Duration

// Total is the sum of the phases: start to the last node Ready.
func (b Breakdown) Total() time.Duration {
	var t time.Duration
	for _, d := range b {
		t += d
	}
	return t
}

// moments returns the marks of one node in phase order, each carried forward from the one before
// when it is missing or earlier (clocks of the API server, the node and this machine differ by
// milliseconds; a phase is never negative). moments[p] is the end of phase p; moments[-1] is Start.
func (m Marks) moments() (start time.Time, ends [NumPhases]time.Time) {
	start = m.Start
	prev := start
	at := func(t time.Time) time.Time {
		if t.IsZero() || t.Before(prev) {
			return prev
		}
		prev = t
		return t
	}
	if m.Deleted.IsZero() {
		// Nothing was deleted (up from nothing): the driver's phase ends when the pod exists.
		ends[Driver] = at(m.Created)
		ends[Shutdown] = ends[Driver]
	} else {
		ends[Driver] = at(m.Deleted)
		ends[Shutdown] = at(m.Created)
	}
	ends[Scheduling] = at(m.Scheduled)
	ends[Container] = at(m.Started)
	ends[Format] = at(m.JVM)
	ends[JVMListen] = at(m.Listening)
	ends[Register] = at(m.Registered)
	ends[ReadySeen] = at(m.Ready)
	return start, ends
}

// Parallel is the breakdown of nodes that start together (up from nothing, one restart): each phase
// ends when the last node has finished it, so the phases add up to the time from the earliest
// Start to the last Ready, and a phase is the critical path's share.
func Parallel(nodes []Marks) Breakdown {
	var b Breakdown
	if len(nodes) == 0 {
		return b
	}
	var start time.Time
	var ends [NumPhases]time.Time
	for i, n := range nodes {
		s, e := n.moments()
		if i == 0 || s.Before(start) {
			start = s
		}
		for p := range ends {
			if e[p].After(ends[p]) {
				ends[p] = e[p]
			}
		}
	}
	prev := start
	for p := range ends {
		if ends[p].Before(prev) {
			ends[p] = prev
		}
		b[p] = ends[p].Sub(prev)
		prev = ends[p]
	}
	return b
}

// Sequential is the breakdown of a roll: nodes restarted one after another, ordered by when their
// old pod went. Each node's Start is the scenario's start for the first and the previous node's
// Ready for the others, so the driver phase holds Pulumi's time before the first deletion and the
// StatefulSet controller's reaction after each Ready; the phases add up to start -> last Ready.
func Sequential(start time.Time, nodes []Marks) Breakdown {
	ordered := append([]Marks(nil), nodes...)
	first := func(m Marks) time.Time {
		if !m.Deleted.IsZero() {
			return m.Deleted
		}
		return m.Created
	}
	sort.SliceStable(ordered, func(i, j int) bool { return first(ordered[i]).Before(first(ordered[j])) })
	var b Breakdown
	prev := start
	for _, n := range ordered {
		n.Start = prev
		s, ends := n.moments()
		for p := range ends {
			b[p] += ends[p].Sub(s)
			s = ends[p]
		}
		prev = s
	}
	return b
}

// Median is the breakdown of the run whose total is the median of repeated runs of one scenario
// (the lower middle one of an even count), with every run's total in the order given. One run of a
// restart says little on a busy 2-core machine: the same restart took 8.5 s and 12.4 s in two runs.
func Median(runs []Breakdown) (Breakdown, []time.Duration) {
	if len(runs) == 0 {
		return Breakdown{}, nil
	}
	totals := make([]time.Duration, len(runs))
	idx := make([]int, len(runs))
	for i, r := range runs {
		totals[i] = r.Total()
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return totals[idx[a]] < totals[idx[b]] })
	return runs[idx[(len(runs)-1)/2]], totals
}

// Log markers: the entrypoint's last line before the broker's JVM, and Kafka 4.x's own lines.
const (
	markJVM        = "kafka-entrypoint: starting kafka.Kafka"
	markListening  = "Awaiting socket connections on"
	markRegistered = "The broker has been unfenced"
)

// ParseLog reads a container log with a timestamp before each line (`kubectl logs --timestamps`,
// `docker logs --timestamps`: RFC 3339 with nanoseconds) and fills in Started (the first line),
// JVM, Listening (the first listener) and Registered. Lines of an earlier container instance are
// not expected: read the current one only.
func ParseLog(r io.Reader, m *Marks) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		stamp, line, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, stamp)
		if err != nil {
			continue // a continuation line without its own timestamp
		}
		set := func(t *time.Time) {
			if t.IsZero() {
				*t = at
			}
		}
		set(&m.Started)
		switch {
		case strings.Contains(line, markJVM):
			set(&m.JVM)
		case strings.Contains(line, markListening):
			set(&m.Listening)
		case strings.Contains(line, markRegistered):
			set(&m.Registered)
		}
	}
	return sc.Err()
}

// Column is one way of doing a scenario (Pulumi, kubectl apply, docker run) and its breakdown.
type Column struct {
	Name string
	B    Breakdown
	// Missing marks a column that was not measured (printed as "-").
	Missing bool
}

// WriteTable prints the columns side by side, one row a phase plus the total, with the ratio of
// the first column to each other one (the floors): "1.60x" means the first took 1.6 times as long.
func WriteTable(w io.Writer, title string, cols []Column) error {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s\n", title)
	fmt.Fprintf(&sb, "  %-28s", "phase")
	for i, c := range cols {
		fmt.Fprintf(&sb, " %12s", c.Name)
		if i > 0 {
			fmt.Fprintf(&sb, " %7s", "ratio")
		}
	}
	sb.WriteString("\n")
	row := func(name string, get func(Breakdown) time.Duration) {
		fmt.Fprintf(&sb, "  %-28s", name)
		for i, c := range cols {
			if c.Missing {
				fmt.Fprintf(&sb, " %12s", "-")
			} else {
				fmt.Fprintf(&sb, " %11.1fs", get(c.B).Seconds())
			}
			if i > 0 {
				fmt.Fprintf(&sb, " %7s", Ratio(get(cols[0].B), get(c.B), cols[0].Missing || c.Missing))
			}
		}
		sb.WriteString("\n")
	}
	for p := range NumPhases {
		row(Names[p], func(b Breakdown) time.Duration { return b[p] })
	}
	row("TOTAL", Breakdown.Total)
	_, err := io.WriteString(w, sb.String())
	return err
}

// Ratio formats a/b ("1.60x"); "-" when either is missing or b is under 50 ms (a phase that does
// not exist in the floor, where a ratio means nothing).
func Ratio(a, b time.Duration, missing bool) string {
	if missing || b < 50*time.Millisecond {
		return "-"
	}
	return fmt.Sprintf("%.2fx", a.Seconds()/b.Seconds())
}

// LiveFencings returns the controller log lines that fenced a broker for a session timeout while it
// was not fenced already. Kafka logs "Fencing broker N at epoch E because its session has timed
// out" for every session that ends, also for a broker that shut down cleanly (fenced at once, its
// session kept until it times out); then the controller logs the change of that registration
// (id=N, epoch=E) as a no-op right after. Only the others fenced a broker that was serving.
func LiveFencings(lines []string) []string {
	var out []string
	for i, line := range lines {
		_, rest, ok := strings.Cut(line, "Fencing broker ")
		if !ok || !strings.Contains(rest, "because its session has timed out") {
			continue
		}
		var id, epoch int64
		if _, err := fmt.Sscanf(rest, "%d at epoch %d", &id, &epoch); err != nil {
			out = append(out, line) // not Kafka 4.x's wording: count it rather than hide it
			continue
		}
		noop := fmt.Sprintf("Ignoring no-op registration change for BrokerRegistration(id=%d, epoch=%d,", id, epoch)
		// The no-op is logged by the same controller event; other threads' lines may come between.
		found := false
		for _, next := range lines[i+1 : min(len(lines), i+50)] {
			if strings.Contains(next, noop) {
				found = true
				break
			}
		}
		if !found {
			out = append(out, line)
		}
	}
	return out
}
