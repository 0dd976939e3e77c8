/* What one list's answer about one subject means, before any weighting:
 * the validation every answer goes through. A records outside 127/8 are
 * never listings (a parking wildcard answers public addresses), nor are
 * the known error codes 127.255.255.252..255 (Spamhaus: typo in the
 * query, query through a public resolver, excessive queries); both count
 * against the list's health instead. */
#ifndef DBK_CLIENT_VERDICT_H
#define DBK_CLIENT_VERDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/listspec.h"

enum verdict_code {
    VERDICT_LISTED,   /* a code inside 127/8 that the spec's filter accepts */
    VERDICT_FILTERED, /* inside 127/8 and not an error code, but the filter refuses it */
    VERDICT_ERROR,    /* one of 127.255.255.252..255: the list refuses to answer us */
    VERDICT_BOGUS,    /* outside 127/8: not a DNSBL answer at all */
};

/* Classify one A record's address (host order). */
enum verdict_code verdict_classify(const struct listspec *s, uint32_t a);

/* Whether a is one of the error codes 127.255.255.252..255. */
bool verdict_is_error_code(uint32_t a);

/* The summary of a whole answer (several A records) for one spec. */
struct verdict {
    bool listed;       /* some record is VERDICT_LISTED */
    bool bogus;        /* some record is VERDICT_BOGUS */
    bool error_code;   /* some record is VERDICT_ERROR */
    uint32_t codes[8]; /* the records that are VERDICT_LISTED, first 8 */
    unsigned ncodes;
};

/* Summarize n A records (host order). A bogus or error-code record in
 * the answer makes the whole answer untrustworthy: `listed` is then
 * false even if another record would match, so one poisoned answer can
 * never reject mail. */
void verdict_summarize(const struct listspec *s, const uint32_t *a, size_t n, struct verdict *out);

#endif
