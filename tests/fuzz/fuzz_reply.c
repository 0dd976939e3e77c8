/* Fuzz harness for the list client's DNS response parser: any bytes must
 * parse or be refused without reading out of bounds; an accepted reply
 * must keep every promise of client/reply.h, and a refused one must come
 * back cleared. Any broken invariant aborts. */
#include <stdint.h>
#include <string.h>

#include "client/reply.h"
#include "common/err.h"
#include "fuzz_common.h"

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* True if the address appears, in network order, somewhere in the
 * message: a parsed A record cannot come from nowhere. */
static int in_message(const uint8_t *data, size_t size, uint32_t a)
{
    const uint8_t be[4] = {(uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8), (uint8_t)a};
    return memmem(data, size, be, 4) != NULL;
}

static void check_cache_ttl(const struct reply *r)
{
    static const uint32_t bounds[][2] = {{0, UINT32_MAX}, {0, 0}, {60, 86400}, {3600, 3600}};
    for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
        uint32_t lo = bounds[i][0], hi = bounds[i][1];
        uint32_t ttl = reply_cache_ttl(r, lo, hi);
        if (ttl != 0)
            CHECK(ttl >= lo && ttl <= hi);
        /* Only NOERROR and NXDOMAIN are ever cached. */
        if (r->rcode != 0 && r->rcode != 3)
            CHECK(ttl == 0);
        /* A negative answer without an SOA is not cached. */
        if (!(r->rcode == 0 && (r->na > 0 || r->has_txt)) && !r->has_soa)
            CHECK(ttl == 0);
        /* Unclamped, the cache TTL is a TTL: top bit clear. */
        if (lo == 0 && hi == UINT32_MAX)
            CHECK(ttl <= 0x7fffffffu);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct reply r, again, zero;
    memset(&zero, 0, sizeof(zero));
    memset(&r, 0xa5, sizeof(r));
    int rc = reply_parse(data, size, &r);
    CHECK(rc == 0 || rc == ERR_FORMAT);
    if (rc != 0) {
        CHECK(memcmp(&r, &zero, sizeof(r)) == 0);
        CHECK(reply_cache_ttl(&r, 60, 86400) == 0);
        return 0;
    }

    /* The header as the bytes say. */
    CHECK(size >= 12);
    CHECK(data[2] & 0x80);
    CHECK(r.rcode == (data[3] & 0x0f));
    CHECK(r.tc == ((data[2] & 0x02) != 0));
    unsigned an = get16(data + 6), ns = get16(data + 8);

    /* A records: at most REPLY_MAX_A, each from the message, the rest of
     * the array untouched; a TTL only with records. */
    CHECK(r.na <= REPLY_MAX_A);
    CHECK(r.na <= an);
    for (unsigned i = 0; i < r.na; i++)
        CHECK(in_message(data, size, r.a[i]));
    for (unsigned i = r.na; i < REPLY_MAX_A; i++)
        CHECK(r.a[i] == 0);
    CHECK(r.a_ttl <= 0x7fffffffu);
    if (r.na == 0)
        CHECK(r.a_ttl == 0);

    /* TXT: NUL-terminated in the buffer, printable, answer section only. */
    const char *nul = memchr(r.txt, '\0', sizeof(r.txt));
    CHECK(nul != NULL);
    for (const char *c = r.txt; c < nul; c++)
        CHECK(*c >= 0x20 && *c <= 0x7e);
    CHECK(r.txt_ttl <= 0x7fffffffu);
    if (r.has_txt) {
        CHECK(an > 0);
        CHECK((size_t)(nul - r.txt) < size);
    } else {
        CHECK(nul == r.txt && r.txt_ttl == 0);
    }

    /* SOA. */
    CHECK(r.soa_ttl <= 0x7fffffffu && r.soa_minimum <= 0x7fffffffu);
    if (r.has_soa)
        CHECK(an + ns > 0);
    else
        CHECK(!r.soa_in_answer && r.soa_ttl == 0 && r.soa_minimum == 0);
    if (r.soa_in_answer)
        CHECK(an > 0);

    check_cache_ttl(&r);

    /* Same bytes, same reply. */
    memset(&again, 0x5a, sizeof(again));
    CHECK(reply_parse(data, size, &again) == 0);
    CHECK(memcmp(&r, &again, sizeof(r)) == 0);
    return 0;
}
