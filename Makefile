# Steward — build and tasks. `make test`, `make demo` and `make bench` work on a fresh Debian
# machine: they install what they need (npm packages, and the Debian packages the tests use).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

NODE ?= node
TESTS ?= $(shell find test -name '*.test.ts' 2>/dev/null | sed 's|^|build/|; s|\.ts$$|.js|' | sort)
# The tests that send and receive ZFS streams run one at a time, after the others: zfs-fuse's
# daemon has hung (every file access on every pool waiting forever) when they ran beside other
# ZFS work (docs/decisions.md). A hung test fails after TEST_TIMEOUT ms instead of hanging CI.
SERIAL_TESTS := $(filter build/test/drivers/backup/cold.test.js build/test/drivers/backup/hot.test.js build/test/drivers/backup/remote.test.js build/test/drivers/backup/replica.test.js build/test/cli/backup.test.js build/test/cli/backup-progress.test.js build/test/cli/restore-swap.test.js build/test/cli/failover.test.js,$(TESTS))
TEST_TIMEOUT ?= 600000

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

.PHONY: deps build test test-sim host demo bench clean
deps: node_modules/.installed

build: deps
	npm run --silent build

# The Debian packages and daemons the integration tests need (zfs-fuse, sshd, git, ansible).
host:
	scripts/test-host.sh setup

test: build host
	$(NODE) --test --test-concurrency=2 --test-timeout=$(TEST_TIMEOUT) --test-reporter=spec $(filter-out $(SERIAL_TESTS),$(TESTS))
	$(if $(SERIAL_TESTS),$(NODE) --test --test-concurrency=1 --test-timeout=$(TEST_TIMEOUT) --test-reporter=spec $(SERIAL_TESTS))

# The FreeBSD tool simulator's own scenarios (sim/README.md): no root, no zfs-fuse.
# STEWARD_SIM_REAL=1 on a FreeBSD host runs them against the real tools instead.
test-sim: build
	$(NODE) --test --test-reporter=spec $(filter build/test/sim/%,$(TESTS))

demo: build host
	scripts/demo.sh

bench: build host
	@for b in build/bench/*.bench.js; do $(NODE) "$$b"; done

clean:
	rm -rf build
