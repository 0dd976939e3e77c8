#!/bin/sh
# Run every libFuzzer binary fuzz_<name> in BUILD_DIR for SECONDS each, on
# a scratch copy of tests/fuzz/corpus/<name> (the seed corpus in the tree
# is not modified). Crash reproducers are kept in BUILD_DIR/fuzz-artifacts;
# add a fixed one to the corpus so the replay test guards against it.
# Usage: tests/fuzz/run.sh BUILD_DIR [SECONDS]
set -eu

if [ $# -lt 1 ]; then
    echo "usage: $0 BUILD_DIR [SECONDS]" >&2
    exit 2
fi
build=$1
seconds=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
work="$build/fuzz-work"
artifacts="$build/fuzz-artifacts"
mkdir -p "$work" "$artifacts"

found=0
failed=""
for bin in "$build"/fuzz_*; do
    [ -x "$bin" ] && [ -f "$bin" ] || continue
    name=$(basename "$bin")
    short=${name#fuzz_}
    found=$((found + 1))
    corpus="$work/$short"
    rm -rf "$corpus"
    mkdir -p "$corpus"
    if [ -d "$here/corpus/$short" ]; then
        cp "$here/corpus/$short"/* "$corpus"/ 2>/dev/null || true
    fi
    echo "== $name: ${seconds}s, corpus $corpus"
    if ! ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
        "$bin" -max_total_time="$seconds" -print_final_stats=1 \
        -artifact_prefix="$artifacts/$short-" "$corpus"; then
        failed="$failed $name"
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
