# The two commands: `make run` starts the product, `make test` runs every test.
# Both install what they need (as root) and work offline once installed.
.PHONY: run test deps build migrate stop-db bench bench-sustained bench-registry bench-native bench-providers bench-gateway bench-facade bench-streaming clean

deps:
	@scripts/install-deps.sh

build: deps
	swift build

# Release build, local PostgreSQL (or DATABASE_URL), migrations, registry + one gateway; demo mode
# (provider-stub, demo agents and workflow) without provider keys. Ctrl-C stops it all. See scripts/run.sh.
run: deps
	@scripts/run.sh

# Also installs the test-only packages (docker-compose, chromium, chromium-driver).
test:
	@scripts/install-deps.sh --test
	@scripts/test.sh

migrate: build
	@line=$$(scripts/local-postgres.sh start dev) && export "$$line" && .build/debug/model-registry migrate

# The proof suite (docs/performance.md): release builds, a throwaway cluster, 127.0.0.1 only; a table
# on stdout and .build/bench/results.json. Parts: benchmarks/run.py PARTS (gateway, registry, peer).
bench: deps
	@scripts/bench.sh

# 10 minutes on a backlog kept at >= 1,000,000 ready jobs: jobs/s per minute (not in `make bench`).
bench-sustained: deps
	@scripts/bench.sh --parts sustained

# One part of `make bench` alone.
bench-gateway: deps
	@scripts/bench.sh --parts gateway

bench-registry: deps
	@scripts/bench.sh --parts registry

stop-db:
	@scripts/local-postgres.sh stop dev

# CPU cost of the native layers (CurlHTTP, Postgres) against a local hold server and libpq from C.
bench-native: deps
	@scripts/bench-native.sh

# The /v1 facade's added latency over a direct provider-stub call (release build; benchmarks/facade/bench.py).
bench-facade: deps
	@scripts/bench.sh --parts facade

# Live streaming's added TTFT and inter-chunk latency over a direct stream, and concurrent streams.
bench-streaming: deps
	@scripts/bench.sh --parts streaming

clean:
	rm -rf .build

# CPU per provider call (release build, provider-stub pinned to the other core) and a perf profile.
bench-providers: deps
	@scripts/bench-providers.sh
