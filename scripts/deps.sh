#!/bin/sh
# Installs the Debian packages that building and testing dnsblkit need,
# only when some are missing, so `make run` and `make test` work on a fresh
# Debian 12 machine. Run as root (or with sudo available).
set -eu

PKGS="
build-essential cmake pkg-config clang llvm libclang-rt-14-dev clang-format
zlib1g-dev libinih-dev libcmocka-dev liburcu-dev
libsqlite3-dev libgmime-3.0-dev libjansson-dev sqlite3 libmicrohttpd-dev
python3 python3-pytest python3-dnspython python3-requests python3-prometheus-client
python3-selenium chromium chromium-driver
knot knot-dnsutils knot-dnssecutils nsd dnsutils bind9-utils rbldnsd dnsperf
libc-ares-dev nettle-dev unbound dnsmasq-base postfix swaks
"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done

[ -z "$missing" ] && exit 0

echo "deps.sh: installing:$missing" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "deps.sh: missing packages:$missing; run as root to install them" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
# postfix's package asks what kind of mail system this is; the incident
# drill runs Postfix from a configuration directory of its own, so: none
# (no /etc/postfix/main.cf, nothing listening on port 25).
case " $missing " in
*" postfix "*)
    echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
    ;;
esac
$SUDO apt-get update -q >&2
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing >&2
# rbldnsd's, knot's, nsd's, unbound's and postfix's packages start system
# services on install; tests run their own.
if command -v systemctl >/dev/null 2>&1; then
    $SUDO systemctl stop rbldnsd knot nsd unbound postfix >/dev/null 2>&1 || true
fi
