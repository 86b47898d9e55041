package phases

import (
	"strings"
	"testing"
	"time"
)

func TestWarmMedianAndRatio(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		runs      []SmokeRun
		median    float64
		firstRate string
	}{
		{"no warm run: no reference", []SmokeRun{{MsgsPerSec: 4000}}, 0, "-"},
		{"odd count: the middle warm run; cold runs do not count", []SmokeRun{
			{MsgsPerSec: 4000}, {MsgsPerSec: 9000, Warm: true}, {MsgsPerSec: 20000, Warm: true}, {MsgsPerSec: 8000, Warm: true},
		}, 9000, "0.44x"},
		{"even count: the mean of the two middle ones", []SmokeRun{
			{MsgsPerSec: 6000}, {MsgsPerSec: 8000, Warm: true}, {MsgsPerSec: 12000, Warm: true},
		}, 10000, "0.60x"},
		{"a first run as fast as the warm ones", []SmokeRun{
			{MsgsPerSec: 10000}, {MsgsPerSec: 10000, Warm: true},
		}, 10000, "1.00x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := WarmMedian(tt.runs); got != tt.median {
				t.Errorf("WarmMedian = %v, want %v", got, tt.median)
			}
			if got := WarmRatio(tt.runs[0], tt.median); got != tt.firstRate {
				t.Errorf("WarmRatio(first) = %q, want %q", got, tt.firstRate)
			}
		})
	}
}

func TestWriteSmokeRuns(t *testing.T) {
	t.Parallel()
	var sb strings.Builder
	err := WriteSmokeRuns(&sb, "smoke", []SmokeRun{
		{Label: "first after up", MsgsPerSec: 4000, P50: 800 * time.Millisecond, P99: 2100 * time.Millisecond, Elapsed: 4 * time.Second},
		{Label: "warm 1", Warm: true, MsgsPerSec: 8000, P50: 300 * time.Millisecond, P99: time.Second, Elapsed: 2 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "smoke\n" +
		"  run                               msg/s       p50       p99   elapsed     vs warm\n" +
		"  first after up                     4000     800ms      2.1s      4.0s       0.50x\n" +
		"  warm 1                             8000     300ms        1s      2.0s       1.00x\n" +
		"  warm median                        8000\n"
	if sb.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", sb.String(), want)
	}
}
