# The two commands: `make run` starts the product, `make test` runs every test.
# Both install what they need (as root) and work offline once installed.
.PHONY: run test deps build migrate stop-db bench bench-gateway clean

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

stop-db:
	@scripts/local-postgres.sh stop dev

# llm-gateway end to end (release build, throwaway cluster, provider-stub): see benchmarks/gateway/bench.py.
bench-gateway: deps
	@scripts/bench-gateway.sh

clean:
	rm -rf .build
