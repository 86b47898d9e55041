package scaledown

import (
	"fmt"
	"testing"
)

func TestPlan(t *testing.T) {
	t.Parallel()
	p := func(topic string, id int, replicas ...int) Partition {
		return Partition{Topic: topic, ID: id, Replicas: replicas, ISR: replicas}
	}
	tests := []struct {
		name     string
		parts    []Partition
		keep     int
		skip     map[string]bool
		want     string
		wantWide string
	}{
		{"4 -> 3: the removed replica is replaced in its position by the least loaded broker",
			[]Partition{p("t", 0, 0, 1, 2), p("t", 1, 1, 2, 3), p("t", 2, 2, 3, 0), p("t", 3, 3, 0, 1)}, 3, nil,
			"[{t 1 [1 2 0]} {t 2 [2 1 0]} {t 3 [2 0 1]}]", "map[]"},
		{"a removed preferred leader is replaced as preferred leader", []Partition{p("t", 0, 3, 1)}, 3, nil, "[{t 0 [0 1]}]", "map[]"},
		{"nothing on removed brokers: nothing to do", []Partition{p("t", 0, 0, 1, 2)}, 3, nil, "[]", "map[]"},
		{"5 -> 3 with two removed replicas in one partition", []Partition{p("t", 0, 3, 4, 0)}, 3, nil, "[{t 0 [1 2 0]}]", "map[]"},
		{"RF above the remaining brokers: refused, none of the topic planned",
			[]Partition{p("wide", 0, 0, 1, 2), p("wide", 1, 1, 2, 3), p("ok", 0, 3, 0)}, 2, nil, "[{ok 0 [1 0]}]", "map[wide:3]"},
		{"partitions in progress are skipped", []Partition{p("t", 0, 0, 3), p("t", 1, 1, 3)}, 3, map[string]bool{"t-0": true}, "[{t 1 [1 2]}]", "map[]"},
		{"sorted by topic and partition", []Partition{p("b", 1, 3), p("a", 0, 3), p("b", 0, 3)}, 3, nil, "[{a 0 [0]} {b 0 [1]} {b 1 [2]}]", "map[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			moves, wide := Plan(tt.parts, tt.keep, tt.skip)
			if s := fmt.Sprint(moves); s != tt.want && (len(moves) != 0 || tt.want != "[]") {
				t.Errorf("plan = %s, want %s", s, tt.want)
			}
			if s := fmt.Sprint(wide); s != tt.wantWide {
				t.Errorf("tooWide = %s, want %s", s, tt.wantWide)
			}
			for _, m := range moves {
				seen := map[int]bool{}
				for _, id := range m.Replicas {
					if seen[id] || id >= tt.keep {
						t.Errorf("%s-%d: bad replica %d in %v", m.Topic, m.Partition, id, m.Replicas)
					}
					seen[id] = true
				}
			}
		})
	}
}

func TestPlanBalances(t *testing.T) {
	t.Parallel()
	// 12 partitions RF 3 round-robin over 4 brokers: after 4 -> 3 every broker holds 12 replicas.
	var parts []Partition
	for i := range 12 {
		parts = append(parts, Partition{Topic: "t", ID: i, Replicas: []int{i % 4, (i + 1) % 4, (i + 2) % 4}})
	}
	moves, _ := Plan(parts, 3, nil)
	final := map[string][]int{}
	for _, p := range parts {
		final[p.Key()] = p.Replicas
	}
	for _, m := range moves {
		final[key(m.Topic, m.Partition)] = m.Replicas
	}
	load := map[int]int{}
	for _, rs := range final {
		for _, id := range rs {
			load[id]++
		}
	}
	if fmt.Sprint(load) != "map[0:12 1:12 2:12]" {
		t.Errorf("replicas per broker after the plan = %v, want 12 each", load)
	}
}

func TestSettled(t *testing.T) {
	t.Parallel()
	parts := []Partition{{Topic: "t", ID: 0, Replicas: []int{0, 2, 1, 3}}, {Topic: "t", ID: 1, Replicas: []int{0, 3}}}
	got := Settled(parts, map[string][]int{"t-0": {3}})
	if fmt.Sprint(got[0].Replicas, got[1].Replicas) != "[0 2 1] [0 3]" {
		t.Errorf("settled = %v", got)
	}
}
