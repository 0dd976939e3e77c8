/* Unit tests for the INI reader: lines counted for file:line errors, a
 * handler that stops the read, a missing file, and boolean values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/inifile.h"

struct seen {
    int *line;
    char keys[8][64];
    int lines[8];
    unsigned n;
    const char *stop_at; /* a key that makes the handler stop */
};

static int handler(void *user, const char *section, const char *key, const char *value)
{
    struct seen *s = user;
    if (s->n < 8) {
        snprintf(s->keys[s->n], sizeof(s->keys[0]), "%s.%s=%s", section, key, value);
        s->lines[s->n] = *s->line;
        s->n++;
    }
    return !(s->stop_at && !strcmp(key, s->stop_at));
}

static int load(const char *text, struct seen *s, char *err, size_t errsz)
{
    char path[] = "/tmp/dbk-inifile-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    static int line;
    s->line = &line;
    int rc = inifile_load(path, &line, handler, s, err, errsz);
    unlink(path);
    return rc;
}

static void test_lines(void **state)
{
    (void)state;
    struct seen s = {0};
    char err[256];
    assert_int_equal(load("; comment\n[a]\nx = 1\n\n[b c]\ny = two words\n", &s, err, sizeof(err)),
                     0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.keys[0], "a.x=1");
    assert_int_equal(s.lines[0], 3);
    assert_string_equal(s.keys[1], "b c.y=two words");
    assert_int_equal(s.lines[1], 6);
}

static void test_stop_and_errors(void **state)
{
    (void)state;
    struct seen s = {0};
    char err[256] = "";
    s.stop_at = "y";
    assert_int_equal(load("[a]\nx = 1\ny = 2\nz = 3\n", &s, err, sizeof(err)), ERR_INVAL);
    assert_int_equal(s.n, 2); /* z never read */
    memset(&s, 0, sizeof(s));
    assert_int_equal(load("[a]\nx = 1\nnot a key line\n", &s, err, sizeof(err)), ERR_INVAL);
    assert_non_null(strstr(err, ":3: syntax error"));
    int line;
    assert_int_equal(inifile_load("/nonexistent/x.conf", &line, handler, &s, err, sizeof(err)),
                     ERR_IO);
    assert_non_null(strstr(err, "/nonexistent/x.conf"));
}

static void test_bool(void **state)
{
    (void)state;
    static const char *const yes[] = {"yes", "YES", "true", "On", "1"};
    static const char *const no[] = {"no", "False", "off", "0"};
    static const char *const bad[] = {"", "y", "2", "yess", "enabled", " yes"};
    bool b;
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        b = false;
        assert_int_equal(inifile_bool(yes[i], &b), 0);
        assert_true(b);
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        b = true;
        assert_int_equal(inifile_bool(no[i], &b), 0);
        assert_false(b);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(inifile_bool(bad[i], &b), ERR_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines),
        cmocka_unit_test(test_stop_and_errors),
        cmocka_unit_test(test_bool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
