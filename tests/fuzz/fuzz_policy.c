/* Fuzz harness for the policy protocol parser: any bytes, fed whole and
 * again in pieces whose sizes the input's first byte chooses, must give
 * the same requests and refuse at the same point, and every request's
 * values are NUL-terminated strings. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_REQS 64

struct outcome {
    unsigned nreq;
    struct policy_request req[FUZZ_MAX_REQS];
    int malformed;
    const char *why;
};

static void fuzz_check(const struct policy_request *r)
{
    const char *fields[] = {r->request,     r->protocol_state, r->client_address,
                            r->client_name, r->helo_name,      r->sender,
                            r->recipient,   r->queue_id,       r->instance};
    size_t sizes[] = {sizeof(r->request),     sizeof(r->protocol_state), sizeof(r->client_address),
                      sizeof(r->client_name), sizeof(r->helo_name),      sizeof(r->sender),
                      sizeof(r->recipient),   sizeof(r->queue_id),       sizeof(r->instance)};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        if (!memchr(fields[i], '\0', sizes[i]))
            abort();
    if (strcmp(r->request, "smtpd_access_policy") != 0 || r->attrs == 0 ||
        r->attrs > POLICY_ATTRS_MAX)
        abort();
}

static void fuzz_run(const uint8_t *data, size_t size, size_t piece, struct outcome *o)
{
    static struct policy_parser p;
    policy_parser_init(&p);
    memset(o, 0, sizeof(*o));
    size_t at = 0;
    while (at < size && !o->malformed) {
        size_t n = size - at < piece ? size - at : piece;
        const char *buf = (const char *)data + at;
        while (n > 0) {
            size_t used = 0;
            const char *why = NULL;
            enum policy_feed r = policy_parser_feed(&p, buf, n, &used, &why);
            if (used > n)
                abort();
            buf += used;
            n -= used;
            at += used;
            if (r == POLICY_MALFORMED) {
                if (!why)
                    abort();
                o->malformed = 1;
                o->why = why;
                return;
            }
            if (r == POLICY_REQUEST) {
                fuzz_check(&p.req);
                /* Every request is counted; the first ones are kept. */
                if (o->nreq < FUZZ_MAX_REQS)
                    o->req[o->nreq] = p.req;
                o->nreq++;
                continue;
            }
            if (used == 0 && n > 0)
                abort(); /* MORE must take everything */
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct outcome whole, pieces;
    if (size == 0)
        return 0;
    size_t piece = 1 + data[0] % 17;
    fuzz_run(data + 1, size - 1, size, &whole);
    fuzz_run(data + 1, size - 1, piece, &pieces);
    if (whole.nreq != pieces.nreq || whole.malformed != pieces.malformed)
        abort();
    /* The reason may differ: a line that is both too long and makes the
     * request too long is caught by whichever limit its pieces reach
     * first. */
    for (unsigned i = 0; i < whole.nreq && i < FUZZ_MAX_REQS; i++)
        if (memcmp(&whole.req[i], &pieces.req[i], sizeof(whole.req[i])) != 0)
            abort();
    return 0;
}
