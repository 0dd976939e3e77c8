/* Helpers shared by the data-layer unit tests (tests/unit/data/test_*.c):
 * the load context, a temporary directory for data files, loading a
 * dataset from lines or from a file, asking it a query, and checking what
 * it answered.
 *
 * Every test file is a binary of its own, so the helpers are static
 * inline functions here rather than a library. A check that fails fails
 * the running cmocka test, as an assert_* in the test itself would. */
#ifndef DBK_TESTS_UNIT_DATA_DSTEST_H
#define DBK_TESTS_UNIT_DATA_DSTEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/name.h"
#include "data/datafile.h"
#include "data/dataset.h"

/* A file that includes this header need not use every variable in it. */
#define DSTEST_UNUSED __attribute__((unused))

/* The load context the tests start from. */
#define DSTEST_CTX                                                                                 \
    {                                                                                              \
        .zone = "bl.example", .default_ttl = 2100,                                                 \
        .limits = {.min_prefix4 = 8, .min_prefix6 = 8, .max_ip4_total = 1u << 28},                 \
    }

/* The load context of every load below. setup_tmpdir() restores it; a
 * test run without that setup restores what it changes itself. */
static struct ds_load_ctx ctx DSTEST_UNUSED = DSTEST_CTX;

/* The message of the last load that failed. */
static char errbuf[DATAFILE_ERRLEN] DSTEST_UNUSED;

/* ---- temporary files ---------------------------------------------------
 * The directory setup_tmpdir() makes for the running test, and `path`,
 * the file in it that load_text() writes. */
static char tmpdir[64] DSTEST_UNUSED;
static char path[128] DSTEST_UNUSED;

/* cmocka setup: a fresh temporary directory and the default ctx. */
static inline int setup_tmpdir(void **state)
{
    (void)state;
    ctx = (struct ds_load_ctx)DSTEST_CTX;
    strcpy(tmpdir, "/tmp/dbk_test_XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(path, sizeof(path), "%s/data.txt", tmpdir);
    return 0;
}

/* cmocka teardown: remove the temporary directory and what is in it. */
static inline int teardown_tmpdir(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Write text to the file `name` of the temporary directory, replacing
 * it. Returns its path, which stays valid for the next three calls. */
static inline const char *write_file(const char *name, const char *text)
{
    static char paths[4][128];
    static unsigned next;
    char *p = paths[next++ % 4];
    snprintf(p, sizeof(paths[0]), "%s/%s", tmpdir, name);
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    return p;
}

/* ---- loading -----------------------------------------------------------
 * Through dataset_load, from a file: */

/* Write text to `path` and return the spec loading it as `type`. */
static inline const char *dstest_text_spec(const char *type, const char *text)
{
    static char spec[256];
    write_file("data.txt", text);
    snprintf(spec, sizeof(spec), "%s:%s", type, path);
    return spec;
}

/* Load text as a dataset of `type` ("ip4set"); a failure fails the test
 * with its message. */
static inline struct dataset *load_text(const char *type, const char *text)
{
    struct dataset *ds = NULL;
    if (dataset_load(dstest_text_spec(type, text), &ctx, &ds, errbuf, sizeof(errbuf)) != 0)
        fail_msg("load failed: %s", errbuf);
    return ds;
}

/* Load text that must fail to load: returns the error, and errbuf says
 * why. */
static inline int load_text_error(const char *type, const char *text)
{
    struct dataset *ds = (struct dataset *)1;
    int rc = dataset_load(dstest_text_spec(type, text), &ctx, &ds, errbuf, sizeof(errbuf));
    assert_int_not_equal(rc, 0);
    assert_null(ds);
    return rc;
}

/* Through the pieces dataset_load is made of, from lines in memory: feed
 * the lines (NULL-terminated) to a new dataset of the type `ops`, as
 * datafile_read would feed a file named `file`, then finish it. Returns 0
 * with *out set, or the error with *out NULL and errbuf saying why. */
static inline int load_lines(const struct dataset_ops *ops, const char *file,
                             const char *const *lines, struct dataset **out)
{
    struct dataset *ds;
    struct datafile df;
    char buf[1024];
    *out = NULL;
    int rc = dataset_create(ops, &ctx, &ds);
    if (rc < 0)
        return rc;
    errbuf[0] = '\0';
    datafile_init(&df, ds, file);
    for (unsigned i = 0; lines[i]; i++) {
        size_t len = strlen(lines[i]);
        assert_true(len < sizeof(buf));
        memcpy(buf, lines[i], len + 1);
        if ((rc = datafile_feed(&df, buf)) < 0) {
            snprintf(errbuf, sizeof(errbuf), "%s", df.err);
            break;
        }
    }
    datafile_cleanup(&df);
    if (rc == 0)
        rc = dataset_finish(ds, errbuf, sizeof(errbuf));
    if (rc < 0) {
        dataset_unref(ds);
        return rc;
    }
    *out = ds;
    return 0;
}

/* Assert that errbuf is exactly "<file>:<line>: <msg>". */
static inline void expect_error(const char *file, unsigned line, const char *msg)
{
    char want[DATAFILE_ERRLEN + 128];
    snprintf(want, sizeof(want), "%s:%u: %s", file, line, msg);
    assert_string_equal(errbuf, want);
}

/* Assert that errbuf names "<file>:<line>: " and holds `part`. */
static inline void expect_error_part(const char *file, unsigned line, const char *part)
{
    char where[160];
    snprintf(where, sizeof(where), "%s:%u: ", file, line);
    if (!strstr(errbuf, where) || !strstr(errbuf, part))
        fail_msg("'%s' lacks '%s' or '%s'", errbuf, where, part);
}

/* ---- queries ----------------------------------------------------------- */

/* The labels of a name relative to the zone ("4.3.2.1") in wire form,
 * without the root label; "" and "@" are the apex. Returns their length. */
static inline size_t sub_of(const char *name, uint8_t out[NAME_MAXWIRE])
{
    size_t len;
    if (name[0] == '\0' || strcmp(name, "@") == 0)
        return 0;
    assert_int_equal(name_from_text(name, out, &len), 0);
    return len - 1;
}

/* A query and its result. */
struct lookup {
    uint8_t wire[NAME_MAXWIRE];
    struct ds_query q;
    struct ds_result res;
};

/* Answer l->q (set up by the caller) into a fresh l->res. */
static inline void run_query(const struct dataset *ds, struct lookup *l)
{
    ds_result_reset(&l->res);
    assert_int_equal(dataset_query(ds, &l->q, &l->res), 0);
}

/* Ask ds about a name relative to the zone ("4.3.2.1", "@" for the apex). */
static inline void lookup(const struct dataset *ds, const char *name, struct lookup *l)
{
    ds_query_init(&l->q, l->wire, sub_of(name, l->wire));
    run_query(ds, l);
}

/* Ask ds about the first `nibbles` nibbles of an IPv6 address, written as
 * the reversed nibble name a client would ask for. */
static inline void lookup_ip6(const struct dataset *ds, const char *addr, unsigned nibbles,
                              struct lookup *l)
{
    uint8_t a[16];
    size_t pos = 0;
    assert_int_equal(inet_pton(AF_INET6, addr, a), 1);
    for (unsigned i = nibbles; i-- > 0;) {
        unsigned v = i % 2 ? a[i / 2] & 15 : a[i / 2] >> 4;
        l->wire[pos++] = 1;
        l->wire[pos++] = (uint8_t) "0123456789abcdef"[v];
    }
    ds_query_init(&l->q, l->wire, pos);
    run_query(ds, l);
}

/* lookup() into storage of its own, for short checks: the result stays
 * valid until the next ask(). */
static inline const struct ds_result *ask(const struct dataset *ds, const char *name)
{
    static struct lookup l;
    lookup(ds, name, &l);
    return &l.res;
}

/* ---- results ----------------------------------------------------------- */

/* The n-th record (from 0) of the given type in a result, or NULL. */
static inline const struct ds_rr *find_rr(const struct ds_result *res, uint16_t type, unsigned n)
{
    for (unsigned i = 0; i < res->nrr; i++)
        if (res->rr[i].type == type && n-- == 0)
            return &res->rr[i];
    return NULL;
}

/* The last octet of the n-th A record, or -1 when there is none. */
static inline int a_octet(const struct ds_result *res, unsigned n)
{
    const struct ds_rr *rr = find_rr(res, DNS_TYPE_A, n);
    return rr ? rr->rdata[3] : -1;
}

/* Whether a record's data is exactly `data`. */
static inline bool dstest_rr_is(const struct ds_rr *rr, const char *data)
{
    return rr && rr->rdlen == strlen(data) && memcmp(rr->rdata, data, rr->rdlen) == 0;
}

/* Whether the first TXT record of a result is exactly txt. */
static inline bool txt_is(const struct ds_result *res, const char *txt)
{
    return dstest_rr_is(find_rr(res, DNS_TYPE_TXT, 0), txt);
}

/* Whether any TXT record of a result is exactly txt. */
static inline bool has_txt(const struct ds_result *res, const char *txt)
{
    for (unsigned i = 0; i < res->nrr; i++)
        if (res->rr[i].type == DNS_TYPE_TXT && dstest_rr_is(&res->rr[i], txt))
            return true;
    return false;
}

/* Assert that record i of a result is A 127.0.0.<last>. */
static inline void expect_a(const struct ds_result *r, unsigned i, uint8_t last)
{
    const uint8_t want[4] = {127, 0, 0, last};
    assert_true(i < r->nrr);
    assert_int_equal(r->rr[i].type, DNS_TYPE_A);
    assert_memory_equal(r->rr[i].rdata, want, 4);
}

/* Assert that record i of a result is a TXT of exactly txt. */
static inline void expect_txt(const struct ds_result *r, unsigned i, const char *txt)
{
    assert_true(i < r->nrr);
    assert_int_equal(r->rr[i].type, DNS_TYPE_TXT);
    assert_int_equal(r->rr[i].rdlen, strlen(txt));
    assert_memory_equal(r->rr[i].rdata, txt, strlen(txt));
}

/* Assert that '$' in the TXT records of a result stands for `want`. */
static inline void expect_subject(const struct ds_result *res, const char *want)
{
    assert_non_null(res->subject);
    assert_int_equal(res->subject_len, strlen(want));
    assert_memory_equal(res->subject, want, strlen(want));
}

#endif
