package status

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/segmentio/kafka-go"
)

// groups reads the consumer groups and their lag: ListGroups, DescribeGroups (state, members),
// OffsetFetch per group (committed offsets), then one ListOffsets for the end offsets of every
// partition a group committed to. Lag is information: a failure is kept in the report, never an
// error of the run.
func (g *gatherer) groups(ctx context.Context, topics []Topic) ([]Group, string) {
	cctx, cancel := g.call(ctx)
	list, err := g.client.ListGroups(cctx, &kafka.ListGroupsRequest{})
	cancel()
	if err == nil && list.Error != nil {
		err = list.Error
	}
	if err != nil {
		return nil, "ListGroups: " + g.callErr(err).Error()
	}
	out := make([]Group, 0, len(list.Groups))
	for _, lg := range list.Groups {
		if !slices.ContainsFunc(out, func(x Group) bool { return x.ID == lg.GroupID }) {
			out = append(out, Group{ID: lg.GroupID, ProtocolType: lg.ProtocolType, Coordinator: int32(lg.Coordinator), Topics: []GroupTopic{}})
		}
	}
	if len(out) == 0 {
		return out, ""
	}
	slices.SortFunc(out, func(a, b Group) int { return strings.Compare(a.ID, b.ID) })
	g.describeGroups(ctx, out)

	committed := make([]map[string]map[int32]int64, len(out)) // group -> topic -> partition -> offset
	for i := range out {
		committed[i] = g.committed(ctx, &out[i])
	}
	ends, err := g.endOffsets(ctx, topics, committed)
	for i := range out {
		out[i].Topics, out[i].Lag = lagOf(committed[i], ends)
	}
	if err != nil {
		return out, "ListOffsets: " + g.callErr(err).Error()
	}
	return out, ""
}

func (g *gatherer) describeGroups(ctx context.Context, groups []Group) {
	ids := make([]string, len(groups))
	for i, gr := range groups {
		ids[i] = gr.ID
	}
	cctx, cancel := g.call(ctx)
	defer cancel()
	res, err := g.client.DescribeGroups(cctx, &kafka.DescribeGroupsRequest{GroupIDs: ids})
	for i := range groups {
		gr := &groups[i]
		if err != nil {
			gr.Error = "DescribeGroups: " + g.callErr(err).Error()
			continue
		}
		for _, d := range res.Groups {
			if d.GroupID != gr.ID {
				continue
			}
			gr.State, gr.Members = d.GroupState, len(d.Members)
			if d.Error != nil {
				gr.Error = "DescribeGroups: " + d.Error.Error()
			}
		}
	}
}

// committed returns the group's committed offsets (none for a partition it never committed to).
func (g *gatherer) committed(ctx context.Context, gr *Group) map[string]map[int32]int64 {
	cctx, cancel := g.call(ctx)
	defer cancel()
	res, err := g.client.OffsetFetch(cctx, &kafka.OffsetFetchRequest{GroupID: gr.ID})
	if err == nil && res.Error != nil {
		err = res.Error
	}
	if err != nil {
		gr.Error = strings.TrimPrefix(gr.Error+"; ", "; ") + "OffsetFetch: " + g.callErr(err).Error()
		return nil
	}
	out := map[string]map[int32]int64{}
	for topic, parts := range res.Topics {
		for _, p := range parts {
			if p.Error != nil || p.CommittedOffset < 0 {
				continue
			}
			if out[topic] == nil {
				out[topic] = map[int32]int64{}
			}
			out[topic][int32(p.Partition)] = p.CommittedOffset
		}
	}
	return out
}

type topicPartition struct {
	topic     string
	partition int32
}

// endOffsets asks the leaders for the end offsets (the high watermark: what a consumer can read)
// of the partitions any group committed to. Partitions without a leader are left out: kafka-go
// would route them to broker 0.
func (g *gatherer) endOffsets(ctx context.Context, topics []Topic, committed []map[string]map[int32]int64) (map[topicPartition]int64, error) {
	led := map[topicPartition]bool{}
	for _, t := range topics {
		for _, p := range t.Partitions {
			led[topicPartition{t.Name, p.ID}] = p.Leader >= 0
		}
	}
	req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{}}
	asked := map[topicPartition]bool{}
	for _, c := range committed {
		for topic, parts := range c {
			for p := range parts {
				tp := topicPartition{topic, p}
				if led[tp] && !asked[tp] {
					asked[tp] = true
					req.Topics[topic] = append(req.Topics[topic], kafka.LastOffsetOf(int(p)))
				}
			}
		}
	}
	ends := map[topicPartition]int64{}
	if len(asked) == 0 {
		return ends, nil
	}
	cctx, cancel := g.call(ctx)
	defer cancel()
	res, err := g.client.ListOffsets(cctx, req)
	if err != nil {
		return ends, err // every lag stays unknown (-1)
	}
	for topic, parts := range res.Topics {
		for _, p := range parts {
			if p.Error == nil && p.LastOffset >= 0 {
				ends[topicPartition{topic, int32(p.Partition)}] = p.LastOffset
			}
		}
	}
	return ends, nil
}

// lagOf is a group's lag per topic and partition, sorted, and its total over the known ones.
func lagOf(committed map[string]map[int32]int64, ends map[topicPartition]int64) ([]GroupTopic, int64) {
	out := []GroupTopic{}
	var total int64
	for topic, parts := range committed {
		gt := GroupTopic{Topic: topic}
		for p, off := range parts {
			pl := PartitionLag{Partition: p, Committed: off, End: -1, Lag: -1}
			if end, ok := ends[topicPartition{topic, p}]; ok {
				pl.End, pl.Lag = end, max(end-off, 0)
				gt.Lag += pl.Lag
			}
			gt.Partitions = append(gt.Partitions, pl)
		}
		slices.SortFunc(gt.Partitions, func(a, b PartitionLag) int { return cmp.Compare(a.Partition, b.Partition) })
		total += gt.Lag
		out = append(out, gt)
	}
	slices.SortFunc(out, func(a, b GroupTopic) int { return strings.Compare(a.Topic, b.Topic) })
	return out, total
}

// lagText renders a lag for the table: "?" when some partition's end offset is unknown.
func lagText(lag int64, parts []PartitionLag) string {
	for _, p := range parts {
		if p.Lag < 0 {
			return fmt.Sprintf("%d+?", lag)
		}
	}
	return fmt.Sprint(lag)
}
