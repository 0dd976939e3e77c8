/* Fuzz harness for the data-file parser: every line of the input is fed,
 * as datafile_read would feed it, to a fresh dataset of each type; the
 * dataset is then finished and queried. Parse errors are expected; a
 * crash, leak or out-of-bounds access is the bug. */
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "common/err.h"
#include "common/log.h"
#include "common/name.h"
#include "data/datafile.h"
#include "data/dataset.h"
#include "fuzz_common.h"

#define MAXLINE 4096 /* datafile_read's line limit */

/* Query names (left of the zone apex, as text) tried on every dataset:
 * the RFC 5782 test entries, addresses the corpus lists, a domain. */
static const char *const probes[] = {
    "2.0.0.127",
    "1.0.0.127",
    "4.3.2.1",
    "0.0.10",
    "1.1.168.192",
    "2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0",
    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2",
    "test",
    "invalid",
    "example.com",
    "www.example.com",
};

static void check_result(const struct ds_result *res)
{
    CHECK(res->nrr <= DS_MAX_RR);
    for (unsigned i = 0; i < res->nrr; i++) {
        const struct ds_rr *rr = &res->rr[i];
        CHECK(rr->rdlen == 0 || rr->rdata != NULL);
        if (rr->type == DNS_TYPE_A)
            CHECK(rr->rdlen == 4);
        /* Touch every byte so ASan sees a dangling or short rdata. */
        volatile uint8_t sum = 0;
        for (uint16_t j = 0; j < rr->rdlen; j++)
            sum ^= rr->rdata[j];
        (void)sum;
    }
    if (res->subject_len > 0)
        CHECK(res->subject != NULL && memchr(res->subject, 0, res->subject_len) == NULL);
}

static void query_one(const struct dataset *ds, const uint8_t *sub, size_t sublen,
                      const struct sockaddr_in *client)
{
    struct ds_query q;
    static struct ds_result res;
    ds_query_init(&q, sub, sublen);
    ds_query_set_client(&q, client);
    memset(&res, 0, sizeof(res));
    if (dataset_query(ds, &q, &res) == 0)
        check_result(&res);
}

/* Text name -> labels without the root, as struct ds_query wants them. */
static size_t sub_of(const char *text, uint8_t *wire)
{
    size_t len;
    if (name_from_text(text, wire, &len) != 0 || len < 1)
        return (size_t)-1;
    return len - 1;
}

static void query_all(const struct dataset *ds, const char *firstline)
{
    struct sockaddr_in client;
    memset(&client, 0, sizeof(client));
    client.sin_family = AF_INET;
    client.sin_addr.s_addr = htonl(0x7f000001);
    uint8_t wire[NAME_MAXWIRE];
    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
        size_t n = sub_of(probes[i], wire);
        CHECK(n != (size_t)-1);
        query_one(ds, wire, n, &client);
    }
    query_one(ds, wire, 0, NULL); /* the zone apex */
    /* The first input line's first word as a name. */
    char word[256];
    size_t w = strcspn(firstline, " \t:");
    if (w > 0 && w < sizeof(word)) {
        memcpy(word, firstline, w);
        word[w] = '\0';
        size_t n = sub_of(word, wire);
        if (n != (size_t)-1)
            query_one(ds, wire, n, &client);
    }
}

static void run_type(const struct dataset_ops *ops, const uint8_t *data, size_t size)
{
    const struct ds_load_ctx ctx = {
        .zone = "fuzz.example",
        .default_ttl = 2100,
        .limits = {.min_prefix4 = 8, .min_prefix6 = 8, .max_ip4_total = 1u << 28},
    };
    struct dataset *ds = NULL;
    int rc = dataset_create(ops, &ctx, &ds);
    if (rc != 0) {
        CHECK(rc < 0 && ds == NULL);
        return;
    }
    struct datafile df;
    datafile_init(&df, ds, "fuzz");
    static char line[MAXLINE + 1], first[MAXLINE + 1];
    first[0] = '\0';
    size_t pos = 0;
    bool failed = false;
    while (pos < size) {
        const uint8_t *nl = memchr(data + pos, '\n', size - pos);
        size_t len = nl ? (size_t)(nl - (data + pos)) : size - pos;
        if (len > MAXLINE) {
            failed = true; /* datafile_read refuses over-long lines */
            break;
        }
        memcpy(line, data + pos, len);
        line[len] = '\0';
        if (first[0] == '\0')
            memcpy(first, line, len + 1);
        pos += len + (nl ? 1 : 0);
        rc = datafile_feed(&df, line);
        if (rc != 0) {
            /* An error always comes with a "file:line: reason". */
            CHECK(rc < 0);
            CHECK(df.err[0] != '\0');
            CHECK(strnlen(df.err, sizeof(df.err)) < sizeof(df.err));
            failed = true;
            break; /* a loader refuses the whole file at the first error */
        }
    }
    char errbuf[512];
    if (!failed && dataset_finish(ds, errbuf, sizeof(errbuf)) == 0)
        query_all(ds, first);
    datafile_cleanup(&df);
    dataset_unref(ds);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool quiet;
    if (!quiet) {
        /* Warnings about odd lines are expected by the thousand. */
        log_init("fuzz_dataline", false, LOG_ERR);
        quiet = true;
    }
    for (size_t i = 0; dataset_types[i] != NULL; i++) {
        CHECK(dataset_type(dataset_types[i]->name) == dataset_types[i]);
        run_type(dataset_types[i], data, size);
    }
    return 0;
}
