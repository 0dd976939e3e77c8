/* Unit tests for the INI reader: lines counted for file:line errors, a
 * handler that stops the read, a missing file, lines too long for inih
 * and NUL bytes refused, and boolean values. */
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
    size_t vlen[8]; /* the whole value's length */
    unsigned n;
    const char *stop_at; /* a key that makes the handler stop */
};

static int handler(void *user, const char *section, const char *key, const char *value)
{
    struct seen *s = user;
    if (s->n < 8) {
        snprintf(s->keys[s->n], sizeof(s->keys[0]), "%s.%s=%s", section, key, value);
        s->lines[s->n] = *s->line;
        s->vlen[s->n] = strlen(value);
        s->n++;
    }
    return !(s->stop_at && !strcmp(key, s->stop_at));
}

static int load_n(const char *text, size_t len, struct seen *s, char *err, size_t errsz)
{
    char path[] = "/tmp/dbk-inifile-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    static int line;
    s->line = &line;
    int rc = inifile_load(path, &line, handler, s, err, errsz);
    unlink(path);
    return rc;
}

static int load(const char *text, struct seen *s, char *err, size_t errsz)
{
    return load_n(text, strlen(text), s, err, errsz);
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

/* "[a]\nk = vvv...\n" with the key line `len` characters long (without
 * its end), then "after = 1" on line 3; lf or crlf line ends. */
static void long_line(char *buf, size_t bufsz, size_t len, const char *eol)
{
    assert_true(len > 4 && len + 32 < bufsz);
    size_t n = (size_t)snprintf(buf, bufsz, "[a]%sk = ", eol);
    memset(buf + n, 'v', len - 4);
    snprintf(buf + n + len - 4, bufsz - n - len + 4, "%safter = 1%s", eol, eol);
}

static void test_long_lines(void **state)
{
    (void)state;
    char text[1024], err[256];
    struct seen s = {0};
    /* 199 characters: inih's buffer holds the line whole. */
    long_line(text, sizeof(text), 199, "\n");
    assert_int_equal(load(text, &s, err, sizeof(err)), 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.vlen[0], 195);
    assert_int_equal(s.lines[1], 3);
    /* One more, or a CR beside it: refused at its line, the key never
     * seen in pieces, nothing after it read. */
    long_line(text, sizeof(text), 200, "\n");
    memset(&s, 0, sizeof(s));
    assert_int_equal(load(text, &s, err, sizeof(err)), ERR_INVAL);
    assert_non_null(strstr(err, ":2: line longer than 199 characters"));
    assert_int_equal(s.n, 0);
    long_line(text, sizeof(text), 199, "\r\n");
    memset(&s, 0, sizeof(s));
    assert_int_equal(load(text, &s, err, sizeof(err)), ERR_INVAL);
    assert_non_null(strstr(err, ":2: line longer than 199 characters"));
    /* A long value that breaks at a blank used to come back as a
     * continuation: the key's handler called again with only the tail. */
    snprintf(text, sizeof(text), "[p]\nreject-text = %0190d tail\n", 0);
    memset(&s, 0, sizeof(s));
    assert_int_equal(load(text, &s, err, sizeof(err)), ERR_INVAL);
    assert_int_equal(s.n, 0);
    /* An earlier error is the one reported. */
    long_line(text, sizeof(text), 300, "\n");
    memmove(text + 16, text, strlen(text) + 1);
    memcpy(text, "[a]\nno key line\n", 16);
    memset(&s, 0, sizeof(s));
    assert_int_equal(load(text, &s, err, sizeof(err)), ERR_INVAL);
    assert_non_null(strstr(err, ":2: syntax error"));
    /* The last line may fill the buffer without an end. */
    long_line(text, sizeof(text), 199, "\n");
    *strstr(text, "\nafter") = '\0';
    memset(&s, 0, sizeof(s));
    assert_int_equal(load(text, &s, err, sizeof(err)), 0);
    assert_int_equal(s.n, 1);
}

static void test_nul(void **state)
{
    (void)state;
    static const char text[] = "[a]\nx = 1\ny = va\0lue\nz = 3\n";
    char err[256];
    struct seen s = {0};
    assert_int_equal(load_n(text, sizeof(text) - 1, &s, err, sizeof(err)), ERR_INVAL);
    assert_non_null(strstr(err, ":3: NUL byte in the line"));
    assert_int_equal(s.n, 1); /* x only: y is not taken as "va" */
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
        cmocka_unit_test(test_lines),      cmocka_unit_test(test_stop_and_errors),
        cmocka_unit_test(test_long_lines), cmocka_unit_test(test_nul),
        cmocka_unit_test(test_bool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
