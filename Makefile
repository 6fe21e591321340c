# The single entry point for building, generating, checking and testing.
# Run "make help" for the list of targets.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

BUF := go tool -modfile=tools/go.mod buf
GO_TEST_FLAGS ?= -race -shuffle=on -count=1

.PHONY: help
help: ## Show this help.
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

.PHONY: run
run: ## The main job: serve the echo agent on gRPC 127.0.0.1:50051 and HTTP 127.0.0.1:8080 (Ctrl-C stops it).
	go run ./cmd/a2agrpc serve

.PHONY: test
test: ## Run every test with the race detector, third-party interop included.
	go test $(GO_TEST_FLAGS) ./...
	cd interop && go test $(GO_TEST_FLAGS) ./...

.PHONY: interop
interop: ## Only the interop suite: a2a-go's clients against a2agrpc serve.
	cd interop && go test $(GO_TEST_FLAGS) -v ./...

.PHONY: bench
bench: ## Measure the gRPC server against bare grpc-go (pinned cores, medians; see BENCHMARKS.md).
	./scripts/bench.sh

.PHONY: bench-stores
bench-stores: ## Send+complete and streaming figures on the memory, SQLite and PostgreSQL stores (see BENCHMARKS.md).
	./scripts/bench-stores.sh

.PHONY: googleapis
googleapis: ## Fetch the pinned googleapis protos into third_party/ (git-ignored).
	./scripts/sync-googleapis.sh

.PHONY: generate
generate: googleapis ## Regenerate gen/ from proto/ with buf and the local plugins.
	$(BUF) generate

.PHONY: checkgenerate
checkgenerate: generate ## Fail if regenerating changes gen/.
	@if [[ -n "$$(git status --porcelain -- gen)" ]]; then \
		git status --porcelain -- gen; git --no-pager diff --stat -- gen; \
		echo "gen/ is stale: run 'make generate' and commit the result" >&2; exit 1; fi

.PHONY: lint
lint: googleapis ## gofmt, go vet, buf lint and the buf format check.
	@if [[ -n "$$(gofmt -l .)" ]]; then gofmt -l .; echo "run gofmt -w on the files above" >&2; exit 1; fi
	go vet ./...
	cd interop && go vet ./...
	$(BUF) lint
	$(BUF) format -d --exit-code proto

.PHONY: checktidy
checktidy: ## Fail if go.mod/go.sum of the root, tools or interop module are not tidy.
	go mod tidy -diff
	cd tools && go mod tidy -diff
	cd interop && go mod tidy -diff

.PHONY: ci
ci: checktidy lint checkgenerate test ## Everything CI runs (see .ci/run).
