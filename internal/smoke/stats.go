package smoke

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// mib is the unit of the MB/s figures: 2^20 bytes, as in Kafka's
// kafka-producer-perf-test and kafka-consumer-perf-test, so the numbers
// compare directly.
const mib = 1 << 20

// percentile returns the p-th percentile (0 < p <= 100) of sorted by the
// nearest-rank method: the smallest value such that at least p percent of
// the values are less than or equal to it. It returns 0 for an empty slice.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// latencyStats summarizes latencies (the slice is sorted in place).
type latencyStats struct {
	P50, P95, P99, P999, Max, Avg time.Duration
}

func summarizeLatencies(lat []time.Duration) latencyStats {
	if len(lat) == 0 {
		return latencyStats{}
	}
	slices.Sort(lat)
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	return latencyStats{
		P50:  percentile(lat, 50),
		P95:  percentile(lat, 95),
		P99:  percentile(lat, 99),
		P999: percentile(lat, 99.9),
		Max:  lat[len(lat)-1],
		Avg:  sum / time.Duration(len(lat)),
	}
}

// rate returns count per second over d, 0 when d is not positive.
func rate(count float64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return count / d.Seconds()
}

// fitTopic chooses the partition count and replication factor of a topic
// the run creates on a cluster of brokers brokers: partitions 0 means one
// per broker, replicationFactor 0 means min(3, brokers).
func fitTopic(partitions, replicationFactor, brokers int) (int, int, error) {
	if brokers < 1 {
		return 0, 0, fmt.Errorf("the cluster metadata lists no brokers")
	}
	if partitions == 0 {
		partitions = brokers
	}
	if replicationFactor == 0 {
		replicationFactor = min(3, brokers)
	}
	if replicationFactor > brokers {
		return 0, 0, fmt.Errorf("Config.ReplicationFactor = %d exceeds the %d brokers in the cluster (allowed 1 to %d, 0 = min(3, brokers))",
			replicationFactor, brokers, brokers)
	}
	return partitions, replicationFactor, nil
}
