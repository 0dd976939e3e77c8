#!/bin/sh
# `make run`: serve the demo lists shipped in etc/demo/ on loopback, and a
# live list fed by the listing engine from a database in var/, and print
# the queries and commands that show them working.
set -eu
bin=${1:-build/dnsblkit}
addr=${2:-127.0.0.1}
port=${3:-5353}
http_port=${4:-8053}
root=$(cd "$(dirname "$0")/.." && pwd)
demo="$root/etc/demo"
var="$root/var"
conf="$var/demo.conf"

# The live list: a configuration pointing at var/listing.db, two trap
# hits and an operator's listing, fed before the server starts.
mkdir -p "$var"
policyd_port=${5:-10040}
sed -e "s|@VAR@|$var|g" -e "s|@HTTP@|$addr/$http_port|g" -e "s|@DNS@|$addr/$port|g" \
    -e "s|@POLICYD@|$addr/$policyd_port|g" -e "s|@POLICYD_HOSTPORT@|$addr:$policyd_port|g" \
    "$demo/dnsblkit.conf.in" >"$conf"
"$bin" report --config "$conf" --zone live.example --trap "$demo"/reports/*.eml || true
"$bin" list add live.example 100.24.0.0/16 --code 127.0.0.4 \
    --reason "demo: a range listed by hand" --for 1d --config "$conf" >/dev/null

cat <<MSG

dnsblkit demo on $addr port $port, UDP and TCP:
  bl.example and dbl.example  rbldnsd-style data files in etc/demo/
  live.example                live listings from $var/listing.db
  http://$addr:$http_port/           the lookup page (JSON API, /metrics)
  UDP answers limited to 100 a second per client /24 (rate-limit)
  $addr:$policyd_port                 dnsblkit policyd, for Postfix's check_policy_service

Try, in another terminal:

  dig @$addr -p $port 1.2.0.192.bl.example A +short      # listed: 127.0.0.2
  dig @$addr -p $port 1.2.0.192.bl.example TXT +short    # the reason, with the address
  dig @$addr -p $port 7.100.51.198.bl.example A          # excluded: NXDOMAIN
  dig @$addr -p $port 1.1.1.1.bl.example A               # not listed: NXDOMAIN
  dig @$addr -p $port 2.0.0.127.bl.example TXT +short    # RFC 5782 test entry, always listed
  dig @$addr -p $port 1.0.0.127.bl.example A             # RFC 5782 test entry, never listed
  dig @$addr -p $port spam.example.dbl.example A +short  # a listed domain
  dig @$addr -p $port bl.example SOA +tcp                # apex SOA over TCP
  dig @$addr -p $port bl.example AXFR                    # the zone by transfer, as a secondary takes it

  dig @$addr -p $port 7.12.83.45.live.example TXT +short # listed by a spam-trap hit
  dig @$addr -p $port 9.9.24.100.live.example A +short   # listed by hand: 127.0.0.4
  $bin list show live.example 45.83.12.7 --config $conf
  $bin list add live.example 198.252.206.1 --config $conf   # in DNS within a second
  dig @$addr -p $port -y hmac-sha256:demo-xfr:ZGVtby1vbmx5LW1ha2UteW91ci1vd24tc2VjcmV0IQ== live.example AXFR
                                                         # signed with TSIG (transfer-key); without -y: refused
  $bin report --config $conf --zone live.example --trap tests/data/reports/trap-exim.eml
  $bin list ls live.example --config $conf

  open http://$addr:$http_port/lookup?ip=45.83.12.7 in a browser (remove it there)
  curl -s http://$addr:$http_port/api/v1/lookup?ip=45.83.12.7
  curl -s -H 'Authorization: Bearer demo-token' -d '{"key":"198.252.206.2"}' \
       http://$addr:$http_port/api/v1/zones/live.example/listings
  curl -s http://$addr:$http_port/metrics | grep -E 'dns_zone_answers|rate_limited'

  # the mail host's side: every list at once, each list's health, the score
  $bin check --resolver $addr/$port --list 'bl.example*2' --list live.example 192.0.2.1 45.83.12.7
  $bin check --resolver $addr/$port --domain-list dbl.example spam.example
  $bin monitor --resolver $addr/$port --list bl.example --list live.example --domain-list dbl.example

  # what Postfix asks policyd, and its answer (a listed client: REJECT)
  /usr/bin/python3 -c "import socket; s = socket.create_connection(('$addr', $policyd_port)); s.sendall(b'request=smtpd_access_policy\\nprotocol_state=RCPT\\nclient_address=192.0.2.1\\n\\n'); print(s.recv(999).decode())"
  # an unlisted client, but a HELO name on dbl.example: REJECT too
  /usr/bin/python3 -c "import socket; s = socket.create_connection(('$addr', $policyd_port)); s.sendall(b'request=smtpd_access_policy\\nprotocol_state=RCPT\\nclient_address=198.51.100.1\\nhelo_name=spam.example\\n\\n'); print(s.recv(999).decode())"
  kill -USR1 \$(pgrep -f 'dnsblkit policyd')   # policyd logs its counters, by list

Edit a file in $demo and the server reloads it within 5 seconds (or send
SIGHUP). Stop with Ctrl-C.

MSG
# The daemons refuse to run as root without a user to become. The demo's
# files belong to whoever runs it, so as root it stays root on purpose;
# a real server runs them with -u USER (dnsblkit(1)).
stay=""
[ "$(id -u)" -eq 0 ] && stay="--user root"
# policyd beside the server, stopped with it.
# shellcheck disable=SC2086
"$bin" policyd $stay --config "$conf" &
policyd_pid=$!
trap 'kill $policyd_pid 2>/dev/null || true' EXIT INT TERM
# shellcheck disable=SC2086
"$bin" serve $stay -b "$addr/$port" -c 5 --config "$conf" \
    "bl.example:ip4set:$demo/bl.ip4set" \
    "bl.example:ip6tset:$demo/bl.ip6tset" \
    "dbl.example:dnset:$demo/dbl.dnset"
