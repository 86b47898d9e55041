package status

// Report is what Gather learned about a cluster and what Evaluate found wrong with it. Every list
// is sorted (brokers and replicas by id, topics and groups by name, partitions by number), so two
// reports of the same state render the same.
type Report struct {
	ClusterID string `json:"clusterId"`
	// Bootstrap are the addresses the report was read through.
	Bootstrap []string `json:"bootstrap"`
	// Brokers are the brokers registered and unfenced: those the metadata lists.
	Brokers []Broker `json:"brokers"`
	Quorum  Quorum   `json:"quorum"`
	Topics  []Topic  `json:"topics"`
	Groups  []Group  `json:"groups"`
	// GroupsError is why the consumer groups or their lag could not be read ("" when they were).
	GroupsError string `json:"groupsError,omitempty"`
	// Problems is Evaluate's finding, most severe first; Healthy is true when there is none.
	Problems []Problem `json:"problems"`
	Healthy  bool      `json:"healthy"`
}

// Broker is one registered broker and the address it advertises to this client.
type Broker struct {
	ID      int32  `json:"id"`
	Address string `json:"address"`
	Rack    string `json:"rack,omitempty"`
}

// Quorum is the KRaft metadata quorum as its leader, the active controller, reports it.
type Quorum struct {
	// Error is why the quorum could not be read ("" when it was); the other fields are then zero.
	Error string `json:"error,omitempty"`
	// Leaderless is set with Error when the way it failed says the quorum has no leader: no
	// answer (a broker forwards DescribeQuorum to the active controller) or NOT_CONTROLLER /
	// NOT_LEADER_OR_FOLLOWER; not for an ACL or an API the broker lacks.
	Leaderless bool `json:"leaderless,omitempty"`
	// LeaderID is the active controller's node id, -1 when the quorum has no leader.
	LeaderID      int32 `json:"leaderId"`
	LeaderEpoch   int32 `json:"leaderEpoch"`
	HighWatermark int64 `json:"highWatermark"`
	// Voters are the controllers; Observers the broker-only nodes following the metadata log.
	Voters    []Replica `json:"voters"`
	Observers []Replica `json:"observers"`
}

// Known reports whether the quorum was read.
func (q Quorum) Known() bool { return q.Error == "" }

// Replica is one replica of the metadata log.
type Replica struct {
	ID int32 `json:"id"`
	// LogEndOffset is the replica's log end offset as the leader knows it, -1 when unknown.
	LogEndOffset int64 `json:"logEndOffset"`
	// LastFetchTimestamp and LastCaughtUpTimestamp are milliseconds since the epoch on the
	// leader's clock, -1 when unknown.
	LastFetchTimestamp    int64 `json:"lastFetchTimestamp"`
	LastCaughtUpTimestamp int64 `json:"lastCaughtUpTimestamp"`
}

// Topic is one topic and its partitions.
type Topic struct {
	Name     string `json:"name"`
	Internal bool   `json:"internal,omitempty"`
	// ReplicationFactor is the largest replica count of its partitions (a reassignment in
	// progress counts the replicas being added).
	ReplicationFactor int `json:"replicationFactor"`
	// MinInsyncReplicas is the topic's effective min.insync.replicas, 0 when it could not be read
	// (ConfigError says why).
	MinInsyncReplicas int         `json:"minInsyncReplicas"`
	ConfigError       string      `json:"configError,omitempty"`
	Error             string      `json:"error,omitempty"`
	Partitions        []Partition `json:"partitions"`
}

// Partition is one partition's replica state.
type Partition struct {
	ID int32 `json:"id"`
	// Leader is the leader's broker id, -1 when the partition has none (offline).
	Leader   int32   `json:"leader"`
	Replicas []int32 `json:"replicas"`
	ISR      []int32 `json:"isr"`
	// Offline are the replicas on brokers that are not running.
	Offline []int32 `json:"offlineReplicas,omitempty"`
	Error   string  `json:"error,omitempty"`
}

// Group is one consumer group and its lag: how far its committed offsets are behind the
// partitions' end offsets.
type Group struct {
	ID           string `json:"id"`
	State        string `json:"state"`
	ProtocolType string `json:"protocolType"`
	Coordinator  int32  `json:"coordinator"`
	Members      int    `json:"members"`
	// Lag is the sum of the partitions' lag that is known.
	Lag    int64        `json:"lag"`
	Topics []GroupTopic `json:"topics"`
	Error  string       `json:"error,omitempty"`
}

// GroupTopic is a group's lag on one topic.
type GroupTopic struct {
	Topic      string         `json:"topic"`
	Lag        int64          `json:"lag"`
	Partitions []PartitionLag `json:"partitions"`
}

// PartitionLag is a group's position in one partition. End and Lag are -1 when the end offset is
// unknown (the partition has no leader, or its leader did not answer).
type PartitionLag struct {
	Partition int32 `json:"partition"`
	Committed int64 `json:"committed"`
	End       int64 `json:"end"`
	Lag       int64 `json:"lag"`
}

// Severity says how bad a problem is. Every problem makes the cluster unhealthy.
type Severity string

const (
	// Critical: clients fail now (no leader, acks=all writes refused, no active controller).
	Critical Severity = "critical"
	// Warning: the cluster serves, with less redundancy than it should, or something could not be
	// checked.
	Warning Severity = "warning"
)

// Kinds of problems.
const (
	KindOffline         = "offline-partitions"
	KindUnderMinISR     = "under-min-isr"
	KindUnderReplicated = "under-replicated"
	KindTopicError      = "topic-error"
	KindMinISRUnknown   = "min-isr-unknown"
	KindMissingBrokers  = "missing-brokers"
	KindQuorumUnknown   = "quorum-unknown"
	KindNoLeader        = "no-active-controller"
	KindMissingVoters   = "missing-voters"
	KindVoterLagging    = "voter-lagging"
)

// Problem is one finding of Evaluate, about the cluster, a broker, a voter or a topic's partitions.
type Problem struct {
	Severity Severity `json:"severity"`
	Kind     string   `json:"kind"`
	// Topic and Partitions name the partitions concerned (for the partition rules).
	Topic      string  `json:"topic,omitempty"`
	Partitions []int32 `json:"partitions,omitempty"`
	// Nodes are the brokers or controllers concerned.
	Nodes   []int32 `json:"nodes,omitempty"`
	Message string  `json:"message"`
}
