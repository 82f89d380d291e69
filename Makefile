# earshot — `make run` starts the whole pipeline, `make test` runs every test.
GO       ?= go
BIN      := bin/earshot
CONFIG   ?= deploy/earshot.yaml
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)

.PHONY: all build deps test-deps run demo test race soak cluster-test stream-cluster-test chart-render chart-check vet fmt-check bench bench-e2e fuzz fuzz-short clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/earshot

# Installs clickhouse-server from the system's packages when it is missing.
deps:
	bash scripts/ensure-clickhouse.sh

run: build deps
	./$(BIN) run --config $(CONFIG)

demo: build deps
	./$(BIN) demo --config deploy/demo.yaml

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# What the tests need besides ClickHouse: promtool (alert rules), chromium
# (the console's browser test) and ZooKeeper (the replicated ClickHouse
# cluster tests).
test-deps:
	bash scripts/ensure-test-tools.sh
	bash scripts/ensure-cluster-tools.sh

# Every test, including integration tests against an embedded NATS
# JetStream server and a real clickhouse-server (installed by `deps`).
test: deps test-deps fmt-check vet
	$(GO) test -count=1 -timeout 14m ./...

# The concurrent parts under the race detector (not part of `make test`: slower).
race: deps test-deps
	$(GO) test -race -count=1 -timeout 20m ./pipeline/... ./cmd/... ./enrich/detect/... ./enrich/dedup/... ./connectors/...

# Steady load for $(SOAK) while ClickHouse and NATS restart again and again;
# every mention must be stored exactly once (not part of `make test`).
SOAK ?= 5m
soak: deps
	EARSHOT_SOAK=$(SOAK) $(GO) test -tags soak -run TestSoak -count=1 -timeout 60m -v ./cmd/earshot/

# Roles as separate processes against a three-server NATS cluster (R3, TLS,
# NKeys) and a replicated ClickHouse cluster (ZooKeeper, TLS), killing
# servers and roles under a steady stream; every mention must be stored
# exactly once (a few minutes; not part of `make test`). ClickHouse is two
# shards of two replicas; EARSHOT_CLUSTER_1X2=1 runs one shard on a smaller machine.
# A full R3 stream freeing what its consumer acknowledged across a leader
# kill (see pipeline/reclaim_cluster_test.go; CI runs it after the cluster proof).
stream-cluster-test: deps
	$(GO) test -tags clusterproof -run TestFullStreamOnR3ClusterFreesAcrossALeaderKill -count=1 -timeout 5m -v ./pipeline/

cluster-test: deps test-deps
	$(GO) test -tags clusterproof -run TestClusterProof -count=1 -timeout 20m -v ./cmd/earshot/

# The Helm chart rendered by Helm's own engine (a separate Go module, so the
# main module does not depend on Helm); the main module's tests check the
# rendered manifests against the code. chart-check fails when they are stale.
chart-render:
	cd deploy/kubernetes/chartcheck && $(GO) run . -chart ../chart/earshot -out ../chart/rendered
chart-check:
	cd deploy/kubernetes/chartcheck && $(GO) run . -chart ../chart/earshot -out ../chart/rendered -check

# Benchmarks: each hot path next to its baseline, measured in the same run.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./...

# End to end: publish to queryable through NATS, earshot and ClickHouse,
# next to a ceiling measured in the same run (README, Benchmarks).
bench-e2e: build deps
	./$(BIN) bench --json

# Fuzzing of every parser, one `go test -fuzz` per target (they cannot share
# a run), each for $(FUZZTIME). `make test` runs every target's seed corpus;
# `fuzz-short` fuzzes each for 10 s (not in CI: random by nature). A crasher
# lands in the package's testdata/fuzz/<Target>/ and is then a regression test.
# Minimising a new interesting input is capped at $(FUZZMINIMIZE): with Go's
# default (60 s) a target with large seeds (the codec's 200 KB text) spends
# most of a short run shrinking instead of trying inputs (21k inputs in 60 s
# against 94k with 5 s, session 7).
FUZZTIME ?= 60s
FUZZMINIMIZE ?= 5s
FUZZ_TARGETS := \
	./connectors/rss:FuzzFeed \
	./connectors/twitter:FuzzV2StreamLine \
	./connectors/twitter:FuzzV1Status \
	./connectors/reddit:FuzzListing \
	./connectors/mastodon:FuzzStatus \
	./connectors/bluesky:FuzzEvent \
	./connectors/hackernews:FuzzSearch \
	./connectors/stackexchange:FuzzWrapper \
	./connectors/discourse:FuzzPost \
	./connectors/youtube:FuzzCommentThreads \
	./connectors/appstore:FuzzReviewsFeed \
	./pipeline:FuzzMentionCodec \
	./pipeline:FuzzMentionCodecMatchesEncodingJSON \
	./pipeline:FuzzDecodeAll \
	./cmd/earshot:FuzzParseConfig \
	./enrich/topics/query:FuzzParse \
	./enrich/topics/query:FuzzFoldTable \
	./enrich/topics:FuzzMatch \
	./enrich/sentiment:FuzzScore \
	./enrich/entities:FuzzExtract \
	./enrich/lang:FuzzDetect
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t#*:} in $${t%%:*} for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) "$${t%%:*}"; \
	done

fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=10s

clean:
	rm -rf bin
