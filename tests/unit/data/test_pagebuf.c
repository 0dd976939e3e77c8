/* Unit tests for the page-backed staging buffer: growth keeps the
 * contents, and dropping the head frees exactly the whole pages before
 * the mark and nothing after it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "data/pagebuf.h"

static void fill(unsigned char *p, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        p[i] = (unsigned char)(i * 131 + 7);
}

static bool intact(const unsigned char *p, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (p[i] != (unsigned char)(i * 131 + 7))
            return false;
    return true;
}

static void test_grow_keeps_contents(void **state)
{
    (void)state;
    struct pagebuf pb;
    pagebuf_init(&pb);
    assert_null(pb.base);
    assert_int_equal(pagebuf_reserve(&pb, 1000), 0);
    assert_non_null(pb.base);
    assert_true(pb.cap >= 1000);
    fill(pb.base, 0, 1000);
    size_t cap = pb.cap;
    assert_int_equal(pagebuf_reserve(&pb, cap), 0); /* already enough: unchanged */
    assert_int_equal(pb.cap, cap);
    assert_int_equal(pagebuf_reserve(&pb, 40u << 20), 0);
    assert_true(pb.cap >= 40u << 20);
    assert_true(intact(pb.base, 0, 1000));
    fill(pb.base, 1000, 40u << 20); /* every new byte is writable */
    assert_true(intact(pb.base, 0, 40u << 20));
    /* A size no mapping can have is refused and the buffer kept. */
    unsigned char *base = pb.base;
    assert_int_equal(pagebuf_reserve(&pb, SIZE_MAX), ERR_NOMEM);
    assert_ptr_equal(pb.base, base);
    assert_true(intact(pb.base, 0, 40u << 20));
    pagebuf_free(&pb);
    assert_null(pb.base);
    assert_int_equal(pb.cap, 0);
}

static void test_drop_head(void **state)
{
    (void)state;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    struct pagebuf pb;
    pagebuf_init(&pb);
    size_t len = 64 * page;
    assert_int_equal(pagebuf_reserve(&pb, len), 0);
    fill(pb.base, 0, len);
    /* Less than a page: nothing can go. */
    pagebuf_drop_head(&pb, page - 1);
    assert_int_equal(pb.dropped, 0);
    assert_true(intact(pb.base, 0, len));
    /* 10.5 pages: the first 10 go, the half page stays. */
    pagebuf_drop_head(&pb, 10 * page + page / 2);
    assert_int_equal(pb.dropped, 10 * page);
    for (size_t i = 0; i < 10 * page; i++)
        assert_int_equal(pb.base[i], 0);
    assert_true(intact(pb.base, 10 * page, len));
    /* A smaller mark than before changes nothing. */
    pagebuf_drop_head(&pb, 3 * page);
    assert_int_equal(pb.dropped, 10 * page);
    /* Growth after a drop keeps what was not dropped. */
    assert_int_equal(pagebuf_reserve(&pb, 8 * len), 0);
    assert_true(intact(pb.base, 10 * page, len));
    /* A mark past the end stops at the mapping. */
    pagebuf_drop_head(&pb, SIZE_MAX);
    assert_int_equal(pb.dropped, pb.cap);
    pagebuf_free(&pb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grow_keeps_contents),
        cmocka_unit_test(test_drop_head),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
