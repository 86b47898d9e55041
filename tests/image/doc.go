// Package image is the image tier: the Kafka image from docker/ runs as a real KRaft cluster of
// docker containers, configured by the files internal/kraft renders, and must form a quorum, keep
// acknowledged data across restarts and failures, and refuse storage of another cluster.
//
// The tests sit behind the build tag `image` and need a Docker engine; without one they fail and
// say why. They build the images with scripts/build-images.sh (cached after the first run), or use
// KAFKA_IMAGE when it names an image that exists:
//
//	go test -tags image -count=1 -timeout 30m -v ./tests/image/
//
// -v shows the TIMING lines; IMAGE_TEST_LOG_DIR=DIR keeps every container's log.
package image
