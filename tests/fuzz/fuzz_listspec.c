/* Fuzz harness for list specs: parse the input as a spec; when it parses,
 * format it, parse the text again and require the same spec (a round
 * trip), and the same text when formatted once more. A refusal must come
 * with a reason. Any broken invariant aborts. */
#include <stdint.h>
#include <string.h>

#include "client/listspec.h"
#include "client/verdict.h"
#include "common/err.h"
#include "fuzz_common.h"

#define MAXSPEC 4096 /* far longer than any real spec; keeps runs fast */

/* Codes whose verdict must survive the round trip: the RFC 5782 test
 * entries, the error codes, edges of 127/8, and codes the input names. */
static void check_same_matches(const struct listspec *a, const struct listspec *b,
                               const uint8_t *data, size_t size)
{
    static const uint32_t fixed[] = {0x7f000000, 0x7f000001, 0x7f000002, 0x7f00000a,
                                     0x7f0000ff, 0x7f010203, 0x7ffffffb, 0x7ffffffc,
                                     0x7fffffff, 0x7effffff, 0x80000000, 0xc0000201};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        CHECK(listspec_matches(a, fixed[i]) == listspec_matches(b, fixed[i]));
        CHECK(verdict_classify(a, fixed[i]) == verdict_classify(b, fixed[i]));
        /* Nothing outside 127/8 and no error code is ever a listing. */
        if (fixed[i] >> 24 != 127 || verdict_is_error_code(fixed[i]))
            CHECK(!listspec_matches(a, fixed[i]));
    }
    for (size_t i = 0; i + 3 < size && i < 64; i += 4) {
        uint32_t code =
            0x7f000000u | (uint32_t)data[i + 1] << 16 | (uint32_t)data[i + 2] << 8 | data[i + 3];
        CHECK(listspec_matches(a, code) == listspec_matches(b, code));
    }
}

static bool same_spec(const struct listspec *a, const struct listspec *b)
{
    if (strcmp(a->zone, b->zone) != 0 || a->match != b->match || a->weight != b->weight)
        return false;
    if (a->match == LISTSPEC_FILTER && memcmp(a->octet, b->octet, sizeof(a->octet)) != 0)
        return false;
    if (a->match == LISTSPEC_MASK && a->mask != b->mask)
        return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char text[MAXSPEC + 1];
    if (size > MAXSPEC)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    struct listspec s;
    char why[128];
    why[0] = '\0';
    int rc = listspec_parse(text, &s, why, sizeof(why));
    if (rc != 0) {
        CHECK(rc == ERR_INVAL);
        CHECK(why[0] != '\0');
        CHECK(strnlen(why, sizeof(why)) < sizeof(why));
        return 0;
    }
    CHECK(why[0] == '\0');
    CHECK(strlen(s.zone) > 0 && strlen(s.zone) <= LISTSPEC_ZONE_MAX);
    CHECK(s.weight != 0 && s.weight >= -LISTSPEC_WEIGHT_MAX && s.weight <= LISTSPEC_WEIGHT_MAX);

    static char out[8192], out2[8192];
    int n = listspec_format(&s, out, sizeof(out));
    CHECK(n > 0 && (size_t)n == strlen(out));
    /* One byte less must not fit: the length is exact. */
    CHECK(listspec_format(&s, out2, (size_t)n) == ERR_SPACE);

    struct listspec again;
    char why2[128];
    rc = listspec_parse(out, &again, why2, sizeof(why2));
    if (rc != 0) {
        fprintf(stderr, "formatted '%s' does not parse: %s\n", out, why2);
        abort();
    }
    if (!same_spec(&s, &again)) {
        fprintf(stderr, "'%s' formatted as '%s' reads back differently\n", text, out);
        abort();
    }
    int n2 = listspec_format(&again, out2, sizeof(out2));
    CHECK(n2 == n && memcmp(out, out2, (size_t)n) == 0);
    check_same_matches(&s, &again, data, size);
    return 0;
}
