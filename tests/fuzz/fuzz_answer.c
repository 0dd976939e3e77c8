/* Fuzz harness for the server's answer path: the input is a request as a
 * client sends it over UDP or TCP, answered from a snapshot of zones of
 * every dataset type (built once; one zone keyed: answered only below a
 * customer's key), with the rate limit's empty reply and
 * the IXFR request reader beside it, and a TSIG key (signed requests
 * are verified, their answers signed). Every reply is re-read: the id
 * echoed, QR set, within the buffer, the records exactly filling the
 * message. A crash, a leak, an out-of-bounds access or a malformed reply
 * is the bug. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "fuzz_common.h"
#include "server/answer.h"
#include "server/serve_conf.h"
#include "server/snapshot.h"
#include "server/xfr.h"
#include "server/xfr_conf.h"
#include "wire/tsig.h"
#include "wire/wire.h"

static struct serve_conf conf;
static struct snapshot *snap;
static struct xfr_counters xfr;
static struct answer_stats stats;
static char dir[64];

static const struct {
    const char *zone, *type, *file, *text;
} data[] = {
    {"bl.example", "ip4set", "a.txt",
     "$SOA 3600 ns.bl.example. hostmaster.bl.example. 42 600 300 86400 60\n"
     "$NS 3600 ns1.bl.example ns2.elsewhere.example\n"
     ":127.0.0.2:Listed $ see http://bl.example/lookup?ip=$\n"
     "192.0.2.1\n192.0.2.2 :3:Other $$ reason for $\n10.0.0.0/16\n!10.0.1.1\n"},
    {"bl.example", "ip4trie", "b.txt", "198.51.100.0/24 :4:trie\n203.0.113.7/32\n"},
    {"bl.example", "ip6tset", "c.txt", ":2:v6\n2001:db8:0:0\n2001:db8:1:2\n"},
    {"v6.example", "ip6trie", "d.txt", "2001:db8:1::/48 :5:trie6\n2001:db8:1:2::/64\n"},
    {"dbl.example", "dnset", "e.txt", "spam.example :2:domain\n*.wild.example\n.both.example\n"},
    {"gen.example", "generic", "f.txt",
     "@ A 127.0.0.9\nwww TXT \"generic text\"\nmx MX 10 mail.gen.example.\n"},
    {"comb.example", "combined", "g.txt",
     "$DATASET ip4set:proxy sub @\n192.0.2.9\n$DATASET dnset:names dom\nbad.example :5:name $\n"},
    {"key.example", "ip4set", "j.txt", ":2:keyed $\n192.0.2.5\n"},
    {"acl.example", "ip4set", "h.txt", "192.0.2.77\n"},
    {"acl.example", "acl", "i.txt",
     "127.0.0.2 :refuse\n127.0.0.3 =empty\n127.0.0.1 :pass\n::2 :4:for you $\n"},
};

/* key.example answers only below a known key (zone_keys.h). */
#define KEYS_FILE "keys.txt"
#define KEYS_TEXT "customer-key-0001\n# a comment\nSecondKey_02 # and another\n"

static void write_file(const char *name, const char *text)
{
    char path[160];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    CHECK(fputs(text, f) >= 0);
    CHECK(fclose(f) == 0);
}

static void cleanup(void)
{
    for (size_t i = 0; i < sizeof(data) / sizeof(data[0]); i++) {
        char path[160];
        snprintf(path, sizeof(path), "%s/%s", dir, data[i].file);
        unlink(path);
    }
    char path[160];
    snprintf(path, sizeof(path), "%s/%s", dir, KEYS_FILE);
    unlink(path);
    rmdir(dir);
    snapshot_free(snap);
    serve_conf_free(&conf);
}

static void setup(void)
{
    char spec[256], err[512];
    log_init("fuzz_answer", false, LOG_ERR);
    snprintf(dir, sizeof(dir), "/tmp/dbk-fuzz-answer-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    serve_conf_init(&conf);
    CHECK(serve_conf_add_listen(&conf, "127.0.0.1/53") == 0);
    for (size_t i = 0; i < sizeof(data) / sizeof(data[0]); i++) {
        write_file(data[i].file, data[i].text);
        snprintf(spec, sizeof(spec), "%s:%s:%s/%s", data[i].zone, data[i].type, dir, data[i].file);
        CHECK(serve_conf_add_zonespec(&conf, spec) == 0);
    }
    write_file(KEYS_FILE, KEYS_TEXT);
    for (unsigned i = 0; i < conf.nzones; i++)
        if (!strcmp(conf.zones[i].name, "key.example")) {
            snprintf(spec, sizeof(spec), "%s/%s", dir, KEYS_FILE);
            CHECK((conf.zones[i].keys = strdup(spec)) != NULL);
        }
    /* Two of the clients may transfer: IXFR over UDP is answered with
     * the SOA for them, refused for the others. */
    CHECK(xfr_conf_key(&conf.xfr, "allow-transfer", "127.0.0.1 ::2", err, sizeof(err)) == 1);
    CHECK(serve_conf_finish(&conf, err, sizeof(err)) == 0);
    struct snapshot_stats st;
    if (snapshot_build(&conf, NULL, true, &snap, &st, err, sizeof(err)) != 0) {
        fprintf(stderr, "snapshot_build: %s\n", err);
        abort();
    }
    atexit(cleanup);
}

/* A name at off: in bounds, pointers strictly backwards, at most 255
 * bytes expanded. Returns the offset after it in place. */
static size_t check_name(const uint8_t *m, size_t len, size_t off)
{
    size_t after = 0, expanded = 0;
    for (;;) {
        CHECK(off < len);
        uint8_t l = m[off];
        if ((l & 0xc0) == 0xc0) {
            CHECK(off + 1 < len);
            size_t to = (size_t)(l & 0x3f) << 8 | m[off + 1];
            CHECK(to < off);
            if (after == 0)
                after = off + 2;
            off = to;
            continue;
        }
        CHECK(l <= 63);
        expanded += 1u + l;
        CHECK(expanded <= 255);
        CHECK(off + 1u + l <= len);
        off += 1u + l;
        if (l == 0)
            return after ? after : off;
    }
}

static void check_reply(const uint8_t *req, size_t reqlen, const uint8_t *m, size_t len, size_t cap)
{
    CHECK(len >= WIRE_HEADER_LEN && len <= cap);
    CHECK(reqlen >= 2 && !memcmp(m, req, 2)); /* the id */
    CHECK(m[2] & 0x80);                       /* QR */
    unsigned qd = wire_get16(m + 4);
    unsigned total = wire_get16(m + 6) + wire_get16(m + 8) + wire_get16(m + 10);
    size_t off = WIRE_HEADER_LEN;
    CHECK(qd <= 1);
    if (qd == 1) {
        off = check_name(m, len, off);
        CHECK(len - off >= 4);
        off += 4;
    }
    for (unsigned i = 0; i < total; i++) {
        off = check_name(m, len, off);
        CHECK(len - off >= 10);
        size_t rdlen = wire_get16(m + off + 8);
        off += 10;
        CHECK(len - off >= rdlen);
        off += rdlen;
    }
    CHECK(off == len);
}

static uint8_t out[65535];
static struct tsig_key key;

int LLVMFuzzerTestOneInput(const uint8_t *req, size_t size)
{
    static bool ready;
    if (!ready) {
        setup();
        char why[128];
        CHECK(tsig_key_parse("hmac-sha256:xfr.key:c2VjcmV0LXNlY3JldC1zZWNyZXQ=", &key, why,
                             sizeof(why)) == 0);
        ready = true;
    }
    /* The client: one the acl passes, refuses or empties, or IPv6. */
    struct sockaddr_in6 sin6;
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof(sin));
    memset(&sin6, 0, sizeof(sin6));
    sin.sin_family = AF_INET;
    sin.sin_port = htons(5353);
    sin.sin_addr.s_addr = htonl(0x7f000001u + (unsigned)(size % 3));
    sin6.sin6_family = AF_INET6;
    sin6.sin6_addr.s6_addr[15] = 2;
    const struct sockaddr *client =
        size % 4 == 3 ? (const struct sockaddr *)&sin6 : (const struct sockaddr *)&sin;
    const struct answer_opts opts = {60, 86400, size % 5 == 0, &xfr, &key, 1};

    static const size_t caps[] = {512, 1232, sizeof(out)};
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
        bool tcp = i == 2;
        size_t n = answer_packet(snap, &opts, req, size, client, tcp, out, caps[i], &stats);
        if (n > 0)
            check_reply(req, size, out, n, caps[i]);
    }
    size_t n = answer_limited(req, size, true, out, 512, &stats);
    if (n > 0) {
        check_reply(req, size, out, n, 512);
        CHECK(out[2] & 0x02); /* TC */
    }

    struct xfr_request rq;
    if (xfr_parse_ixfr(req, size, &rq) == 0) {
        CHECK(rq.q.qtype == DNS_TYPE_IXFR && rq.have_serial);
        CHECK(rq.q.qname_len >= 1 && rq.q.qname_len <= 255);
        CHECK(rq.q.qname[rq.q.qname_len - 1] == 0);
    }
    (void)xfr_is_request(req, size);
    return 0;
}
