# Thin wrapper around CMake; the README's two commands are `make run` and
# `make test`. Both install missing Debian packages through scripts/deps.sh.
BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz
PREFIX     ?= /usr/local
JOBS       ?= $(shell nproc)
DEMO_ADDR  ?= 127.0.0.1
DEMO_PORT  ?= 5353
DEMO_HTTP_PORT ?= 8053

.PHONY: all deps build binary run test test-fast test-asan test-tsan bench fuzz install clean format drill

all: build

deps:
	@sh scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# Only the binary: what `make run` and `make bench` need.
binary: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) --target dnsblkit

# Starts the demo list server in the foreground (Ctrl-C stops it).
run: binary
	@sh scripts/demo.sh $(BUILD)/dnsblkit $(DEMO_ADDR) $(DEMO_PORT) $(DEMO_HTTP_PORT)

# Every test tier, then the whole suite again under ASan+UBSan, then the
# server's threaded tests under ThreadSanitizer.
test: test-fast test-asan test-tsan

test-fast: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DDBK_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

# ThreadSanitizer over what runs threads: the unit tests of src/server and
# src/listing (epoch, rate limit table, live map, store, transfers), and
# the system tests that load a running `serve` from several sides at once
# (swaps under load, live refreshes, the HTTP thread, TCP beside UDP, the
# rate limit table, transfers on their own threads, the IXFR history and
# NOTIFY threads beside them, TCP limits). Only
# those targets are built; a race fails the test.
TSAN_UNITS  = $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/server/test_*.c tests/unit/listing/test_*.c))
TSAN_SYSTEM ?= test_reload.py test_listing.py test_ratelimit.py test_http.py test_protocol.py \
               test_axfr.py test_ixfr.py test_tcp_limits.py
test-tsan: deps
	@cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DDBK_TSAN=ON >/dev/null
	@cmake --build $(TSAN_BUILD) -j $(JOBS) --target dnsblkit $(subst /,_,$(TSAN_UNITS:%=unit_%))
	@cd $(TSAN_BUILD) && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  ctest --output-on-failure -j $(JOBS) -R '^unit/(server|listing)/'
	@DNSBLKIT=$(abspath $(TSAN_BUILD))/dnsblkit DNSBLKIT_SANITIZE=thread \
	  /usr/bin/python3 -m pytest -q -p no:cacheprovider $(TSAN_SYSTEM:%=tests/system/%)

# bench/run.sh: bench.py (serve vs rbldnsd vs floor; BENCH_ARGS), then
# listing_bench.py (report ingest, add-to-DNS latency; LBENCH_ARGS);
# BENCH_ONLY=serve or BENCH_ONLY=listing runs one of them.
bench: binary
	@sh bench/run.sh $(BUILD)/dnsblkit

# The SpamCop incident drill (docs/incident-drill.md): Postfix, Unbound,
# dnsblkit serve and policyd, and a list that breaks five ways, in network,
# mount and PID namespaces of the drill's own. Needs root. Prints the table
# of what policyd and plain reject_rbl_client did; DRILL_ARGS such as
# `--json drill.json` or `--check freshness=500ms`.
drill: binary
	@/usr/bin/python3 tests/system/drill.py --dnsblkit $(BUILD)/dnsblkit $(DRILL_ARGS)

# Builds the libFuzzer harnesses and runs each for FUZZ_SECONDS (default 60).
fuzz: deps
	@cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DDBK_SANITIZE=ON -DDBK_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@sh tests/fuzz/run.sh $(FUZZ_BUILD) $${FUZZ_SECONDS:-60}

install: build
	@cmake --install $(BUILD) --prefix $(PREFIX)

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD)
