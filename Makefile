# The two commands: `make run` starts the product, `make test` runs every test.
# Both install what they need (as root) and work offline once installed.
.PHONY: run test deps build migrate stop-db bench bench-registry bench-native bench-providers bench-gateway bench-facade clean

deps:
	@scripts/install-deps.sh

build: deps
	swift build

run: build
	@scripts/run.sh

test: deps
	@scripts/test.sh

migrate: build
	@line=$$(scripts/local-postgres.sh start dev) && export "$$line" && .build/debug/model-registry migrate

# GET /api/models vs /healthz with wrk on a release build (127.0.0.1 only; see the script's header).
bench-registry: deps
	@scripts/bench-registry.sh

stop-db:
	@scripts/local-postgres.sh stop dev

# CPU cost of the native layers (CurlHTTP, Postgres) against a local hold server and libpq from C.
bench-native: deps
	@scripts/bench-native.sh

# llm-gateway end to end (release build, throwaway cluster, provider-stub): see benchmarks/gateway/bench.py.
bench-gateway: deps
	@scripts/bench-gateway.sh

# The /v1 facade's added latency over a direct provider-stub call (release build; benchmarks/facade/bench.py).
bench-facade: deps
	@benchmarks/facade/bench.sh

clean:
	rm -rf .build

# CPU per provider call (release build, provider-stub pinned to the other core) and a perf profile.
bench-providers: deps
	@scripts/bench-providers.sh
