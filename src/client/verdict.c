/* The validation of a list's A records: listed, filtered out, an error
 * code, or not a DNSBL answer at all, and the summary of a whole answer. */
#include "client/verdict.h"

#include <string.h>

#define VERDICT_NCODES (sizeof(((struct verdict *)0)->codes) / sizeof(uint32_t))

bool verdict_is_error_code(uint32_t a)
{
    return a >= 0x7ffffffcu && a <= 0x7fffffffu;
}

/* 127.0.0.1 is classified like any other 127/8 code: a list that answers
 * it has said "listed" (RFC 5782 only says it should not), and a spec
 * without a filter takes its word. Catching such a list is the health
 * monitor's 127.0.0.1 probe's job, not the classification's. */
enum verdict_code verdict_classify(const struct listspec *s, uint32_t a)
{
    if (a >> 24 != 127)
        return VERDICT_BOGUS;
    if (verdict_is_error_code(a))
        return VERDICT_ERROR;
    return listspec_matches(s, a) ? VERDICT_LISTED : VERDICT_FILTERED;
}

void verdict_summarize(const struct listspec *s, const uint32_t *a, size_t n, struct verdict *out)
{
    memset(out, 0, sizeof(*out));
    bool matched = false;
    for (size_t i = 0; i < n; i++) {
        switch (verdict_classify(s, a[i])) {
        case VERDICT_LISTED: {
            matched = true;
            /* Kept even when the answer turns out poisoned, so the log can
             * say what the list claimed; `listed` alone is the decision.
             * A repeated record is kept once. */
            bool seen = false;
            for (unsigned j = 0; j < out->ncodes; j++)
                seen = seen || out->codes[j] == a[i];
            if (!seen && out->ncodes < VERDICT_NCODES)
                out->codes[out->ncodes++] = a[i];
            break;
        }
        case VERDICT_FILTERED:
            break;
        case VERDICT_ERROR:
            out->error_code = true;
            break;
        case VERDICT_BOGUS:
            out->bogus = true;
            break;
        }
    }
    out->listed = matched && !out->bogus && !out->error_code;
}
