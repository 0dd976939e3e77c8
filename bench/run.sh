#!/bin/sh
# `make bench`: dnsblkit serve, rbldnsd and the floor responder side by side
# on the same data (bench/bench.py; about 10 minutes on 2 cores).
# Usage: bench/run.sh path/to/dnsblkit [bench.py options]
#        BENCH_ARGS="--quick" make bench     (1M smoke run, under 3 minutes)
#        BENCH_ARGS="--data-dir /var/tmp/dnsblkit-bench" make bench
#                                             (keep the generated data)
set -eu
bin=${1:-build/dnsblkit}
shift || true
# shellcheck disable=SC2086 # BENCH_ARGS is a list of options
exec /usr/bin/python3 "$(dirname "$0")/bench.py" --bin "$bin" ${BENCH_ARGS:-} "$@"
