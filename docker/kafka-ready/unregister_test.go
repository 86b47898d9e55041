package main

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestUnregisterWireMatchesKafka(t *testing.T) {
	t.Parallel()
	dreq := kmsg.NewPtrDescribeClusterRequest()
	dreq.Version = describeClusterVersion
	if err := dreq.ReadFrom(encodeDescribeClusterRequest()); err != nil || !dreq.IncludeFencedBrokers || dreq.EndpointType != 1 {
		t.Errorf("describe cluster request = %+v, %v", dreq, err)
	}
	dresp := kmsg.NewPtrDescribeClusterResponse()
	dresp.Version = describeClusterVersion
	for _, b := range []struct {
		id     int32
		fenced bool
	}{{0, false}, {3, true}} {
		br := kmsg.NewDescribeClusterResponseBroker()
		br.NodeID, br.Host, br.Port, br.IsFenced = b.id, "kafka-x", 9092, b.fenced
		dresp.Brokers = append(dresp.Brokers, br)
	}
	regs, err := decodeDescribeClusterResponse(dresp.AppendTo(nil))
	if err != nil || fmt.Sprint(regs) != "[{0 false} {3 true}]" {
		t.Errorf("describe cluster response = %v, %v", regs, err)
	}

	ureq := kmsg.NewPtrUnregisterBrokerRequest()
	ureq.Version = unregisterBrokerVersion
	if err := ureq.ReadFrom(encodeUnregisterBrokerRequest(3)); err != nil || ureq.BrokerID != 3 {
		t.Errorf("unregister request = %+v, %v", ureq, err)
	}
	// "Not registered" is success: the id is gone either way.
	for code, ok := range map[int16]bool{0: true, errBrokerIDNotRegistered: true, 41: false} {
		uresp := kmsg.NewPtrUnregisterBrokerResponse()
		uresp.Version = unregisterBrokerVersion
		uresp.ErrorCode = code
		if err := decodeUnregisterBrokerResponse(uresp.AppendTo(nil)); (err == nil) != ok {
			t.Errorf("unregister answer with code %d: err %v", code, err)
		}
	}
}
