#!/bin/sh
# Run libFuzzer binaries fuzz_<name> in BUILD_DIR for SECONDS each, one
# after the other (single process, single thread), on a scratch copy of
# tests/fuzz/corpus/<name>; tests/fuzz/<name>.dict, when there is one, is
# the fuzzer's dictionary. Crash reproducers are kept in
# BUILD_DIR/fuzz-artifacts; add a fixed one to the corpus so the replay
# test guards against it. With MERGE=1 the inputs that reach new branches
# are merged back into the tree's corpus (existing files are kept). Each
# run's log, with libFuzzer's final statistics, is
# BUILD_DIR/fuzz-work/<name>.log.
# Usage: tests/fuzz/run.sh BUILD_DIR [SECONDS [NAME...]]
set -eu

if [ $# -lt 1 ]; then
    echo "usage: $0 BUILD_DIR [SECONDS [NAME...]]" >&2
    exit 2
fi
build=$1
seconds=${2:-60}
[ $# -ge 2 ] && shift 2 || shift 1
here=$(cd "$(dirname "$0")" && pwd)
work="$build/fuzz-work"
artifacts="$build/fuzz-artifacts"
mkdir -p "$work" "$artifacts"

if [ $# -gt 0 ]; then
    bins=""
    for n in "$@"; do bins="$bins $build/fuzz_$n"; done
else
    bins=$(ls "$build"/fuzz_* 2>/dev/null || true)
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
found=0
failed=""
for bin in $bins; do
    [ -x "$bin" ] && [ -f "$bin" ] || { echo "no $bin" >&2; failed="$failed $bin"; continue; }
    name=$(basename "$bin")
    short=${name#fuzz_}
    found=$((found + 1))
    corpus="$work/$short"
    log="$work/$short.log"
    rm -rf "$corpus"
    mkdir -p "$corpus"
    if [ -d "$here/corpus/$short" ]; then
        cp "$here/corpus/$short"/* "$corpus"/ 2>/dev/null || true
    fi
    dict=""
    [ -f "$here/$short.dict" ] && dict="-dict=$here/$short.dict"
    echo "== $name: ${seconds}s, corpus $corpus, log $log"
    # shellcheck disable=SC2086 # $dict is one word or none
    if ! "$bin" -max_total_time="$seconds" -print_final_stats=1 $dict \
        -artifact_prefix="$artifacts/$short-" "$corpus" >"$log" 2>&1; then
        failed="$failed $name"
        tail -n 40 "$log" >&2
        continue
    fi
    grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" || true
    if [ "${MERGE:-0}" = 1 ]; then
        # The fewest inputs that reach every branch the run reached (hit
        # counts aside: they would keep thousands), added beside the
        # named seeds already there.
        mkdir -p "$here/corpus/$short"
        "$bin" -set_cover_merge=1 -use_counters=0 "$here/corpus/$short" "$corpus" \
            >"$work/$short.merge.log" 2>&1
        echo "   corpus/$short: $(ls "$here/corpus/$short" | wc -l) files," \
            "$(du -sk "$here/corpus/$short" | cut -f1) KiB"
    fi
done

if [ "$found" -eq 0 ]; then
    echo "no fuzz_* binaries in $build (configure with -DDBK_FUZZ=ON)" >&2
    exit 1
fi
if [ -n "$failed" ]; then
    echo "FAILED:$failed (reproducers in $artifacts)" >&2
    exit 1
fi
echo "all $found fuzzers ran ${seconds}s without a finding"
