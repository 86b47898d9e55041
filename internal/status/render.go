package status

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, r Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes the report for a reader: a summary line, then brokers, quorum, topics,
// consumer groups and problems, each a table. It depends on the report alone (times are relative
// to the quorum leader's own clock), so the same report always renders the same text.
func WriteTable(w io.Writer, r Report) error {
	t := &table{w: w}
	t.line("cluster %s via %s", orDash(r.ClusterID), strings.Join(r.Bootstrap, ","))
	t.line("health  %s", health(r.Problems))
	t.blank()

	t.rows(brokerRows(r))
	t.blank()

	if !r.Quorum.Known() {
		t.line("QUORUM unknown: %s", r.Quorum.Error)
	} else {
		leader := "no leader (no active controller)"
		if r.Quorum.LeaderID >= 0 {
			leader = fmt.Sprintf("leader %d (the active controller)", r.Quorum.LeaderID)
		}
		t.line("QUORUM %s, epoch %d, high watermark %d", leader, r.Quorum.LeaderEpoch, r.Quorum.HighWatermark)
		t.rows(voterRows(r.Quorum))
	}
	t.blank()

	t.rows(topicRows(r.Topics))
	t.blank()

	t.rows(groupRows(r))
	if r.GroupsError != "" {
		t.line("groups: %s", r.GroupsError)
	}
	t.blank()

	if len(r.Problems) == 0 {
		t.line("PROBLEMS none")
	} else {
		rows := [][]string{{"PROBLEMS", "KIND", "MESSAGE"}}
		for _, p := range r.Problems {
			rows = append(rows, []string{string(p.Severity), p.Kind, p.Message})
		}
		t.rows(rows)
	}
	return t.err
}

// health is the summary: healthy, or how many problems of each severity.
func health(ps []Problem) string {
	if len(ps) == 0 {
		return "healthy"
	}
	var critical, warning int
	for _, p := range ps {
		if p.Severity == Critical {
			critical++
		} else {
			warning++
		}
	}
	return fmt.Sprintf("UNHEALTHY: %d critical, %d %s", critical, warning, plural(warning, "warning", "warnings"))
}

func brokerRows(r Report) [][]string {
	rows := [][]string{{"BROKER", "ADDRESS", "RACK", "QUORUM"}}
	for _, b := range r.Brokers {
		rows = append(rows, []string{fmt.Sprint(b.ID), b.Address, orDash(b.Rack), quorumRole(r.Quorum, b.ID)})
	}
	if len(r.Brokers) == 0 {
		rows = append(rows, []string{"none", "", "", ""})
	}
	return rows
}

func quorumRole(q Quorum, id int32) string {
	isVoter := slices.ContainsFunc(q.Voters, func(v Replica) bool { return v.ID == id })
	isObserver := slices.ContainsFunc(q.Observers, func(v Replica) bool { return v.ID == id })
	switch {
	case !q.Known():
		return "?"
	case isVoter && id == q.LeaderID:
		return "voter, active controller"
	case isVoter:
		return "voter"
	case isObserver:
		return "observer"
	}
	return "-"
}

func voterRows(q Quorum) [][]string {
	rows := [][]string{{"VOTER", "LOG END OFFSET", "BEHIND", "LAST FETCH"}}
	now, leaderEnd := referenceTime(q), q.HighWatermark
	for _, v := range q.Voters {
		if v.ID == q.LeaderID {
			leaderEnd = max(leaderEnd, v.LogEndOffset)
		}
	}
	for _, v := range q.Voters {
		end, behind, fetch := "?", "?", "?"
		if v.LogEndOffset >= 0 {
			end = fmt.Sprint(v.LogEndOffset)
		}
		switch {
		case q.LeaderID < 0:
			behind = "-" // behind no one
		case v.LogEndOffset >= 0:
			behind = fmt.Sprint(max(leaderEnd-v.LogEndOffset, 0))
		}
		switch {
		case v.ID == q.LeaderID:
			fetch = "(leader)"
		case now > 0 && v.LastFetchTimestamp >= 0:
			fetch = millis(now-v.LastFetchTimestamp) + " ago"
		}
		rows = append(rows, []string{fmt.Sprint(v.ID), end, behind, fetch})
	}
	return rows
}

func topicRows(topics []Topic) [][]string {
	rows := [][]string{{"TOPIC", "PARTITIONS", "RF", "MIN ISR", "UNDER-REPLICATED", "UNDER MIN ISR", "OFFLINE"}}
	for _, t := range topics {
		offline, underMin, underRep := classify(t)
		minISR := "?"
		if t.MinInsyncReplicas > 0 {
			minISR = fmt.Sprint(t.MinInsyncReplicas)
		}
		rows = append(rows, []string{t.Name, fmt.Sprint(len(t.Partitions)), fmt.Sprint(t.ReplicationFactor), minISR,
			fmt.Sprint(len(underRep)), fmt.Sprint(len(underMin)), fmt.Sprint(len(offline))})
	}
	if len(topics) == 0 {
		rows = append(rows, []string{"none", "", "", "", "", "", ""})
	}
	return rows
}

func groupRows(r Report) [][]string {
	rows := [][]string{{"GROUP", "STATE", "MEMBERS", "TOPIC", "LAG"}}
	for _, g := range r.Groups {
		state := orDash(g.State)
		if g.Error != "" {
			state += " (" + g.Error + ")"
		}
		if len(g.Topics) == 0 {
			rows = append(rows, []string{g.ID, state, fmt.Sprint(g.Members), "-", "-"})
		}
		for _, gt := range g.Topics {
			rows = append(rows, []string{g.ID, state, fmt.Sprint(g.Members), gt.Topic, lagText(gt.Lag, gt.Partitions)})
		}
	}
	if len(r.Groups) == 0 && r.GroupsError == "" {
		rows = append(rows, []string{"none", "", "", "", ""})
	}
	return rows
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// table writes lines and aligned rows, keeping the first write error.
type table struct {
	w   io.Writer
	err error
}

func (t *table) line(format string, args ...any) {
	if t.err == nil {
		_, t.err = fmt.Fprintf(t.w, format+"\n", args...)
	}
}

func (t *table) blank() { t.line("") }

func (t *table) rows(rows [][]string) {
	if t.err != nil {
		return
	}
	tw := tabwriter.NewWriter(t.w, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		// Trailing cells may be empty (the "none" rows): trim the padding they would leave.
		if _, err := fmt.Fprintln(tw, strings.TrimRight(strings.Join(r, "\t"), "\t")); err != nil {
			t.err = err
			return
		}
	}
	t.err = tw.Flush()
}
