/* Tests for zone_records: the records of a zone, loaded into a small DNS
 * server model (exact names, empty non-terminals, RFC 4592 wildcards with
 * the closest-encloser rule), must answer A and TXT queries as the
 * datasets answer them, for every dataset type, ranges, exclusions and
 * test entries; and the wildcards, the cap and the counts are what the
 * header promises. */
#include "dstest.h"

#include "data/dnkey.h"
#include "data/zone_records.h"

/* ---- a zone as a DNS server holds it ------------------------------------- */

struct mrr {
    uint8_t key[NAME_MAXWIRE]; /* owner relative to the apex, reversed labels */
    size_t klen;
    uint16_t type;
    uint32_t ttl;
    uint8_t rdata[1024];
    uint16_t rdlen;
};

struct model {
    uint8_t apex[NAME_MAXWIRE];
    size_t apex_len;
    struct mrr *rr;
    size_t n, cap;
    size_t apex_records;
    unsigned owners_out_of_order;
};

static int model_add(const struct zrec_rr *r, void *arg)
{
    struct model *m = arg;
    size_t rel = r->owner_len - m->apex_len;
    assert_true(r->owner_len >= m->apex_len);
    assert_memory_equal(r->owner + rel, m->apex, m->apex_len);
    if (m->n == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 1024;
        m->rr = realloc(m->rr, m->cap * sizeof(*m->rr));
        assert_non_null(m->rr);
    }
    struct mrr *x = &m->rr[m->n++];
    x->klen = dnkey_from_name(r->owner, rel, x->key);
    x->type = r->type;
    x->ttl = r->ttl;
    assert_true(r->rdlen <= sizeof(x->rdata));
    memcpy(x->rdata, r->rdata, r->rdlen);
    x->rdlen = r->rdlen;
    if (rel == 0)
        m->apex_records++;
    return 0;
}

static int mrr_cmp(const void *a, const void *b)
{
    const struct mrr *x = a, *y = b;
    return dnkey_cmp(x->key, x->klen, y->key, y->klen);
}

static void model_sort(struct model *m)
{
    qsort(m->rr, m->n, sizeof(*m->rr), mrr_cmp);
}

/* The first record whose key is >= key. */
static size_t model_lower(const struct model *m, const uint8_t *key, size_t klen)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (dnkey_cmp(m->rr[mid].key, m->rr[mid].klen, key, klen) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Whether a name (key) exists: an owner, or above one. */
static bool model_exists(const struct model *m, const uint8_t *key, size_t klen)
{
    if (klen == 0)
        return true;
    size_t i = model_lower(m, key, klen);
    return i < m->n && m->rr[i].klen >= klen && memcmp(m->rr[i].key, key, klen) == 0;
}

/* What a DNS server answers: rcode (0 or 3) and the records of `type`,
 * as a sorted list of "rdata" strings. */
struct answer {
    int rcode;
    unsigned n;
    char rd[64][600];
};

static void answer_add(struct answer *a, const uint8_t *rdata, size_t rdlen, uint16_t type)
{
    char buf[600];
    size_t o = 0;
    if (type == DNS_TYPE_A) {
        o = (size_t)snprintf(buf, sizeof(buf), "%u.%u.%u.%u", rdata[0], rdata[1], rdata[2],
                             rdata[3]);
    } else {
        for (size_t i = 0; i < rdlen && o + 4 < sizeof(buf); i++)
            o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%02x", rdata[i]);
    }
    buf[o] = '\0';
    for (unsigned i = 0; i < a->n; i++)
        if (!strcmp(a->rd[i], buf))
            return;
    assert_true(a->n < 64);
    strcpy(a->rd[a->n++], buf);
}

static int answer_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void answer_sort(struct answer *a)
{
    qsort(a->rd, a->n, sizeof(a->rd[0]), answer_cmp);
}

static void model_records(const struct model *m, const uint8_t *key, size_t klen, uint16_t type,
                          struct answer *a)
{
    for (size_t i = model_lower(m, key, klen);
         i < m->n && m->rr[i].klen == klen && !memcmp(m->rr[i].key, key, klen); i++)
        if (m->rr[i].type == type)
            answer_add(a, m->rr[i].rdata, m->rr[i].rdlen, type);
}

static bool model_is_owner(const struct model *m, const uint8_t *key, size_t klen)
{
    size_t i = model_lower(m, key, klen);
    return i < m->n && m->rr[i].klen == klen && !memcmp(m->rr[i].key, key, klen);
}

/* RFC 1034 4.3.2 with RFC 4592: exact name, else the closest encloser's
 * wildcard, else NXDOMAIN. sub: wire labels relative to the apex. */
static void model_query(const struct model *m, const uint8_t *sub, size_t sublen, uint16_t type,
                        struct answer *a)
{
    uint8_t key[NAME_MAXWIRE];
    size_t klen = dnkey_from_name(sub, sublen, key);
    a->n = 0;
    a->rcode = 0;
    if (model_exists(m, key, klen)) {
        model_records(m, key, klen, type, a);
        answer_sort(a);
        return;
    }
    /* The closest encloser: the longest existing ancestor. */
    size_t bounds[NAME_MAXLABELS + 1], nb = 0, p = 0;
    bounds[nb++] = 0;
    while (p < klen) {
        p += (size_t)key[p] + 1;
        bounds[nb++] = p;
    }
    size_t ce = 0;
    for (size_t b = nb - 1; b-- > 0;)
        if (model_exists(m, key, bounds[b])) {
            ce = bounds[b];
            break;
        }
    uint8_t wkey[NAME_MAXWIRE];
    memcpy(wkey, key, ce);
    wkey[ce] = 1;
    wkey[ce + 1] = '*';
    if (!model_is_owner(m, wkey, ce + 2)) {
        a->rcode = 3;
        return;
    }
    model_records(m, wkey, ce + 2, type, a);
    answer_sort(a);
}

/* What dnsblkit answers, from the datasets: every dataset's records of
 * the type, TXT rendered; NXDOMAIN when nothing says the name exists. */
static void direct_query(struct dataset *const *ds, unsigned nds, const uint8_t *sub, size_t sublen,
                         uint16_t type, struct answer *a)
{
    static struct lookup l;
    bool exists = false;
    a->n = 0;
    ds_query_init(&l.q, sub, sublen);
    for (unsigned d = 0; d < nds; d++) {
        ds_result_reset(&l.res);
        assert_int_equal(dataset_query(ds[d], &l.q, &l.res), 0);
        exists |= l.res.exists;
        for (unsigned i = 0; i < l.res.nrr; i++) {
            const struct ds_rr *rr = &l.res.rr[i];
            if (rr->type != type)
                continue;
            if (type == DNS_TYPE_TXT) {
                uint8_t out[2048];
                int n = zrec_txt_render((const char *)rr->rdata, rr->rdlen,
                                        l.res.subject ? l.res.subject : "",
                                        l.res.subject ? l.res.subject_len : 0, out, sizeof(out));
                assert_true(n >= 0);
                answer_add(a, out, (size_t)n, type);
            } else {
                answer_add(a, rr->rdata, rr->rdlen, type);
            }
        }
    }
    a->rcode = exists || a->n ? 0 : 3;
    answer_sort(a);
}

static const uint8_t apex[] = "\x02"
                              "bl\x07"
                              "example";

static struct zrec *plan(struct dataset *const *ds, unsigned nds, uint64_t max, int *rc)
{
    struct zrec *z = NULL;
    struct zrec_opts o = {.ttl_min = 0, .ttl_max = UINT32_MAX, .max_records = max};
    char why[256];
    *rc = zrec_plan(apex, ds, nds, &o, &z, why, sizeof(why));
    if (*rc == 0)
        assert_non_null(z);
    else
        assert_null(z);
    return z;
}

static void build_model(struct dataset *const *ds, unsigned nds, struct model *m,
                        struct zrec_stats *st)
{
    int rc;
    memset(m, 0, sizeof(*m));
    m->apex_len = sizeof(apex);
    memcpy(m->apex, apex, sizeof(apex));
    struct zrec *z = plan(ds, nds, 0, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(zrec_emit(z, model_add, m), 0);
    if (st)
        *st = *zrec_stats(z);
    /* The plan's count is the emitted count. */
    assert_int_equal(zrec_stats(z)->records, m->n);
    zrec_free(z);
    model_sort(m);
}

static void model_free(struct model *m)
{
    free(m->rr);
}

/* Names of addresses. */
static size_t ip4_sub(uint32_t a, unsigned octets, uint8_t *out)
{
    size_t p = 0;
    for (unsigned i = octets; i-- > 0;) {
        int n = snprintf((char *)out + p + 1, 4, "%u", (a >> (24 - 8 * i)) & 255);
        out[p] = (uint8_t)n;
        p += 1 + (size_t)n;
    }
    return p;
}

static size_t ip6_sub(const uint8_t a[16], unsigned nibbles, uint8_t *out)
{
    size_t p = 0;
    for (unsigned i = nibbles; i-- > 0;) {
        unsigned v = i % 2 ? a[i / 2] & 15 : a[i / 2] >> 4;
        out[p++] = 1;
        out[p++] = (uint8_t) "0123456789abcdef"[v];
    }
    return p;
}

static size_t text_sub(const char *name, uint8_t *out)
{
    return sub_of(name, out);
}

static void expect_same(const struct model *m, struct dataset *const *ds, unsigned nds,
                        const uint8_t *sub, size_t sublen, const char *what)
{
    static const uint16_t types[2] = {DNS_TYPE_A, DNS_TYPE_TXT};
    for (unsigned t = 0; t < 2; t++) {
        struct answer want, got;
        direct_query(ds, nds, sub, sublen, types[t], &want);
        model_query(m, sub, sublen, types[t], &got);
        bool same = want.rcode == got.rcode && want.n == got.n;
        for (unsigned i = 0; same && i < want.n; i++)
            same = !strcmp(want.rd[i], got.rd[i]);
        if (!same) {
            char name[NAME_MAXTEXT];
            uint8_t w[NAME_MAXWIRE];
            memcpy(w, sub, sublen);
            w[sublen] = 0;
            name_to_text(w, name, sizeof(name));
            fail_msg("%s: %s type %u: dnsblkit rcode %d with %u records (%s), the zone rcode %d "
                     "with %u (%s)",
                     what, name, types[t], want.rcode, want.n, want.n ? want.rd[0] : "", got.rcode,
                     got.n, got.n ? got.rd[0] : "");
        }
    }
}

/* xorshift, so the random names are the same on every run. */
static uint64_t rnd_state = 88172645463325252ull;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

/* Ask every address around each boundary and random ones, full and
 * partial names, both ways. */
static void compare_ip4(const struct model *m, struct dataset *const *ds, unsigned nds,
                        const uint32_t *near, size_t nnear, unsigned random)
{
    uint8_t sub[NAME_MAXWIRE];
    for (size_t i = 0; i < nnear; i++) {
        for (int d = -2; d <= 2; d++) {
            uint32_t a = near[i] + (uint32_t)d;
            for (unsigned oct = 1; oct <= 4; oct++) {
                size_t len = ip4_sub(a, oct, sub);
                expect_same(m, ds, nds, sub, len, "near a boundary");
            }
        }
    }
    for (unsigned i = 0; i < random; i++) {
        uint32_t base = near[rnd() % nnear];
        uint32_t a = base + (uint32_t)(rnd() % 1024) - 512;
        if (rnd() % 4 == 0)
            a = (uint32_t)rnd();
        size_t len = ip4_sub(a, 4, sub);
        expect_same(m, ds, nds, sub, len, "random");
    }
}

static struct dataset *load(const char *type, const char *text)
{
    return load_text(type, text);
}

/* ---- the tests ------------------------------------------------------------- */

static void test_txt_render(void **state)
{
    (void)state;
    uint8_t out[1024];
    int n = zrec_txt_render("Listed $ see $$x", 16, "1.2.3.4", 7, out, sizeof(out));
    assert_int_equal(n, 1 + 21);
    assert_int_equal(out[0], 21);
    assert_memory_equal(out + 1, "Listed 1.2.3.4 see $x", 21);
    /* An empty template is one empty string. */
    assert_int_equal(zrec_txt_render("", 0, "", 0, out, sizeof(out)), 1);
    assert_int_equal(out[0], 0);
    /* 300 bytes: a string of 255 and one of 45. */
    char big[301];
    memset(big, 'a', 300);
    big[300] = 0;
    n = zrec_txt_render(big, 300, "", 0, out, sizeof(out));
    assert_int_equal(n, 302);
    assert_int_equal(out[0], 255);
    assert_int_equal(out[256], 45);
    assert_int_equal(zrec_txt_render(big, 300, "", 0, out, 100), ERR_SPACE);
    assert_true(zrec_txt_has_subject("a $ b", 5));
    assert_false(zrec_txt_has_subject("a $$ b", 6));
    assert_true(zrec_txt_has_subject("$$$", 3));
    assert_false(zrec_txt_has_subject("no", 2));
}

/* A /24 listed whole, with a TXT that does not name the address, is one
 * wildcard; a /16 is 256 of them; the names above stay empty
 * non-terminals. */
static void test_ip4set_wildcards(void **state)
{
    (void)state;
    struct dataset *ds =
        load("ip4set", ":127.0.0.2:Listed\n10.1.2.0/24\n10.2.0.0/16 :3:Block\n10.3.3.3\n");
    struct model m;
    struct zrec_stats st;
    build_model(&ds, 1, &m, &st);
    /* 1 + 256 wildcards, 10.3.3.3, and the test entry: A and TXT each. */
    assert_int_equal(st.wildcards, 257);
    assert_int_equal(st.names, 257 + 2);
    assert_int_equal(st.records, 2 * (257 + 2));
    assert_int_equal(st.inexact, 0);
    uint8_t w[] = "\x01*\x01"
                  "2\x01"
                  "1\x02"
                  "10";
    uint8_t key[NAME_MAXWIRE];
    size_t klen = dnkey_from_name(w, sizeof(w) - 1, key);
    assert_true(model_is_owner(&m, key, klen));
    uint32_t near[] = {0x0a010200, 0x0a0102ff, 0x0a020000, 0x0a02ffff, 0x0a030303, 0x7f000001};
    compare_ip4(&m, &ds, 1, near, 6, 2000);
    model_free(&m);
    dataset_unref(ds);
}

/* An excluded address inside a listed /24 answers NXDOMAIN, which a
 * wildcard cannot: the /24 is written name by name. A more specific
 * value inside a listed /24 keeps the wildcard and gets a name. */
static void test_ip4set_exclusions(void **state)
{
    (void)state;
    struct dataset *ds = load("ip4set", ":127.0.0.2:Listed\n"
                                        "10.1.2.0/24\n!10.1.2.7\n"
                                        "10.1.3.0/24\n10.1.3.9 :4:Other\n"
                                        "10.9.0.0/16\n!10.9.5.0/24\n");
    struct model m;
    struct zrec_stats st;
    build_model(&ds, 1, &m, &st);
    /* 10.1.2/24: 255 names; 10.1.3/24: a wildcard and one name;
     * 10.9/16 without 10.9.5/24: 255 wildcards; the test entry. */
    assert_int_equal(st.wildcards, 1 + 255);
    assert_int_equal(st.names, 255 + 2 + 255 + 1);
    uint32_t near[] = {0x0a010200, 0x0a010207, 0x0a0102ff, 0x0a010300,
                       0x0a010309, 0x0a090000, 0x0a090500, 0x0a0905ff};
    compare_ip4(&m, &ds, 1, near, 8, 2000);
    model_free(&m);
    dataset_unref(ds);
}

/* A TXT that names the address cannot be a wildcard: one name each. */
static void test_ip4_txt_naming_the_address(void **state)
{
    (void)state;
    struct dataset *ds = load("ip4trie", ":127.0.0.2:See http://bl.example/$\n"
                                         "192.0.2.0/24\n!192.0.2.128/25\n192.0.2.200/32 :5:x\n");
    struct model m;
    struct zrec_stats st;
    build_model(&ds, 1, &m, &st);
    assert_int_equal(st.wildcards, 0);
    /* 128 + the one listed in the excluded half + the test entry. */
    assert_int_equal(st.names, 128 + 1 + 1);
    uint32_t near[] = {0xc0000200, 0xc000027f, 0xc0000280, 0xc00002c8, 0xc00002ff};
    compare_ip4(&m, &ds, 1, near, 5, 1000);
    model_free(&m);
    dataset_unref(ds);
}

/* Several datasets of a zone answer together, deduplicated. */
static void test_merged_datasets(void **state)
{
    (void)state;
    struct dataset *ds[3] = {
        load("ip4tset", ":127.0.0.3:Single\n10.0.0.1\n10.0.0.2\n10.0.0.200\n10.7.7.7\n"),
        load("ip4set", ":127.0.0.2:Listed\n10.0.0.0/24\n10.7.0.0/16\n"),
        load("ip4trie", ":127.0.0.2:Listed\n10.0.0.128/25\n10.7.7.0/24 :4:Trie\n"),
    };
    struct model m;
    build_model(ds, 3, &m, NULL);
    uint32_t near[] = {0x0a000000, 0x0a000001, 0x0a000080, 0x0a0000c8, 0x0a070000, 0x0a070707};
    compare_ip4(&m, ds, 3, near, 6, 3000);
    model_free(&m);
    for (int i = 0; i < 3; i++)
        dataset_unref(ds[i]);
}

/* IPv6: wildcards on nibbles; an excluded address splits its /64 into
 * wildcards around it; a TXT naming the address names the range. */
static void test_ip6(void **state)
{
    (void)state;
    struct dataset *ds[2] = {
        load("ip6tset", ":127.0.0.2:Six\n2001:db8:1:2\n2001:db8:1:3\n!2001:db8:1:2::99\n"),
        load("ip6trie", ":127.0.0.4:Trie\n2001:db8:2::/48\n2001:db8:2:5::/64 :6:inner\n"
                        "!2001:db8:2:6::/64\n2001:db8:4::/47\n"),
    };
    struct model m;
    struct zrec_stats st;
    build_model(ds, 2, &m, &st);
    assert_int_equal(st.range_txt, 0);
    assert_int_equal(st.inexact, 0);
    static const char *const addrs[] = {
        "2001:db8:1:2::",
        "2001:db8:1:2::98",
        "2001:db8:1:2::99",
        "2001:db8:1:2::9a",
        "2001:db8:1:2:ffff::1",
        "2001:db8:1:3::5",
        "2001:db8:1:4::",
        "2001:db8:1:1:ffff:ffff:ffff:ffff",
        "2001:db8:2::1",
        "2001:db8:2:5::7",
        "2001:db8:2:6::1",
        "2001:db8:2:7::1",
        "2001:db8:2:ffff::1",
        "2001:db8:3:1::1",
        "2001:db8:5:1::1",
        "2001:db8:6::1",
        "::ffff:127.0.0.2",
        "::ffff:127.0.0.1",
        "2001:db8:2:4:ffff:ffff:ffff:ffff",
    };
    uint8_t sub[NAME_MAXWIRE];
    for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
        uint8_t a[16];
        assert_int_equal(inet_pton(AF_INET6, addrs[i], a), 1);
        for (int k = 0; k < 64; k++) {
            uint8_t b[16];
            memcpy(b, a, 16);
            /* Vary the last byte, and now and then the host half. */
            b[15] = (uint8_t)(b[15] + k - 32);
            if (k % 8 == 0)
                b[8 + rnd() % 8] = (uint8_t)rnd();
            size_t len = ip6_sub(b, 32, sub);
            expect_same(&m, ds, 2, sub, len, addrs[i]);
        }
    }
    model_free(&m);

    struct dataset *dollar = load("ip6trie", ":127.0.0.2:See $\n2001:db8::/32\n");
    build_model(&dollar, 1, &m, &st);
    assert_int_equal(st.range_txt, 1);
    uint8_t a[16];
    assert_int_equal(inet_pton(AF_INET6, "2001:db8:5::1", a), 1);
    struct answer got;
    size_t len = ip6_sub(a, 32, sub);
    model_query(&m, sub, len, DNS_TYPE_TXT, &got);
    assert_int_equal(got.n, 1);
    /* "See 2001:db8::/32" as a character-string, in hex. */
    char want[80] = "11";
    const char *t = "See 2001:db8::/32";
    for (size_t i = 0; t[i]; i++)
        snprintf(want + 2 + 2 * i, 3, "%02x", (unsigned char)t[i]);
    assert_string_equal(got.rd[0], want);
    model_free(&m);
    dataset_unref(dollar);
    dataset_unref(ds[0]);
    dataset_unref(ds[1]);
}

/* dnset: exact names, "*.x" and ".x", exclusions, and names under a
 * wildcard that need one of their own. */
static void test_dnset(void **state)
{
    (void)state;
    struct dataset *ds = load("dnset", ":127.0.0.2:Listed $\n"
                                       "spam.example\n"
                                       "*.bad.example\n"
                                       ".evil.example :3:Evil $\n"
                                       "ok.evil.example :4:Fine\n"
                                       "!good.evil.example\n"
                                       "deep.x.bad.example :5:Deep\n"
                                       "!*.clean.bad.example\n");
    struct model m;
    struct zrec_stats st;
    build_model(&ds, 1, &m, &st);
    static const char *const names[] = {
        "spam.example",
        "a.spam.example",
        "bad.example",
        "a.bad.example",
        "a.b.bad.example",
        "x.bad.example",
        "y.x.bad.example",
        "deep.x.bad.example",
        "z.deep.x.bad.example",
        "clean.bad.example",
        "a.clean.bad.example",
        "evil.example",
        "a.evil.example",
        "ok.evil.example",
        "a.ok.evil.example",
        "good.evil.example",
        "a.good.evil.example",
        "example",
        "other.example",
        "test",
        "invalid",
        "nothing",
    };
    uint8_t sub[NAME_MAXWIRE];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        expect_same(&m, &ds, 1, sub, text_sub(names[i], sub), names[i]);
    /* The wildcard's TXT names the wildcard's base, as dnset does. */
    struct answer got;
    model_query(&m, sub, text_sub("q.evil.example", sub), DNS_TYPE_TXT, &got);
    assert_int_equal(got.n, 1);
    model_free(&m);
    dataset_unref(ds);
}

/* generic: records at names and at the apex, MX and AAAA included. */
static void test_generic_and_apex(void **state)
{
    (void)state;
    struct dataset *ds = load("generic", "@ A 127.0.0.9\n@ MX 10 mx.example.org\n"
                                         "www 300 A 192.0.2.1\nwww TXT \"cost $5\"\n"
                                         "v6.host AAAA 2001:db8::1\n");
    struct model m;
    struct zrec_stats st;
    build_model(&ds, 1, &m, &st);
    assert_int_equal(m.apex_records, 2);
    assert_int_equal(st.records, 5);
    uint8_t sub[NAME_MAXWIRE];
    static const char *const names[] = {"www", "host", "v6.host", "nothing", "a.www"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        expect_same(&m, &ds, 1, sub, text_sub(names[i], sub), names[i]);
    /* The TXT is literal: "$5" stays. */
    struct answer got;
    model_query(&m, sub, text_sub("www", sub), DNS_TYPE_TXT, &got);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.rd[0], "07636f7374202435");
    model_free(&m);
    dataset_unref(ds);
}

/* combined: subzones with datasets of their own; the test entries of
 * each subzone's families. */
static void test_combined(void **state)
{
    (void)state;
    struct dataset *ds = load("combined", "$DATASET ip4set @\n:127.0.0.2:Main\n10.0.0.0/24\n"
                                          "$DATASET ip4trie sub\n:127.0.0.3:Sub $\n10.0.0.5/32\n"
                                          "$DATASET dnset dom\n:127.0.0.4:Dom\n*.example.com\n"
                                          "$DATASET ip6trie @\n:127.0.0.5:Six\n2001:db8::/32\n");
    struct model m;
    build_model(&ds, 1, &m, NULL);
    static const char *const names[] = {
        "5.0.0.10",          "6.0.0.10",        "5.0.0.10.sub", "6.0.0.10.sub",
        "2.0.0.127.sub",     "1.0.0.127.sub",   "sub",          "dom",
        "a.example.com.dom", "example.com.dom", "test.dom",     "invalid.dom",
        "2.0.0.127",         "x.dom",           "0.0.10.sub",   "0.0.10",
    };
    uint8_t sub[NAME_MAXWIRE];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        expect_same(&m, &ds, 1, sub, text_sub(names[i], sub), names[i]);
    uint8_t a[16];
    assert_int_equal(inet_pton(AF_INET6, "2001:db8:1::1", a), 1);
    size_t len = ip6_sub(a, 32, sub);
    expect_same(&m, &ds, 1, sub, len, "ipv6 in combined");
    model_free(&m);
    dataset_unref(ds);
}

/* An IPv4 /24 wildcard with IPv6 names under one of its addresses' names
 * (2001::/16 and 2.0.0.0/24 share "1.0.0.2"): that address gets a name. */
static void test_ip4_ip6_names_meet(void **state)
{
    (void)state;
    struct dataset *ds[2] = {
        load("ip4set", ":127.0.0.2:Four\n2.0.0.0/24\n"),
        load("ip6trie", ":127.0.0.3:Six\n2001:db8::/32\n"),
    };
    struct model m;
    build_model(ds, 2, &m, NULL);
    uint8_t sub[NAME_MAXWIRE];
    uint32_t near[] = {0x02000000, 0x02000001, 0x02000005};
    compare_ip4(&m, ds, 2, near, 3, 300);
    uint8_t a[16];
    assert_int_equal(inet_pton(AF_INET6, "2001:db8:1::1", a), 1);
    size_t len = ip6_sub(a, 32, sub);
    expect_same(&m, ds, 2, sub, len, "ipv6");
    model_free(&m);
    dataset_unref(ds[0]);
    dataset_unref(ds[1]);
}

/* The cap: past it the plan fails, and says why. */
static void test_cap(void **state)
{
    (void)state;
    struct dataset *ds = load("ip4set", ":127.0.0.2:See $\n10.0.0.0/20\n");
    int rc;
    /* 4096 addresses, A and TXT each, and the test entry. */
    struct zrec *z = plan(&ds, 1, 2 * 4097, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(zrec_stats(z)->records, 2 * 4097);
    zrec_free(z);
    struct zrec_opts o = {.max_records = 2 * 4097 - 1};
    char why[256];
    assert_int_equal(zrec_plan(apex, &ds, 1, &o, &z, why, sizeof(why)), ERR_LIMIT);
    assert_null(z);
    assert_non_null(strstr(why, "more than 8193 records"));
    dataset_unref(ds);
}

/* TTLs are clamped as the server clamps them, and one RRset has one. */
static void test_ttls(void **state)
{
    (void)state;
    struct dataset *ds[2] = {load("ip4tset", "$TTL 100\n:127.0.0.2:a\n10.0.0.1\n"),
                             load("ip4tset", "$TTL 5000\n:127.0.0.3:b\n10.0.0.1\n")};
    struct model m;
    memset(&m, 0, sizeof(m));
    m.apex_len = sizeof(apex);
    memcpy(m.apex, apex, sizeof(apex));
    struct zrec *z = NULL;
    struct zrec_opts o = {.ttl_min = 200, .ttl_max = 3000};
    char why[128];
    assert_int_equal(zrec_plan(apex, ds, 2, &o, &z, why, sizeof(why)), 0);
    assert_int_equal(zrec_emit(z, model_add, &m), 0);
    for (size_t i = 0; i < m.n; i++)
        assert_int_equal(m.rr[i].ttl, 200);
    zrec_free(z);
    model_free(&m);
    dataset_unref(ds[0]);
    dataset_unref(ds[1]);
}

/* A dataset type without a walk cannot be transferred. */
static const struct dataset_ops nowalk_ops = {.name = "nowalk", .family = DS_FAM_IP4};

static void test_unsupported(void **state)
{
    (void)state;
    struct dataset *ds;
    assert_int_equal(dataset_create(&nowalk_ops, &ctx, &ds), 0);
    struct zrec *z = NULL;
    struct zrec_opts o = {0};
    char why[256];
    assert_int_equal(zrec_plan(apex, &ds, 1, &o, &z, why, sizeof(why)), ERR_UNSUPP);
    assert_non_null(strstr(why, "nowalk"));
    dataset_unref(ds);
}

/* A big random ip4set against the model: every stretch's edges. */
static void test_random_ip4set(void **state)
{
    (void)state;
    char *text = malloc(200000);
    size_t o = (size_t)sprintf(text, ":127.0.0.2:Listed\n");
    uint32_t near[600];
    size_t nn = 0;
    for (int i = 0; i < 500; i++) {
        uint32_t a = 0x0a000000u | (uint32_t)(rnd() % 0x40000);
        unsigned kind = (unsigned)(rnd() % 6);
        if (kind == 0)
            o += (size_t)sprintf(text + o, "%u.%u.%u.0/24\n", a >> 24, (a >> 16) & 255,
                                 (a >> 8) & 255);
        else if (kind == 1)
            o += (size_t)sprintf(text + o, "!%u.%u.%u.%u\n", a >> 24, (a >> 16) & 255,
                                 (a >> 8) & 255, a & 255);
        else if (kind == 2)
            o += (size_t)sprintf(text + o, "%u.%u.%u.%u :%u:v%u\n", a >> 24, (a >> 16) & 255,
                                 (a >> 8) & 255, a & 255, 2 + (unsigned)(rnd() % 3),
                                 (unsigned)(rnd() % 3));
        else if (kind == 3)
            o += (size_t)sprintf(text + o, "%u.%u.%u.%u-%u.%u.%u.%u\n", a >> 24, (a >> 16) & 255,
                                 (a >> 8) & 255, a & 255, a >> 24, (a >> 16) & 255,
                                 ((a >> 8) & 255), 255u);
        else
            o += (size_t)sprintf(text + o, "%u.%u.%u.%u\n", a >> 24, (a >> 16) & 255,
                                 (a >> 8) & 255, a & 255);
        near[nn++] = a;
    }
    struct dataset *ds = load("ip4set", text);
    free(text);
    struct model m;
    build_model(&ds, 1, &m, NULL);
    compare_ip4(&m, &ds, 1, near, nn, 5000);
    model_free(&m);
    dataset_unref(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_txt_render),
        cmocka_unit_test_setup_teardown(test_ip4set_wildcards, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_ip4set_exclusions, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_ip4_txt_naming_the_address, setup_tmpdir,
                                        teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_merged_datasets, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_ip6, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_dnset, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_generic_and_apex, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_combined, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_ip4_ip6_names_meet, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_cap, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_ttls, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_unsupported, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_random_ip4set, setup_tmpdir, teardown_tmpdir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
