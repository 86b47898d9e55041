package status

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol/metadata"

	"github.com/kafka-kraft/kafka-kraft/internal/status/describequorum"
)

// Gather reads the cluster's state through one kafka-go client and evaluates it against
// cfg.Expect. It fails only when the cluster cannot be read at all (no bootstrap address answers
// the metadata request); a part that cannot be read (the quorum, the topics' settings, the
// consumer groups) is reported as unknown, with the reason, in the report.
func Gather(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.RequestTimeout = cmp.Or(cfg.RequestTimeout, DefaultRequestTimeout)
	tr, err := cfg.Auth.Transport(cfg.RequestTimeout / 2)
	if err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	// The transport's background goroutines (metadata refresh, connection reads) end with
	// Gather, not with the caller's context.
	tctx, tcancel := context.WithCancel(context.Background())
	defer tcancel()
	defer tr.CloseIdleConnections()
	tr.Context, tr.ClientID = tctx, clientID
	g := &gatherer{cfg: cfg, client: &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Transport: tr, Timeout: cfg.RequestTimeout}}

	md, err := g.metadata(ctx)
	if err != nil {
		return nil, fmt.Errorf("status: metadata from %s: %w", strings.Join(cfg.Brokers, ","), err)
	}
	rep := fromMetadata(md)
	rep.Bootstrap = slices.Clone(cfg.Brokers)
	g.minInsyncReplicas(ctx, rep.Topics)
	rep.Quorum = g.quorum(ctx)
	rep.Groups, rep.GroupsError = g.groups(ctx, rep.Topics)
	rep.Problems = append([]Problem{}, Evaluate(*rep, cfg.Expect)...) // [] rather than null in JSON
	rep.Healthy = len(rep.Problems) == 0
	return rep, nil
}

type gatherer struct {
	cfg    Config
	client *kafka.Client
}

// call bounds one network call.
func (g *gatherer) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, g.cfg.RequestTimeout)
}

// callErr explains a call that ran out of time.
func (g *gatherer) callErr(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no answer within %s: %w", g.cfg.RequestTimeout, err)
	}
	return err
}

// bootstrapTimeout bounds the metadata call to one bootstrap address: a hung broker (a frozen JVM,
// a node cut off) accepts connections and answers nothing, and must not cost the whole run.
const bootstrapTimeout = 5 * time.Second

// metadata reads the whole cluster's metadata in kafka-go's protocol form: its higher-level
// Client.Metadata turns a leader of -1 and replicas on brokers that are down into broker 0
// (it looks the ids up among the live brokers), which would hide exactly what this check is for.
// It asks the bootstrap addresses one at a time until one answers, and points the client at that
// one for the calls that go to "any broker" (DescribeQuorum, the transport's own metadata): seen
// in the e2e tier, a status run with one broker's JVM stopped otherwise gave up with an i/o
// timeout from that broker (exit 2) instead of reporting it (exit 1).
func (g *gatherer) metadata(ctx context.Context) (*metadata.Response, error) {
	var errs []error
	for _, addr := range g.cfg.Brokers {
		cctx, cancel := context.WithTimeout(ctx, min(g.cfg.RequestTimeout, bootstrapTimeout))
		m, err := g.client.Transport.RoundTrip(cctx, kafka.TCP(addr), &metadata.Request{})
		cancel()
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				err = fmt.Errorf("no answer within %s: %w", min(g.cfg.RequestTimeout, bootstrapTimeout), err)
			}
			errs = append(errs, fmt.Errorf("%s: %w", addr, err))
			if ctx.Err() != nil {
				break
			}
			continue
		}
		res, ok := m.(*metadata.Response)
		if !ok {
			return nil, fmt.Errorf("unexpected answer %T", m)
		}
		g.client.Addr = kafka.TCP(addr)
		return res, nil
	}
	return nil, errors.Join(errs...)
}

// fromMetadata is the part of a report a Metadata answer gives: brokers and topics, sorted.
func fromMetadata(md *metadata.Response) *Report {
	rep := &Report{ClusterID: md.ClusterID, Brokers: []Broker{}, Topics: []Topic{}, Quorum: Quorum{LeaderID: -1}}
	for _, b := range md.Brokers {
		rep.Brokers = append(rep.Brokers, Broker{ID: b.NodeID, Address: net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port))), Rack: b.Rack})
	}
	slices.SortFunc(rep.Brokers, func(a, b Broker) int { return cmp.Compare(a.ID, b.ID) })
	for _, t := range md.Topics {
		topic := Topic{Name: t.Name, Internal: t.IsInternal, Error: errorText(t.ErrorCode), Partitions: []Partition{}}
		for _, p := range t.Partitions {
			topic.Partitions = append(topic.Partitions, Partition{
				ID: p.PartitionIndex, Leader: p.LeaderID, Error: errorText(p.ErrorCode),
				Replicas: orEmpty(p.ReplicaNodes), ISR: orEmpty(p.IsrNodes), Offline: p.OfflineReplicas,
			})
			topic.ReplicationFactor = max(topic.ReplicationFactor, len(p.ReplicaNodes))
		}
		slices.SortFunc(topic.Partitions, func(a, b Partition) int { return cmp.Compare(a.ID, b.ID) })
		rep.Topics = append(rep.Topics, topic)
	}
	slices.SortFunc(rep.Topics, func(a, b Topic) int { return strings.Compare(a.Name, b.Name) })
	return rep
}

// orEmpty keeps an empty list a list in the JSON report ([] rather than null).
func orEmpty(ids []int32) []int32 {
	if ids == nil {
		return []int32{}
	}
	return slices.Clone(ids)
}

// errorText names a Kafka error code ("" for none).
func errorText(code int16) string {
	if code == 0 {
		return ""
	}
	return fmt.Sprintf("%s (%d)", kafka.Error(code).Title(), code)
}

// minInsyncReplicas reads every topic's effective min.insync.replicas (its own value, else the
// cluster's or the broker's default: DescribeConfigs answers the one that applies) in one request.
func (g *gatherer) minInsyncReplicas(ctx context.Context, topics []Topic) {
	if len(topics) == 0 {
		return
	}
	req := &kafka.DescribeConfigsRequest{}
	for _, t := range topics {
		req.Resources = append(req.Resources, kafka.DescribeConfigRequestResource{
			ResourceType: kafka.ResourceTypeTopic, ResourceName: t.Name, ConfigNames: []string{"min.insync.replicas"},
		})
	}
	cctx, cancel := g.call(ctx)
	defer cancel()
	res, err := g.client.DescribeConfigs(cctx, req)
	byName := map[string]kafka.DescribeConfigResponseResource{}
	if err == nil {
		for _, r := range res.Resources {
			byName[r.ResourceName] = r
		}
	}
	for i := range topics {
		t := &topics[i]
		r, ok := byName[t.Name]
		switch {
		case err != nil:
			t.ConfigError = "DescribeConfigs: " + g.callErr(err).Error()
		case !ok:
			t.ConfigError = "not in the DescribeConfigs answer"
		case r.Error != nil:
			t.ConfigError = r.Error.Error()
		default:
			t.ConfigError = "the DescribeConfigs answer has no min.insync.replicas"
			for _, e := range r.ConfigEntries {
				if e.ConfigName != "min.insync.replicas" {
					continue
				}
				if n, perr := strconv.Atoi(e.ConfigValue); perr == nil && n > 0 {
					t.MinInsyncReplicas, t.ConfigError = n, ""
				} else {
					t.ConfigError = fmt.Sprintf("min.insync.replicas is %q", e.ConfigValue)
				}
			}
		}
	}
}

// quorum reads the metadata quorum; a failure (an ACL, a broker that does not forward the
// request) leaves it unknown, with the reason.
func (g *gatherer) quorum(ctx context.Context) Quorum {
	cctx, cancel := g.call(ctx)
	defer cancel()
	q, err := describequorum.Describe(cctx, g.client.Transport, g.client.Addr, clientID)
	if err != nil {
		// The call's deadline ends it either way: the context, or the connection's deadline that
		// kafka-go sets from it (an i/o timeout). Seen on a real cluster that lost two of its three
		// voters.
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
			return Quorum{LeaderID: -1, Leaderless: true, Error: fmt.Sprintf("no answer within %s (a broker forwards DescribeQuorum to the active controller: "+
				"no answer usually means the quorum has no leader): %v", g.cfg.RequestTimeout, err)}
		}
		leaderless := errors.Is(err, kafka.NotController) || errors.Is(err, kafka.NotLeaderForPartition)
		return Quorum{LeaderID: -1, Leaderless: leaderless, Error: err.Error()}
	}
	return Quorum{LeaderID: q.LeaderID, LeaderEpoch: q.LeaderEpoch, HighWatermark: q.HighWatermark,
		Voters: replicas(q.Voters), Observers: replicas(q.Observers)}
}

func replicas(in []describequorum.Replica) []Replica {
	out := make([]Replica, 0, len(in))
	for _, r := range in {
		out = append(out, Replica(r))
	}
	slices.SortFunc(out, func(a, b Replica) int { return cmp.Compare(a.ID, b.ID) })
	return out
}
