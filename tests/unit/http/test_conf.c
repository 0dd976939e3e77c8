/* Unit tests for the [http] section: every key, the defaults, and each
 * error with its file:line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "http/http_conf.h"

struct fixture {
    char path[64];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    snprintf(f->path, sizeof(f->path), "/tmp/dbk_http_conf_XXXXXX");
    int fd = mkstemp(f->path);
    if (fd < 0)
        return -1;
    close(fd);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    unlink(f->path);
    free(f);
    return 0;
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* Load text; returns the result with the error in err. */
static int load(struct fixture *f, const char *text, struct http_conf *c, char *err, size_t errsz)
{
    write_file(f->path, text);
    http_conf_init(c);
    return http_conf_load(f->path, c, err, errsz);
}

static void test_defaults(void **state)
{
    struct fixture *f = *state;
    struct http_conf c;
    char err[512];
    assert_int_equal(
        load(f, "[listing]\ntxt = x\n[http]\nlisten = 127.0.0.1\n", &c, err, sizeof(err)), 0);
    assert_true(c.enabled);
    const struct sockaddr_in *a = (const struct sockaddr_in *)&c.listen.ss;
    assert_int_equal(a->sin_family, AF_INET);
    assert_int_equal(ntohs(a->sin_port), 8053);
    assert_int_equal(ntohl(a->sin_addr.s_addr), 0x7f000001);
    assert_string_equal(c.token, "");
    assert_int_equal(c.max_body, 1048576);
    assert_string_equal(c.title, "dnsblkit lookup");
    assert_true(c.removal);
    assert_string_equal(c.public_url, "http://127.0.0.1:8053");
}

static void test_not_enabled(void **state)
{
    struct fixture *f = *state;
    struct http_conf c;
    char err[512];
    /* No [http] at all, and [http] without listen: HTTP stays off. */
    assert_int_equal(load(f, "[server]\nlisten = 127.0.0.1/53\n", &c, err, sizeof(err)), 0);
    assert_false(c.enabled);
    assert_int_equal(load(f, "[http]\ntitle = Ours\n", &c, err, sizeof(err)), 0);
    assert_false(c.enabled);
    assert_string_equal(c.title, "Ours");
    assert_string_equal(c.public_url, "");
}

static void test_all_keys(void **state)
{
    struct fixture *f = *state;
    struct http_conf c;
    char err[512];
    assert_int_equal(load(f,
                          "[zone bl.example]\nfoo = bar\n"
                          "[http]\n"
                          "listen = [::1]/8080\n"
                          "token = s3cret-Token_1\n"
                          "max-body = 4096\n"
                          "title = Example list lookup\n"
                          "removal = no\n"
                          "public-url = https://bl.example.org/\n",
                          &c, err, sizeof(err)),
                     0);
    assert_true(c.enabled);
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&c.listen.ss;
    assert_int_equal(a->sin6_family, AF_INET6);
    assert_int_equal(ntohs(a->sin6_port), 8080);
    assert_true(IN6_IS_ADDR_LOOPBACK(&a->sin6_addr));
    assert_string_equal(c.token, "s3cret-Token_1");
    assert_int_equal(c.max_body, 4096);
    assert_string_equal(c.title, "Example list lookup");
    assert_false(c.removal);
    /* The trailing slash goes: links append "/lookup". */
    assert_string_equal(c.public_url, "https://bl.example.org");

    assert_int_equal(
        load(f, "[http]\nlisten = 2001:db8::5/80\nremoval = yes\n", &c, err, sizeof(err)), 0);
    assert_true(c.removal);
    assert_string_equal(c.public_url, "http://[2001:db8::5]:80");
}

static void expect_error(struct fixture *f, const char *text, const char *want)
{
    struct http_conf c;
    char err[512];
    assert_int_equal(load(f, text, &c, err, sizeof(err)), ERR_INVAL);
    char full[600];
    snprintf(full, sizeof(full), "%s:%s", f->path, want);
    if (strncmp(err, full, strlen(full)) != 0)
        fail_msg("got '%s', want '%s...'", err, full);
}

static void test_errors(void **state)
{
    struct fixture *f = *state;
    expect_error(f, "[http]\nlisten = localhost/80\n", "2: bad listen 'localhost/80'");
    expect_error(f, "[http]\n\nlisten = 127.0.0.1/0\n", "3: bad listen");
    expect_error(f, "[http]\nlisten = 127.0.0.1/70000\n", "2: bad listen");
    expect_error(f, "[http]\nlisten = 127.0.0.1\nmax-body = 0\n", "3: bad max-body '0'");
    expect_error(f, "[http]\nmax-body = -1\n", "2: bad max-body '-1'");
    expect_error(f, "[http]\nmax-body = 10k\n", "2: bad max-body '10k'");
    expect_error(f, "[http]\nmax-body = 2000000000\n", "2: bad max-body");
    expect_error(f, "[http]\nremoval = maybe\n", "2: bad removal 'maybe' (yes or no)");
    expect_error(f, "[http]\npublic-url = bl.example.org\n", "2: bad public-url");
    expect_error(f, "[http]\npublic-url = http://x/<script>\n", "2: bad public-url");
    expect_error(f, "[http]\npublic-url = http://\n", "2: bad public-url");
    expect_error(f, "[http]\npublic-url = https:///\n", "2: bad public-url");
    expect_error(f, "[http]\ntitle = \n", "2: bad title");
    expect_error(f, "[http]\ntoken = two words\n", "2: bad token '...'");
    expect_error(f, "# comment\n[http]\nlisten = 127.0.0.1\nport = 80\n",
                 "4: unknown key 'port' in [http]");

    /* A token never appears in the message, whatever is wrong with it. */
    struct http_conf c;
    char err[512], token[300];
    memset(token, 'a', sizeof(token) - 1);
    token[sizeof(token) - 1] = '\0';
    char text[400];
    snprintf(text, sizeof(text), "[http]\ntoken = %s\n", token);
    assert_int_equal(load(f, text, &c, err, sizeof(err)), ERR_INVAL);
    assert_null(strstr(err, "aaaa"));

    char big[200];
    memset(big, 't', 150);
    big[150] = '\0';
    snprintf(text, sizeof(text), "[http]\ntitle = %s\n", big);
    assert_int_equal(load(f, text, &c, err, sizeof(err)), ERR_INVAL);
}

static void test_missing_file(void **state)
{
    (void)state;
    struct http_conf c;
    char err[512];
    http_conf_init(&c);
    assert_int_equal(http_conf_load("/nonexistent/dnsblkit.conf", &c, err, sizeof(err)), ERR_IO);
    assert_non_null(strstr(err, "/nonexistent/dnsblkit.conf: cannot open"));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_defaults),
        T(test_not_enabled),
        T(test_all_keys),
        T(test_errors),
        cmocka_unit_test(test_missing_file),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
