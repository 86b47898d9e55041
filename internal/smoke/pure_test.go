package smoke

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// Tests in this file are the pure tier: no network, no clock.

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	ok := Config{Brokers: []string{"localhost:9092"}}
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string // substring of the error; "" = valid
	}{
		{name: "zero values select defaults", mutate: func(*Config) {}},
		{name: "all fields set", mutate: func(c *Config) {
			*c = Config{Brokers: []string{"a:1", "[::1]:9094"}, Topic: "a.b_c-D9", ExpectedBrokers: 3, Messages: 5, MessageSize: 32, Rate: 100,
				Partitions: 6, ReplicationFactor: 2, Timeout: time.Second, RequestTimeout: 100 * time.Millisecond}
		}},
		{name: "no brokers", mutate: func(c *Config) { c.Brokers = nil }, want: "Config.Brokers is empty"},
		{name: "broker without port", mutate: func(c *Config) { c.Brokers = []string{"kafka"} }, want: `Config.Brokers[0] = "kafka": not host:port`},
		{name: "broker with bad port", mutate: func(c *Config) { c.Brokers = []string{"a:1", "b:99999"} }, want: "Config.Brokers[1]"},
		{name: "broker without host", mutate: func(c *Config) { c.Brokers = []string{":9092"} }, want: "host is empty"},
		{name: "topic with slash", mutate: func(c *Config) { c.Topic = "a/b" }, want: `Config.Topic = "a/b": character '/' not allowed`},
		{name: "topic dot", mutate: func(c *Config) { c.Topic = ".." }, want: "Config.Topic"},
		{name: "topic too long", mutate: func(c *Config) { c.Topic = strings.Repeat("x", 250) }, want: "longer than 249"},
		{name: "negative expected brokers", mutate: func(c *Config) { c.ExpectedBrokers = -1 }, want: "Config.ExpectedBrokers = -1"},
		{name: "negative messages", mutate: func(c *Config) { c.Messages = -1 }, want: "Config.Messages = -1: must be between 1 and 10000000"},
		{name: "too many messages", mutate: func(c *Config) { c.Messages = MaxMessages + 1 }, want: "Config.Messages"},
		{name: "message smaller than header", mutate: func(c *Config) { c.MessageSize = 31 }, want: "Config.MessageSize = 31: must be between 32 and 1000000"},
		{name: "message too large", mutate: func(c *Config) { c.MessageSize = MaxMessageSize + 1 }, want: "Config.MessageSize"},
		{name: "negative rate", mutate: func(c *Config) { c.Rate = -1 }, want: "Config.Rate = -1: must be between 1 and 10000000 messages per second (0 = unlimited)"},
		{name: "negative partitions", mutate: func(c *Config) { c.Partitions = -2 }, want: "Config.Partitions = -2"},
		{name: "negative replication factor", mutate: func(c *Config) { c.ReplicationFactor = -1 }, want: "Config.ReplicationFactor = -1"},
		{name: "timeout below a second", mutate: func(c *Config) { c.Timeout = 10 * time.Millisecond }, want: "Config.Timeout = 10ms: must be at least 1s"},
		{name: "negative timeout", mutate: func(c *Config) { c.Timeout = -time.Second }, want: "Config.Timeout"},
		{name: "request timeout too short", mutate: func(c *Config) { c.RequestTimeout = time.Millisecond }, want: "Config.RequestTimeout = 1ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := ok
			tt.mutate(&cfg)
			err := cfg.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestConfigWithDefaults(t *testing.T) {
	t.Parallel()
	got := Config{Brokers: []string{"a:1"}, Timeout: 5 * time.Second, RequestTimeout: time.Minute}.withDefaults()
	if got.Topic != DefaultTopic || got.Messages != DefaultMessages || got.MessageSize != DefaultMessageSize {
		t.Errorf("defaults not applied: %+v", got)
	}
	if got.RequestTimeout != 5*time.Second {
		t.Errorf("RequestTimeout = %s, want it capped at Timeout 5s", got.RequestTimeout)
	}
}

func TestMessageRoundTrip(t *testing.T) {
	t.Parallel()
	run := runID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	tests := []struct {
		name string
		size int
		seq  uint64
	}{
		{name: "header only", size: headerLen, seq: 0},
		{name: "odd payload", size: headerLen + 13, seq: 1},
		{name: "default size", size: DefaultMessageSize, seq: 9999},
		{name: "large seq", size: 100, seq: 1<<63 + 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := make([]byte, tt.size)
			encodeMessage(v, run, tt.seq)
			gotRun, gotSeq, err := decodeMessage(v)
			if err != nil || gotRun != run || gotSeq != tt.seq {
				t.Fatalf("decode = %s, %d, %v; want %s, %d, nil", gotRun, gotSeq, err, run, tt.seq)
			}
		})
	}
}

func TestMessagePayloadsDiffer(t *testing.T) {
	t.Parallel()
	a, b := make([]byte, 64), make([]byte, 64)
	encodeMessage(a, runID{1}, 1)
	encodeMessage(b, runID{1}, 2)
	if string(a[headerLen:]) == string(b[headerLen:]) {
		t.Error("messages 1 and 2 carry the same payload")
	}
}

func TestDecodeMessageRejects(t *testing.T) {
	t.Parallel()
	valid := func() []byte {
		v := make([]byte, 64)
		encodeMessage(v, runID{7}, 42)
		return v
	}
	tests := []struct {
		name  string
		value func() []byte
		want  error
	}{
		{name: "nil value", value: func() []byte { return nil }, want: errShort},
		{name: "truncated header", value: func() []byte { return valid()[:31] }, want: errShort},
		{name: "other producer", value: func() []byte { return []byte(strings.Repeat("hello world ", 4)) }, want: errMagic},
		{name: "payload bit flipped", value: func() []byte { v := valid(); v[40] ^= 1; return v }, want: errBadCRC},
		{name: "seq altered", value: func() []byte { v := valid(); v[27]++; return v }, want: errBadCRC},
		{name: "run id altered", value: func() []byte { v := valid(); v[4]++; return v }, want: errBadCRC},
		{name: "checksum altered", value: func() []byte { v := valid(); v[crcOffset]++; return v }, want: errBadCRC},
		{name: "payload truncated", value: func() []byte { return valid()[:60] }, want: errBadCRC},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, _, err := decodeMessage(tt.value()); !errors.Is(err, tt.want) {
				t.Fatalf("decode error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	r := &runner{cfg: Config{Messages: 10, MessageSize: 64}, run: runID{1}}
	enc := func(run runID, seq uint64, size int) []byte {
		v := make([]byte, size)
		encodeMessage(v, run, seq)
		return v
	}
	tests := []struct {
		name  string
		value []byte
		want  int64
	}{
		{name: "ours", value: enc(runID{1}, 3, 64), want: 3},
		{name: "another run", value: enc(runID{2}, 3, 64), want: seqForeign},
		{name: "not a smoke record", value: []byte("plain text from kcat"), want: seqForeign},
		{name: "null value", value: nil, want: seqForeign},
		{name: "checksum mismatch", value: func() []byte { v := enc(runID{1}, 3, 64); v[50] ^= 0xff; return v }(), want: seqCorrupt},
		{name: "wrong size", value: enc(runID{1}, 3, 65), want: seqCorrupt},
		{name: "seq beyond the run", value: enc(runID{1}, 10, 64), want: seqCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := r.classify(tt.value); got != tt.want {
				t.Fatalf("classify = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{name: "empty", sorted: nil, p: 50, want: 0},
		{name: "single", sorted: ms(7), p: 99, want: 7 * time.Millisecond},
		{name: "median of odd count", sorted: ms(1, 2, 3, 4, 5), p: 50, want: 3 * time.Millisecond},
		{name: "median of even count is the lower middle", sorted: ms(1, 2, 3, 4), p: 50, want: 2 * time.Millisecond},
		{name: "p95 of 1..100", sorted: ms(hundred...), p: 95, want: 95 * time.Millisecond},
		{name: "p99 of 1..100", sorted: ms(hundred...), p: 99, want: 99 * time.Millisecond},
		{name: "p99.9 of 1..100 is the max", sorted: ms(hundred...), p: 99.9, want: 100 * time.Millisecond},
		{name: "p100 is the max", sorted: ms(1, 9), p: 100, want: 9 * time.Millisecond},
		{name: "tiny p is the min", sorted: ms(4, 5, 6), p: 0.001, want: 4 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Fatalf("percentile(p%v) = %s, want %s", tt.p, got, tt.want)
			}
		})
	}
}

func TestSummarizeLatencies(t *testing.T) {
	t.Parallel()
	got := summarizeLatencies([]time.Duration{4, 1, 3, 2}) // unsorted on purpose
	want := latencyStats{P50: 2, P95: 4, P99: 4, P999: 4, Max: 4, Avg: 2}
	if got != want {
		t.Fatalf("summarizeLatencies = %+v, want %+v", got, want)
	}
}

func TestFitTopic(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                   string
		partitions, rf         int
		brokers                int
		wantPartitions, wantRF int
		wantErr                string
	}{
		{name: "single broker", brokers: 1, wantPartitions: 1, wantRF: 1},
		{name: "two brokers", brokers: 2, wantPartitions: 2, wantRF: 2},
		{name: "three brokers", brokers: 3, wantPartitions: 3, wantRF: 3},
		{name: "five brokers cap RF at 3", brokers: 5, wantPartitions: 5, wantRF: 3},
		{name: "explicit values kept", partitions: 12, rf: 2, brokers: 3, wantPartitions: 12, wantRF: 2},
		{name: "RF above broker count", rf: 4, brokers: 3, wantErr: "ReplicationFactor = 4 exceeds the 3 brokers"},
		{name: "no brokers", brokers: 0, wantErr: "no brokers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, rf, err := fitTopic(tt.partitions, tt.rf, tt.brokers)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("fitTopic error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || p != tt.wantPartitions || rf != tt.wantRF {
				t.Fatalf("fitTopic = %d, %d, %v; want %d, %d", p, rf, err, tt.wantPartitions, tt.wantRF)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	// Six messages, round-robin over partitions 0 and 1:
	// partition 0 holds seqs 0, 2, 4 and partition 1 holds 1, 3, 5.
	acks := make([]outcome, 6)
	for i := range acks {
		acks[i] = outcome{partition: int32(i % 2), state: stateAcked, attempts: 1}
	}
	// with returns acks with message seq changed by fn.
	with := func(seq int, fn func(*outcome)) []outcome {
		o := append([]outcome(nil), acks...)
		fn(&o[seq])
		return o
	}
	unacked := func(o *outcome) { o.state = stateFailed }
	retried := func(o *outcome) { o.attempts = 2 }
	rec := func(p int, off, seq int64) seen { return seen{Partition: p, Offset: off, Seq: seq} }
	clean := []seen{rec(0, 0, 0), rec(0, 1, 2), rec(0, 2, 4), rec(1, 0, 1), rec(1, 1, 3), rec(1, 2, 5)}
	tests := []struct {
		name     string
		outcomes []outcome // nil = acks
		records  []seen
		want     *VerifyError // nil = passes
		msg      string
		// info checks the counts that are not failures.
		unackedWritten, retryDups int
	}{
		{name: "all present", records: clean},
		{name: "partitions interleaved", records: []seen{rec(1, 0, 1), rec(0, 0, 0), rec(1, 1, 3), rec(0, 1, 2), rec(0, 2, 4), rec(1, 2, 5)}},
		{name: "foreign records ignored", records: append([]seen{rec(0, 5, seqForeign)}, clean...)},
		{
			name:     "unacknowledged and missing is not a loss",
			outcomes: with(3, unacked),
			records:  []seen{rec(0, 0, 0), rec(0, 1, 2), rec(0, 2, 4), rec(1, 0, 1), rec(1, 1, 5)},
		},
		{
			name:           "unacknowledged but written is counted, not a failure",
			outcomes:       with(3, unacked),
			records:        clean,
			unackedWritten: 1,
		},
		{
			name:      "duplicate of a retried batch is at-least-once, not a failure",
			outcomes:  with(5, retried),
			records:   append(append([]seen(nil), clean...), rec(1, 3, 5)),
			retryDups: 1,
		},
		{
			name:           "an unacknowledged batch appended late is not out of order",
			outcomes:       with(0, unacked),
			records:        []seen{rec(0, 0, 2), rec(0, 1, 4), rec(0, 2, 0), rec(1, 0, 1), rec(1, 1, 3), rec(1, 2, 5)},
			unackedWritten: 1,
		},
		{
			name:     "duplicate in another partition is not explained by a retry",
			outcomes: with(1, retried),
			records:  append([]seen{rec(0, 3, 1)}, clean...),
			want:     &VerifyError{Messages: 6, Acknowledged: 6, Duplicated: 1, FirstDuplicateSeq: 1, FirstDuplicatePartition: 0, FirstDuplicateOffset: 3},
		},
		{
			name:    "lost from one partition",
			records: []seen{rec(0, 0, 0), rec(0, 1, 2), rec(0, 2, 4), rec(1, 2, 5)},
			want:    &VerifyError{Messages: 6, Acknowledged: 6, Lost: 2, FirstLostSeq: 1, FirstLostPartition: 1},
			msg:     "verify: lost 2 of 6 acknowledged messages (first missing seq 1, partition 1)",
		},
		{
			name:    "everything lost",
			records: nil,
			want:    &VerifyError{Messages: 6, Acknowledged: 6, Lost: 6, FirstLostSeq: 0, FirstLostPartition: 0},
			msg:     "lost 6 of 6 acknowledged messages",
		},
		{
			name:    "duplicate after the original",
			records: append(append([]seen(nil), clean...), rec(1, 3, 5)),
			want:    &VerifyError{Messages: 6, Acknowledged: 6, Duplicated: 1, FirstDuplicateSeq: 5, FirstDuplicatePartition: 1, FirstDuplicateOffset: 3},
			msg:     "duplicated 1 messages that no retry explains (first seq 5, partition 1 offset 3)",
		},
		{
			name:    "copy in another partition read first is the duplicate",
			records: append([]seen{rec(0, 3, 1)}, clean...),
			want:    &VerifyError{Messages: 6, Acknowledged: 6, Duplicated: 1, FirstDuplicateSeq: 1, FirstDuplicatePartition: 0, FirstDuplicateOffset: 3},
		},
		{
			name:    "corrupt record",
			records: append([]seen{rec(0, 9, seqCorrupt)}, clean...),
			want:    &VerifyError{Messages: 6, Acknowledged: 6, Corrupt: 1, FirstCorruptPartition: 0, FirstCorruptOffset: 9},
			msg:     "1 corrupt messages (checksum mismatch; first at partition 0 offset 9)",
		},
		{
			name:    "seq out of range counts as corrupt",
			records: append([]seen{rec(1, 9, 6)}, clean...),
			want:    &VerifyError{Messages: 6, Acknowledged: 6, Corrupt: 1, FirstCorruptPartition: 1, FirstCorruptOffset: 9},
		},
		{
			name:    "only copy in the wrong partition",
			records: []seen{rec(0, 0, 0), rec(0, 1, 2), rec(0, 2, 4), rec(0, 3, 5), rec(1, 0, 1), rec(1, 1, 3)},
			want:    &VerifyError{Messages: 6, Acknowledged: 6, Misplaced: 1, FirstMisplacedSeq: 5, FirstMisplacedFound: 0, FirstMisplacedAcked: 1},
			msg:     "1 messages in the wrong partition (first seq 5 found in partition 0, sent to partition 1)",
		},
		{
			name:    "reordered within a partition",
			records: []seen{rec(0, 0, 0), rec(0, 1, 4), rec(0, 2, 2), rec(1, 0, 1), rec(1, 1, 3), rec(1, 2, 5)},
			want:    &VerifyError{Messages: 6, Acknowledged: 6, OutOfOrder: 1, FirstOutOfOrderSeq: 2, FirstOutOfOrderPartition: 0, FirstOutOfOrderOffset: 2, FirstOutOfOrderAfter: 4},
			msg:     "1 messages out of order (first seq 2 after seq 4, partition 0 offset 2)",
		},
		{
			name:    "several problems are all named",
			records: []seen{rec(0, 0, 0), rec(0, 1, 0), rec(0, 2, 4), rec(0, 3, 2), rec(1, 0, 1), rec(1, 1, seqCorrupt), rec(1, 2, 5)},
			msg:     "verify: lost 1 of 6 acknowledged messages (first missing seq 3, partition 1); duplicated 1 messages that no retry explains (first seq 0, partition 0 offset 1); 1 corrupt messages (checksum mismatch; first at partition 1 offset 1); 1 messages out of order (first seq 2 after seq 4, partition 0 offset 3)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			outcomes := tt.outcomes
			if outcomes == nil {
				outcomes = acks
			}
			got := verify(outcomes, tt.records)
			if got.UnacknowledgedWritten != tt.unackedWritten || got.RetryDuplicates != tt.retryDups {
				t.Errorf("UnacknowledgedWritten, RetryDuplicates = %d, %d; want %d, %d", got.UnacknowledgedWritten, got.RetryDuplicates, tt.unackedWritten, tt.retryDups)
			}
			if tt.want == nil && tt.msg == "" {
				if got.failed() {
					t.Fatalf("verify = %v, want pass", got)
				}
				return
			}
			if !got.failed() {
				t.Fatalf("verify passed (%+v), want a failure", got)
			}
			if tt.want != nil && *got != *tt.want {
				t.Errorf("verify = %+v\nwant     %+v", *got, *tt.want)
			}
			if !strings.Contains(got.Error(), tt.msg) {
				t.Errorf("Error() = %q, want it to contain %q", got.Error(), tt.msg)
			}
		})
	}
}

func TestParseBrokers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr string
	}{
		{name: "one", in: "kafka:9094", want: []string{"kafka:9094"}},
		{name: "comma list with spaces and newline", in: "a:1, b:2,c:3\n", want: []string{"a:1", "b:2", "c:3"}},
		{name: "json string", in: `"a:1,b:2"`, want: []string{"a:1", "b:2"}},
		{name: "json array", in: `["a:1", "b:2"]`, want: []string{"a:1", "b:2"}},
		{name: "ipv6", in: "[::1]:9094", want: []string{"[::1]:9094"}},
		{name: "empty", in: "  ", wantErr: "empty"},
		{name: "empty json string", in: `""`, wantErr: "empty"},
		{name: "json null", in: "null", wantErr: "empty"},
		{name: "empty json array", in: "[]", wantErr: "empty"},
		{name: "missing port", in: "a:1,b", wantErr: `address "b"`},
		{name: "broken json", in: `["a:1"`, wantErr: `address "[\"a:1\""`},
		{name: "json array of numbers", in: `[1, 2]`, wantErr: "parse address list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseBrokers(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseBrokers(%q) = %v, %v; want error %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Fatalf("ParseBrokers(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestNewReport(t *testing.T) {
	t.Parallel()
	res := &Result{RunID: "r", Brokers: 3, ControllerID: 1, Messages: 10, Bytes: 5120,
		ProduceLatencyP50: 1500 * time.Microsecond, ProduceLatencyP99: 3 * time.Millisecond, Elapsed: 2 * time.Second}
	tests := []struct {
		name string
		res  *Result
		err  error
		want []string
	}{
		{name: "pass", res: res, want: []string{`"ok":true`, `"messages":10`, `"produce_latency_p50_ms":1.5`, `"produce_latency_p99_ms":3`, `"elapsed_seconds":2`}},
		{name: "failure keeps the partial result", res: res, err: errors.New("verify: lost 1"), want: []string{`"ok":false`, `"error":"verify: lost 1"`, `"messages":10`}},
		{name: "failure before any result", err: errors.New("metadata: boom"), want: []string{`"ok":false`, `"controller_id":-1`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := json.Marshal(NewReport(tt.res, tt.err))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(b), w) {
					t.Errorf("report %s lacks %s", b, w)
				}
			}
		})
	}
}
