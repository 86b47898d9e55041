package phases

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// SmokeRun is one smoke run's figures, for the warm-up comparison of the deploy benchmark: is the
// first run after `up` as fast as later ones, or are the JVMs still warming up when `up` returns?
type SmokeRun struct {
	// Label says which run this is ("first after up", "warm 1", ...).
	Label string
	// Warm marks the runs whose median is the reference the others are compared with.
	Warm bool
	// MsgsPerSec is the produce throughput (acks=all).
	MsgsPerSec float64
	// P50 and P99 are produce latencies.
	P50, P99 time.Duration
	// Elapsed is the whole run, topic setup and read-back included.
	Elapsed time.Duration
}

// WarmMedian is the median throughput of the runs marked Warm; 0 when there are none.
func WarmMedian(runs []SmokeRun) float64 {
	var v []float64
	for _, r := range runs {
		if r.Warm {
			v = append(v, r.MsgsPerSec)
		}
	}
	if len(v) == 0 {
		return 0
	}
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// WarmRatio is a run's throughput over the warm median ("0.52x": the run did 52% of a warm run's
// rate); "-" when there is no warm reference.
func WarmRatio(r SmokeRun, median float64) string {
	if median <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", r.MsgsPerSec/median)
}

// WriteSmokeRuns prints one row per run with its ratio to the median of the warm runs.
func WriteSmokeRuns(w io.Writer, title string, runs []SmokeRun) error {
	median := WarmMedian(runs)
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s\n", title)
	fmt.Fprintf(&sb, "  %-28s %10s %9s %9s %9s %11s\n", "run", "msg/s", "p50", "p99", "elapsed", "vs warm")
	for _, r := range runs {
		fmt.Fprintf(&sb, "  %-28s %10.0f %9s %9s %8.1fs %11s\n", r.Label, r.MsgsPerSec,
			r.P50.Round(100*time.Microsecond), r.P99.Round(100*time.Microsecond), r.Elapsed.Seconds(), WarmRatio(r, median))
	}
	fmt.Fprintf(&sb, "  %-28s %10.0f\n", "warm median", median)
	_, err := io.WriteString(w, sb.String())
	return err
}
