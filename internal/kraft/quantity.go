package kraft

import (
	"regexp"
	"strconv"
	"strings"
)

// quantityValue is the value of a Kubernetes quantity accepted by the quantity regexp (CPU in cores,
// memory in bytes). ok is false for anything else.
func quantityValue(q string) (v float64, ok bool) {
	if !quantity.MatchString(q) {
		return 0, false
	}
	suffixes := []struct {
		s string
		m float64
	}{
		{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40}, {"Pi", 1 << 50}, {"Ei", 1 << 60},
		{"m", 1e-3}, {"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}, {"P", 1e15}, {"E", 1e18},
	}
	mult := 1.0
	for _, s := range suffixes {
		if num, found := strings.CutSuffix(q, s.s); found {
			q, mult = num, s.m
			break
		}
	}
	f, err := strconv.ParseFloat(q, 64)
	if err != nil {
		return 0, false
	}
	return f * mult, true
}

// jvmSize matches a JVM size option value: digits with an optional k, m, g or t (either case).
var jvmSize = regexp.MustCompile(`^([0-9]+)([kKmMgGtT]?)$`)

// maxHeapBytes returns the last -Xmx value of JVM options in bytes (the JVM uses the last one).
func maxHeapBytes(opts string) (float64, bool) {
	var v float64
	found := false
	for _, f := range strings.Fields(opts) {
		s, ok := strings.CutPrefix(f, "-Xmx")
		if !ok {
			continue
		}
		m := jvmSize.FindStringSubmatch(s)
		if m == nil {
			return 0, false
		}
		n, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			return 0, false
		}
		switch strings.ToLower(m[2]) {
		case "k":
			n *= 1 << 10
		case "m":
			n *= 1 << 20
		case "g":
			n *= 1 << 30
		case "t":
			n *= 1 << 40
		}
		v, found = n, true
	}
	return v, found
}

// JVMOverheadBytes is what a Kafka broker JVM needs outside its heap and what the container needs
// besides the JVM: metaspace (~60 MiB for Kafka 4), direct buffers for the network and log
// cleaner, thread stacks, code cache, the page-cache-backed mmap of indexes not counted here. A
// heap that leaves less than this inside memoryLimit gets the container OOM-killed under load.
const JVMOverheadBytes = 256 << 20

// QuantityBytes is a Kubernetes byte quantity ("10Gi", "500M") in bytes; ok is false when it is
// not one.
func QuantityBytes(q string) (float64, bool) { return quantityValue(q) }
