#!/bin/sh
# `make bench`: dnsblkit serve and rbldnsd side by side on the same data.
# Usage: bench/run.sh path/to/dnsblkit [bench.py options]
set -eu
bin=${1:-build/dnsblkit}
shift || true
exec /usr/bin/python3 "$(dirname "$0")/bench.py" --bin "$bin" "$@"
