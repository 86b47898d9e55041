package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafka-kraft/kafka-kraft/internal/kfaketest"
)

func TestFeatureWireMatchesKafka(t *testing.T) {
	t.Parallel()
	areq := kmsg.NewPtrApiVersionsRequest()
	areq.Version = apiVersionsVersion
	if err := areq.ReadFrom(encodeApiVersionsRequest()); err != nil || areq.ClientSoftwareName != clientID {
		t.Errorf("api versions request = %+v, %v", areq, err)
	}
	aresp := kmsg.NewPtrApiVersionsResponse()
	aresp.Version = apiVersionsVersion
	k := kmsg.NewApiVersionsResponseApiKey()
	k.ApiKey, k.MaxVersion = 3, 12
	aresp.ApiKeys = append(aresp.ApiKeys, k)
	for name, max := range map[string]int16{"metadata.version": 33, "share.version": 2} {
		sf := kmsg.NewApiVersionsResponseSupportedFeature()
		sf.Name, sf.MinVersion, sf.MaxVersion = name, 1, max
		aresp.SupportedFeatures = append(aresp.SupportedFeatures, sf)
	}
	aresp.FinalizedFeaturesEpoch = 7
	ff := kmsg.NewApiVersionsResponseFinalizedFeature()
	ff.Name, ff.MaxVersionLevel, ff.MinVersionLevel = "metadata.version", 30, 30
	aresp.FinalizedFeatures = append(aresp.FinalizedFeatures, ff)
	lv, err := decodeApiVersionsResponse(aresp.AppendTo(nil))
	if err != nil || fmt.Sprint(lv.Supported) != "map[metadata.version:33 share.version:2]" || fmt.Sprint(lv.Finalized) != "map[metadata.version:30]" {
		t.Errorf("api versions response = %+v, %v", lv, err)
	}

	ureq := kmsg.NewPtrUpdateFeaturesRequest()
	ureq.Version = updateFeaturesVersion
	if err := ureq.ReadFrom(encodeUpdateFeaturesRequest(5000, map[string]int16{"share.version": 2, "metadata.version": 33})); err != nil {
		t.Fatal(err)
	}
	if u := ureq.FeatureUpdates; len(u) != 2 || u[0].Feature != "metadata.version" || u[0].MaxVersionLevel != 33 || u[0].UpgradeType != upgradeTypeUpgrade || ureq.ValidateOnly {
		t.Errorf("update features request = %+v", ureq)
	}
	uresp := kmsg.NewPtrUpdateFeaturesResponse()
	uresp.Version = updateFeaturesVersion
	r := kmsg.NewUpdateFeaturesResponseResult()
	r.Feature, r.ErrorCode = "metadata.version", 42
	uresp.Results = append(uresp.Results, r)
	if err := decodeUpdateFeaturesResponse(uresp.AppendTo(nil)); err == nil || !strings.Contains(err.Error(), "metadata.version: error 42") {
		t.Errorf("update features error answer: %v", err)
	}
	if err := (featureTargets{}).Set("metadata.version=abc"); err == nil {
		t.Error("-feature metadata.version=abc accepted")
	}
}

// TestApiVersionsHeaderAgainstKfake: ApiVersions answers with response header v0 (no tagged
// fields) even at flexible versions; a real round trip decodes.
func TestApiVersionsHeaderAgainstKfake(t *testing.T) {
	t.Parallel()
	c := kfaketest.WithTopic(t, "t", 1, 1)
	r := &clusterRun{request: 5 * time.Second}
	if _, err := r.apiVersions(c.ListenAddrs()[0]); err != nil {
		t.Fatalf("api versions against kfake: %v", err)
	}
}
