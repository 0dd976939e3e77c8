#!/bin/sh
# `make run`: serve the demo lists shipped in etc/demo/ on loopback and
# print the queries that show a listed, an unlisted and a test entry.
set -eu
bin=${1:-build/dnsblkit}
addr=${2:-127.0.0.1}
port=${3:-5353}
root=$(cd "$(dirname "$0")/.." && pwd)
demo="$root/etc/demo"

cat <<MSG

dnsblkit demo: serving bl.example (IPv4 and IPv6) and dbl.example (domains)
on $addr port $port, UDP and TCP. Try, in another terminal:

  dig @$addr -p $port 1.2.0.192.bl.example A +short      # listed: 127.0.0.2
  dig @$addr -p $port 1.2.0.192.bl.example TXT +short    # the reason, with the address
  dig @$addr -p $port 7.100.51.198.bl.example A          # excluded: NXDOMAIN
  dig @$addr -p $port 1.1.1.1.bl.example A               # not listed: NXDOMAIN
  dig @$addr -p $port 2.0.0.127.bl.example TXT +short    # RFC 5782 test entry, always listed
  dig @$addr -p $port 1.0.0.127.bl.example A             # RFC 5782 test entry, never listed
  dig @$addr -p $port spam.example.dbl.example A +short  # a listed domain
  dig @$addr -p $port bl.example SOA +tcp                # apex SOA over TCP

Edit a file in $demo and the server reloads it within 5 seconds (or send
SIGHUP). Stop with Ctrl-C.

MSG
exec "$bin" serve -b "$addr/$port" -c 5 \
    "bl.example:ip4set:$demo/bl.ip4set" \
    "bl.example:ip6tset:$demo/bl.ip6tset" \
    "dbl.example:dnset:$demo/dbl.dnset"
