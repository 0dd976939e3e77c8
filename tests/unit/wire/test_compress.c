/* Tests for reply name compression: longest suffix, chains through
 * earlier pointers, the 14-bit offset limit, and refusal of bad names. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "common/err.h"
#include "wire/compress.h"

static uint8_t buf[20000];

/* A reply to a query for "a.example": its question name sits at 12 and
 * "example" at 14. */
static void start(struct wire_reply *r, struct wire_query *q)
{
    memset(q, 0, sizeof(*q));
    memcpy(q->qname, "\001a\007example", 11);
    q->qname_len = 11;
    q->qtype = 1;
    q->qclass = 1;
    wire_reply_init(r, buf, sizeof(buf), sizeof(buf), q);
    assert_int_equal(r->len, 27);
    assert_int_equal(r->ncomp, 1);
}

static size_t put(struct wire_reply *r, size_t *pos, const char *wire, size_t wlen)
{
    size_t used = 0;
    assert_int_equal(wire_compress_name(r, pos, sizeof(buf), (const uint8_t *)wire, wlen, &used),
                     0);
    assert_int_equal(used, wlen);
    return used;
}

static void test_suffix_and_whole_name(void **state)
{
    (void)state;
    struct wire_reply r;
    struct wire_query q;
    start(&r, &q);
    size_t pos = r.len;
    put(&r, &pos, "\001z\007EXAMPLE", 11);
    assert_int_equal(pos, 27 + 4);
    assert_memory_equal(buf + 27, "\001z\300\016", 4);
    assert_int_equal(r.ncomp, 2);
    assert_int_equal(r.comp[1], 27);

    /* The whole question name: one pointer, nothing new to record. */
    put(&r, &pos, "\001a\007example", 11);
    assert_int_equal(wire_get16(buf + 31), 0xc00c);
    assert_int_equal(pos, 33);
    assert_int_equal(r.ncomp, 2);
}

static void test_longest_suffix_through_chain(void **state)
{
    (void)state;
    struct wire_reply r;
    struct wire_query q;
    start(&r, &q);
    size_t pos = r.len;
    put(&r, &pos, "\001b\001c\007example", 13); /* at 27: b c -> 14 */
    put(&r, &pos, "\001d\001b\001c\007example", 15);
    /* "b.c.example" at 27 beats "example" at 14. */
    assert_memory_equal(buf + 33, "\001d\300\033", 4);
    /* "c.example" starts at 29, inside the first name. */
    put(&r, &pos, "\001e\001c\007example", 13);
    assert_memory_equal(buf + 37, "\001e\300\035", 4);
    /* The name at 33 ends in a pointer; its suffixes are still found. */
    put(&r, &pos, "\001f\001d\001b\001c\007example", 17);
    assert_memory_equal(buf + 41, "\001f\300\041", 4);
}

static void test_root_name(void **state)
{
    (void)state;
    struct wire_reply r;
    struct wire_query q;
    start(&r, &q);
    size_t pos = r.len;
    put(&r, &pos, "", 1);
    assert_int_equal(pos, 28);
    assert_int_equal(buf[27], 0);
    assert_int_equal(r.ncomp, 1);
}

static void test_offsets_past_14_bits(void **state)
{
    (void)state;
    struct wire_reply r;
    struct wire_query q;
    start(&r, &q);
    size_t pos = 0x4100;
    put(&r, &pos, "\001x\005other\004test", 14);
    assert_int_equal(r.ncomp, 1); /* not addressable, not recorded */
    size_t at = pos;
    put(&r, &pos, "\001y\005other\004test", 14);
    assert_int_equal(pos - at, 14);
    at = pos;
    put(&r, &pos, "\001z\007example", 11);
    assert_memory_equal(buf + at, "\001z\300\016", 4);
}

static void test_no_space(void **state)
{
    (void)state;
    struct wire_reply r;
    struct wire_query q;
    start(&r, &q);
    size_t pos = r.len, used = 0;
    const uint8_t *name = (const uint8_t *)"\003new\004name";
    assert_int_equal(wire_compress_name(&r, &pos, pos + 9, name, 10, &used), ERR_SPACE);
    assert_int_equal(pos, r.len);
    assert_int_equal(r.ncomp, 1);
    assert_int_equal(wire_compress_name(&r, &pos, pos + 10, name, 10, &used), 0);
    assert_int_equal(pos, r.len + 10);
    /* A pointer needs both its bytes. */
    pos = r.len;
    assert_int_equal(
        wire_compress_name(&r, &pos, pos + 3, (const uint8_t *)"\001z\007example", 11, &used),
        ERR_SPACE);
}

static void test_malformed_names(void **state)
{
    (void)state;
    struct wire_reply r;
    struct wire_query q;
    start(&r, &q);
    size_t pos = r.len, used = 0;
    /* Runs past namemax. */
    assert_int_equal(
        wire_compress_name(&r, &pos, sizeof(buf), (const uint8_t *)"\003abc\000", 4, &used),
        ERR_INVAL);
    /* A compression pointer is not an uncompressed name. */
    assert_int_equal(
        wire_compress_name(&r, &pos, sizeof(buf), (const uint8_t *)"\300\014", 2, &used),
        ERR_INVAL);
    /* Longer than 255 bytes. */
    uint8_t longname[300];
    memset(longname, 'x', sizeof(longname));
    for (size_t i = 0; i + 64 < sizeof(longname); i += 64)
        longname[i] = 63;
    longname[256] = 0;
    assert_int_equal(wire_compress_name(&r, &pos, sizeof(buf), longname, sizeof(longname), &used),
                     ERR_INVAL);
    assert_int_equal(pos, r.len);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_suffix_and_whole_name),
        cmocka_unit_test(test_longest_suffix_through_chain),
        cmocka_unit_test(test_root_name),
        cmocka_unit_test(test_offsets_past_14_bits),
        cmocka_unit_test(test_no_space),
        cmocka_unit_test(test_malformed_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
