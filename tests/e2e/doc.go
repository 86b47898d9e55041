// Package e2e is the end-to-end tier: the kafka-kraft program deploys to a real Kubernetes cluster
// through the Automation API, exactly as `make deploy` does, and the tests prove what a user relies
// on: every pod becomes Ready, clients on the host and inside the cluster produce and consume, the
// in-cluster registry serves images to the kubelet, a second `up` changes nothing, a deleted broker
// loses no acknowledged write, a scale-up adds a broker, unsafe changes are refused, and `destroy`
// leaves nothing behind.
//
// The tests sit behind the build tag `e2e` and read their environment from scripts/e2e-setup.sh;
// without it they fail and say what is missing (they never skip):
//
//	eval "$(scripts/e2e-setup.sh)"
//	go test -tags e2e -count=1 -timeout 60m -v ./tests/e2e/
//
// -v streams the Pulumi engine and smoke progress and shows the TIMING and MEASURED lines.
// KAFKA_E2E_ARTIFACTS=DIR keeps the engine log and, on failure, pod logs, events and describe output
// (default: a folder under the system temp dir, named in the test log).
package e2e
