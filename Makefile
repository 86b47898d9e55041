# kafka-kraft: Apache Kafka in KRaft mode on Kubernetes, as a Pulumi program in Go.
# `make help` lists the targets. The two that matter on a fresh machine: `make deploy` and `make test`.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

STACK ?=
GO ?= go
# Tier time limits: generous ceilings, not performance assertions (benchmarks measure speed).
IMAGE_TIMEOUT ?= 40m
E2E_TIMEOUT ?= 60m

export GOFLAGS ?= -mod=readonly
GOLANGCI_LINT_VERSION ?= v2.15.0
GOLANGCI_LINT := $(shell $(GO) env GOPATH)/bin/golangci-lint-$(GOLANGCI_LINT_VERSION)

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

##@ Use
.PHONY: deploy
deploy: ## Deploy (pulumi up) the stack STACK (default dev; "local" on offline machines), installing what is missing
	STACK=$(STACK) scripts/deploy.sh up

.PHONY: preview
preview: ## Show what `make deploy` would change
	STACK=$(STACK) scripts/deploy.sh preview

.PHONY: outputs
outputs: ## Print the stack outputs (bootstrap addresses, image, cluster id, kcat command)
	STACK=$(STACK) scripts/deploy.sh outputs

.PHONY: smoke
smoke: ## Smoke test and benchmark the deployed cluster (BROKERS=host:port,... or the stack's externalBootstrapServers)
	$(if $(BROKERS),$(GO) run ./cmd/smoke -brokers $(BROKERS) $(SMOKE_FLAGS),STACK=$(STACK) SMOKE_FLAGS="$(SMOKE_FLAGS)" scripts/deploy.sh smoke)

.PHONY: status
status: ## Brokers, quorum, topics, under-replicated/offline partitions, consumer lag; fails when unhealthy (BROKERS=host:port,... or the stack's outputs)
	$(if $(BROKERS),$(GO) build -o bin/status ./cmd/status && bin/status -brokers $(BROKERS) $(STATUS_FLAGS),STACK=$(STACK) STATUS_FLAGS="$(STATUS_FLAGS)" scripts/deploy.sh status)

.PHONY: destroy
destroy: ## Tear the stack down (pulumi destroy); hostPath data stays on the nodes
	STACK=$(STACK) scripts/deploy.sh destroy

##@ Test
.PHONY: test
test: unit image-test e2e ## Every tier: unit (pure + mock + kfake), image (real Kafka in Docker), e2e (real Kubernetes)

.PHONY: unit
unit: fmt-check vet lint ## Pure, mock and kfake tiers plus static checks (no Docker, no cluster; about a minute)
	scripts/install-prometheus.sh promtool
	$(GO) test -count=1 ./...
	@# The example is a module of its own (a program outside this one, using the components as a library).
	cd examples/existing-image && $(GO) vet ./... && $(GO) test -count=1 ./...

.PHONY: image-test
image-test: ## Image tier: builds the Kafka image offline and runs real 3-node and 1-node KRaft clusters in Docker
	scripts/install-docker.sh
	$(GO) test -tags image -count=1 -timeout $(IMAGE_TIMEOUT) -v ./tests/image/ 2>&1 | scripts/tier-log.sh image

.PHONY: e2e
e2e: ## End-to-end tier: deploys the program to a real Kubernetes (KUBECONFIG, else a local one) and tears it down
	env=$$(scripts/e2e-setup.sh) && eval "$$env" && $(GO) test -tags e2e -count=1 -timeout $(E2E_TIMEOUT) -v ./tests/e2e/ 2>&1 | scripts/tier-log.sh e2e

.PHONY: bench
bench: ## Benchmarks that need nothing but Go (the smoke test against kfake)
	$(GO) test -run '^$$' -bench . -benchmem ./internal/...

.PHONY: bench-image bench-tls bench-metrics bench-deploy
bench-image: ## Smoke test vs kafka-producer-perf-test on one real 3-node cluster in Docker (ratio reported)
	scripts/install-docker.sh
	$(GO) test -tags image -run '^$$' -bench SmokeVersusProducerPerf -benchtime 1x -timeout 30m ./tests/image/

bench-tls: ## Smoke throughput with security "tls" (TLS + SCRAM) against "none" on this machine (ratio reported)
	scripts/install-docker.sh
	$(GO) test -tags image -run '^$$' -bench SmokeTLSVersusPlaintext -benchtime 3x -timeout 30m ./tests/image/

bench-metrics: ## What the Prometheus JMX exporter costs a node: CPU and memory with and without it, scrape durations
	scripts/install-docker.sh
	$(GO) test -tags image -run '^$$' -bench ExporterCost -benchtime 1x -timeout 30m ./tests/image/

bench-deploy: ## Up from nothing, one restart and one roll on a real cluster, phase by phase, beside kubectl apply and docker run of the same objects and image (ratios)
	env=$$(scripts/e2e-setup.sh) && eval "$$env" && $(GO) test -tags e2e -run '^$$' -bench Deploy -benchtime 1x -timeout 45m ./tests/e2e/

##@ Build
.PHONY: images
images: ## Build the Kafka, kcat and registry images offline with the docker CLI
	scripts/build-images.sh

.PHONY: build
build: ## Compile everything, test tiers included
	$(GO) build ./...
	$(GO) vet -tags image,e2e ./...

.PHONY: vet
vet: ## go vet, every build tag
	$(GO) vet ./...
	$(GO) vet -tags image ./tests/image/
	$(GO) vet -tags e2e ./tests/e2e/

.PHONY: lint
lint: $(GOLANGCI_LINT) ## golangci-lint (.golangci.yml), installed at a pinned version on first use
	$(GOLANGCI_LINT) run ./...

$(GOLANGCI_LINT):
	@echo "installing golangci-lint $(GOLANGCI_LINT_VERSION) (a few minutes the first time)"
	tmp=$$(mktemp -d) && GOFLAGS= GOBIN=$$tmp $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION) \
	  && mkdir -p $(dir $@) && mv $$tmp/golangci-lint $@ && rmdir $$tmp

.PHONY: fmt-check
fmt-check: ## Fail when gofmt would change a file
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

.PHONY: broker-keys
broker-keys: ## Regenerate internal/kraft/brokerkeys/<version>.txt of every supported release from the Kafka jars
	for v in $$(ls internal/kraft/brokerkeys | sed 's/\.txt$$//'); do KAFKA_VERSION=$$v scripts/gen-broker-keys.sh || exit 1; done
