/* Unit tests for durations: units, milliseconds, and what is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/duration.h"
#include "common/err.h"

struct duration_case {
    const char *text;
    int rc;
    uint32_t v;
};

/* Each case through parse: its code, and its value only on success. */
static void run_cases(int (*parse)(const char *, uint32_t *), const struct duration_case *cases,
                      size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t v = 12345;
        int rc = parse(cases[i].text, &v);
        if (rc != cases[i].rc)
            fail_msg("\"%s\": %d, expected %d", cases[i].text, rc, cases[i].rc);
        assert_int_equal(v, cases[i].rc == 0 ? cases[i].v : 12345);
    }
}

static void test_seconds(void **state)
{
    (void)state;
    static const struct duration_case cases[] = {
        {"90", 0, 90},
        {"90s", 0, 90},
        {"0", 0, 0},
        {"15m", 0, 900},
        {"12h", 0, 43200},
        {"7d", 0, 604800},
        {"2w", 0, 1209600},
        {"007", 0, 7},
        {"4294967295", 0, UINT32_MAX},
        {"49710d", 0, 49710u * 86400u},
        {"4294967296", ERR_RANGE, 0},
        {"49711d", ERR_RANGE, 0},
        {"7102w", ERR_RANGE, 0},
        {"99999999999999999999999999", ERR_RANGE, 0},
        {"", ERR_INVAL, 0},
        {"-5", ERR_INVAL, 0},
        {"+5", ERR_INVAL, 0},
        {" 5", ERR_INVAL, 0},
        {"5 ", ERR_INVAL, 0},
        {"5x", ERR_INVAL, 0},
        {"5hh", ERR_INVAL, 0},
        {"5H", ERR_INVAL, 0},
        {"h", ERR_INVAL, 0},
        {"1.5h", ERR_INVAL, 0},
        {"99999999999x", ERR_INVAL, 0},
        {"500ms", ERR_INVAL, 0}, /* seconds only */
    };
    run_cases(duration_parse, cases, sizeof(cases) / sizeof(cases[0]));
    uint32_t v = 1;
    assert_int_equal(duration_parse(NULL, &v), ERR_INVAL);
    assert_int_equal(v, 1);
}

static void test_milliseconds(void **state)
{
    (void)state;
    static const struct duration_case cases[] = {
        {"500ms", 0, 500},
        {"2", 0, 2000},
        {"2s", 0, 2000},
        {"1m", 0, 60000},
        {"0ms", 0, 0},
        {"4294967295ms", 0, UINT32_MAX},
        {"49d", 0, 49u * 86400000u},
        {"50d", ERR_RANGE, 0},
        {"4294968s", ERR_RANGE, 0},
        {"4294967296ms", ERR_RANGE, 0},
        {"", ERR_INVAL, 0},
        {"ms", ERR_INVAL, 0},
        {"5 ms", ERR_INVAL, 0},
        {"5msx", ERR_INVAL, 0},
        {"-5ms", ERR_INVAL, 0},
        {"1.5s", ERR_INVAL, 0},
    };
    run_cases(duration_parse_ms, cases, sizeof(cases) / sizeof(cases[0]));
    uint32_t v = 1;
    assert_int_equal(duration_parse_ms(NULL, &v), ERR_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seconds),
        cmocka_unit_test(test_milliseconds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
