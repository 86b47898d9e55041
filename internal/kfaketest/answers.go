package kfaketest

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Voter is a voter of the metadata quorum AnswerDescribeQuorum reports: its id, log end offset
// and last fetch time (milliseconds on the leader's clock).
type Voter struct {
	ID                 int32
	LogEndOffset       int64
	LastFetchTimestamp int64
}

// AnswerDescribeQuorum makes c answer every DescribeQuorum (kfake does not implement it) with a
// quorum led by leader (-1: none) whose voters are voters. Each voter is reported caught up at
// its last fetch.
func AnswerDescribeQuorum(c *kfake.Cluster, leader int32, voters ...Voter) {
	c.ControlKey(int16(kmsg.DescribeQuorum), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		req := kreq.(*kmsg.DescribeQuorumRequest)
		res := req.ResponseKind().(*kmsg.DescribeQuorumResponse)
		p := kmsg.NewDescribeQuorumResponseTopicPartition()
		p.LeaderID, p.LeaderEpoch = leader, 1
		for _, v := range voters {
			r := kmsg.NewDescribeQuorumResponseTopicPartitionReplicaState()
			r.ReplicaID, r.LogEndOffset = v.ID, v.LogEndOffset
			r.LastFetchTimestamp, r.LastCaughtUpTimestamp = v.LastFetchTimestamp, v.LastFetchTimestamp
			p.CurrentVoters = append(p.CurrentVoters, r)
			if v.ID == leader {
				p.HighWatermark = v.LogEndOffset
			}
		}
		t := kmsg.NewDescribeQuorumResponseTopic()
		t.Topic = "__cluster_metadata"
		t.Partitions = append(t.Partitions, p)
		res.Topics = append(res.Topics, t)
		return res, nil, true
	})
}

// OverrideMetadata makes c answer every later Metadata request with its metadata of now, as edit
// changes it: a way to show clients a leaderless partition or a short ISR, which kfake never has.
func OverrideMetadata(t testing.TB, c *kfake.Cluster, edit func(*kmsg.MetadataResponse)) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	now, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("metadata: %v", err)
	}
	edit(now)
	c.ControlKey(int16(kmsg.Metadata), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		res := *now
		res.Version = kreq.GetVersion()
		return &res, nil, true
	})
}

// CommitOffsets produces n records to each partition of topic and commits offset committed in
// each for group, as a consumer of group would have.
func CommitOffsets(t testing.TB, c *kfake.Cluster, group, topic string, partitions int32, n int, committed int64) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for p := range partitions {
		for range n {
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Partition: p, Value: []byte("v")}).FirstErr(); err != nil {
				t.Fatalf("produce: %v", err)
			}
		}
	}
	// OffsetCommit v10 names topics by id, and kgo sends the newest version kfake takes.
	md := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr(topic)
	md.Topics = append(md.Topics, mt)
	mres, err := md.RequestWith(ctx, cl)
	if err != nil || len(mres.Topics) != 1 {
		t.Fatalf("metadata of %s: %v", topic, err)
	}
	commit := kmsg.NewPtrOffsetCommitRequest()
	commit.Group, commit.Generation = group, -1
	ct := kmsg.NewOffsetCommitRequestTopic()
	ct.Topic, ct.TopicID = topic, mres.Topics[0].TopicID
	for p := range partitions {
		cp := kmsg.NewOffsetCommitRequestTopicPartition()
		cp.Partition, cp.Offset = p, committed
		ct.Partitions = append(ct.Partitions, cp)
	}
	commit.Topics = append(commit.Topics, ct)
	res, err := commit.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("commit: %v", err)
	}
	for _, rt := range res.Topics {
		for _, rp := range rt.Partitions {
			if rp.ErrorCode != 0 {
				t.Fatalf("commit %s/%d: error code %d", rt.Topic, rp.Partition, rp.ErrorCode)
			}
		}
	}
}
