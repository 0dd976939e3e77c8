#!/bin/sh
# `make bench`: dnsblkit serve, rbldnsd and the floor responder side by side
# on the same data (bench/bench.py; about 10 minutes on 2 cores), then the
# listing engine: report ingest rate and add-to-DNS latency at 1M and 10M
# listings, beside rbldnsd (bench/listing_bench.py; about 10 minutes, and
# about 5 more the first time to generate its databases).
# Usage: bench/run.sh path/to/dnsblkit [bench.py options]
#        BENCH_ARGS="--quick" make bench     (1M smoke run, under 3 minutes)
#        BENCH_ARGS="--data-dir /var/tmp/dnsblkit-bench" make bench
#                                             (keep the generated data)
#        LBENCH_ARGS="--quick --data-dir /var/tmp/dnsblkit-lbench" make bench
#                                             (listing_bench.py's options)
#        BENCH_ONLY=serve make bench          (only bench.py; =listing: only
#                                              listing_bench.py; =check: only
#                                              check_bench.py; =policyd: only
#                                              policyd_bench.py)
# Last, the mail host's side: dnsblkit check of 10,000 addresses against
# 10 lists through Unbound, beside dnsperf (bench/check_bench.py; under a
# minute), and policyd's requests per second (bench/policyd_bench.py).
set -eu
bin=${1:-build/dnsblkit}
shift || true
here=$(dirname "$0")
only=${BENCH_ONLY:-}
case $only in
'' | serve | listing | check | policyd) ;;
*)
    echo "bench/run.sh: BENCH_ONLY is serve, listing, check or policyd, not '$only'" >&2
    exit 2
    ;;
esac
if [ -z "$only" ] || [ "$only" = serve ]; then
    # shellcheck disable=SC2086 # BENCH_ARGS is a list of options
    /usr/bin/python3 "$here/bench.py" --bin "$bin" ${BENCH_ARGS:-} "$@"
fi
if [ -z "$only" ] || [ "$only" = listing ]; then
    # shellcheck disable=SC2086 # LBENCH_ARGS is a list of options
    /usr/bin/python3 "$here/listing_bench.py" --bin "$bin" ${LBENCH_ARGS:-}
fi
if [ -z "$only" ] || [ "$only" = check ]; then
    /usr/bin/python3 "$here/check_bench.py" --bin "$bin"
fi
if [ -z "$only" ] || [ "$only" = policyd ]; then
    /usr/bin/python3 "$here/policyd_bench.py" --bin "$bin"
fi
