/* Unit tests for the value table (vtab) and value emission. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "data/dataset.h"
#include "data/value.h"

static struct ds_value mk(uint8_t last, const char *txt)
{
    struct ds_value v = {.a = {127, 0, 0, last}};
    if (txt) {
        v.has_txt = true;
        v.txt = txt;
        v.txtlen = (uint16_t)strlen(txt);
    }
    return v;
}

static void test_dedup(void **state)
{
    (void)state;
    struct vtab *vt;
    uint32_t i1, i2, i3, i4, i5;
    char buf[32];
    assert_int_equal(vtab_new(&vt), 0);
    struct ds_value a = mk(2, "listed $");
    assert_int_equal(vtab_intern(vt, &a, &i1), 0);
    /* Same content from another buffer: same index, text was copied. */
    strcpy(buf, "listed $");
    struct ds_value b = mk(2, buf);
    assert_int_equal(vtab_intern(vt, &b, &i2), 0);
    assert_int_equal(i1, i2);
    buf[0] = 'X';
    assert_string_equal(vtab_get(vt, i1)->txt, "listed $");
    /* Different A, no TXT vs empty TXT: all distinct. */
    struct ds_value c = mk(3, "listed $");
    struct ds_value d = mk(2, NULL);
    struct ds_value e = mk(2, "");
    assert_int_equal(vtab_intern(vt, &c, &i3), 0);
    assert_int_equal(vtab_intern(vt, &d, &i4), 0);
    assert_int_equal(vtab_intern(vt, &e, &i5), 0);
    assert_int_not_equal(i3, i1);
    assert_int_not_equal(i4, i1);
    assert_int_not_equal(i5, i4);
    assert_int_equal(vtab_count(vt), 4);
    assert_true(vtab_bytes(vt) > 0);
    assert_false(vtab_get(vt, i4)->has_txt);
    assert_null(vtab_get(vt, 99));
    vtab_free(vt);
}

static void test_many_values_grow(void **state)
{
    (void)state;
    struct vtab *vt;
    char txt[32];
    uint32_t idx[2000];
    assert_int_equal(vtab_new(&vt), 0);
    for (unsigned i = 0; i < 2000; i++) {
        snprintf(txt, sizeof(txt), "reason %u", i);
        struct ds_value v = mk((uint8_t)(i % 7 + 1), txt);
        assert_int_equal(vtab_intern(vt, &v, &idx[i]), 0);
        assert_int_equal(idx[i], i);
    }
    for (unsigned i = 0; i < 2000; i += 97) {
        snprintf(txt, sizeof(txt), "reason %u", i);
        struct ds_value v = mk((uint8_t)(i % 7 + 1), txt);
        uint32_t again;
        assert_int_equal(vtab_intern(vt, &v, &again), 0);
        assert_int_equal(again, idx[i]);
    }
    assert_int_equal(vtab_count(vt), 2000);
    vtab_free(vt);
}

static void test_emit(void **state)
{
    (void)state;
    struct vtab *vt;
    struct ds_result res;
    uint32_t i1, i2;
    assert_int_equal(vtab_new(&vt), 0);
    struct ds_value a = mk(5, "why $");
    struct ds_value b = mk(6, NULL);
    assert_int_equal(vtab_intern(vt, &a, &i1), 0);
    assert_int_equal(vtab_intern(vt, &b, &i2), 0);
    ds_result_reset(&res);
    assert_int_equal(vtab_emit(vt, i1, 300, &res), 0);
    assert_int_equal(vtab_emit(vt, i2, 300, &res), 0);
    assert_int_equal(res.nrr, 3);
    assert_int_equal(res.rr[0].type, DNS_TYPE_A);
    assert_int_equal(res.rr[0].rdlen, 4);
    assert_memory_equal(res.rr[0].rdata, "\x7f\x00\x00\x05", 4);
    assert_int_equal(res.rr[0].ttl, 300);
    assert_int_equal(res.rr[1].type, DNS_TYPE_TXT);
    assert_int_equal(res.rr[1].rdlen, 5);
    assert_memory_equal(res.rr[1].rdata, "why $", 5);
    assert_int_equal(res.rr[2].type, DNS_TYPE_A);
    assert_memory_equal(res.rr[2].rdata, "\x7f\x00\x00\x06", 4);
    assert_int_equal(vtab_emit(vt, 42, 300, &res), ERR_NOTFOUND);
    vtab_free(vt);
}

static void test_emit_full(void **state)
{
    (void)state;
    struct ds_result res;
    struct ds_value v = mk(2, "t");
    ds_result_reset(&res);
    for (unsigned i = 0; i < DS_MAX_RR / 2; i++)
        assert_int_equal(ds_value_emit(&v, 1, &res), 0);
    assert_int_equal(res.nrr, DS_MAX_RR);
    assert_int_equal(ds_value_emit(&v, 1, &res), ERR_SPACE);
    assert_int_equal(res.nrr, DS_MAX_RR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dedup),
        cmocka_unit_test(test_many_values_grow),
        cmocka_unit_test(test_emit),
        cmocka_unit_test(test_emit_full),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
