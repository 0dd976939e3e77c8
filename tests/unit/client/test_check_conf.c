/* Unit tests for [check] and [list ZONE]: every key, the specs they
 * add, and the file:line errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/check_conf.h"
#include "common/err.h"

static char path[64];

static int load(const char *text, struct check_conf *c, char *err, size_t errsz)
{
    snprintf(path, sizeof(path), "/tmp/dbk-checkconf-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    check_conf_init(c);
    int rc = check_conf_load(c, path, err, errsz);
    if (rc == 0)
        rc = check_conf_finish(c, path, err, errsz);
    unlink(path);
    return rc;
}

static void test_every_key(void **state)
{
    (void)state;
    struct check_conf c;
    char err[512];
    int rc = load("[server]\nlisten = 127.0.0.1/53\n"
                  "[check]\n"
                  "lists = zen.example=127.0.0.[2..11]*3, bl.example*2\n"
                  "lists = swl.example=127.0.[0..255].[1..3]*-5\n"
                  "domain-lists = dbl.example=127.0.1.[2..99]*3\n"
                  "resolver = 127.0.0.1/5353\n"
                  "timeout = 800ms\n"
                  "tries = 3\n"
                  "min-ttl = 30s\n"
                  "max-ttl = 2h\n"
                  "cache-size = 1000\n"
                  "probe-interval = 20s\n"
                  "freshness = 5s\n"
                  "sick-after = 3\n"
                  "healthy-after = 4\n"
                  "threshold = 2\n"
                  "on-change = logger list changed\n"
                  "[list bl.example]\nenabled = no\n"
                  "[list ZEN.example]\nkind = ip6\n",
                  &c, err, sizeof(err));
    if (rc != 0)
        fail_msg("%s", err);
    assert_int_equal(c.nspecs, 4);
    assert_string_equal(c.specs[0].spec.zone, "zen.example");
    assert_int_equal(c.specs[0].spec.weight, 3);
    assert_int_equal(c.specs[0].kind, CHECKER_IP6);
    assert_true(c.specs[0].enabled);
    assert_string_equal(c.specs[1].spec.zone, "bl.example");
    assert_false(c.specs[1].enabled);
    assert_int_equal(c.specs[2].spec.weight, -5);
    assert_int_equal(c.specs[3].kind, CHECKER_DOMAIN);
    assert_string_equal(c.ck.resolver.servers, "127.0.0.1/5353");
    assert_int_equal(c.ck.resolver.timeout_ms, 800);
    assert_int_equal(c.ck.resolver.tries, 3);
    assert_int_equal(c.ck.min_ttl, 30);
    assert_int_equal(c.ck.max_ttl, 7200);
    assert_int_equal(c.ck.cache_entries, 1000);
    assert_int_equal(c.ck.probe_interval_ms, 20000);
    assert_int_equal(c.ck.fresh_ms, 5000);
    assert_int_equal(c.ck.health.sick_after, 3);
    assert_int_equal(c.ck.health.healthy_after, 4);
    assert_int_equal(c.ck.threshold, 2);
    assert_string_equal(c.ck.on_change, "logger list changed");
}

static void test_defaults(void **state)
{
    (void)state;
    struct check_conf c;
    char err[512];
    assert_int_equal(load("[check]\nlists = bl.example\n", &c, err, sizeof(err)), 0);
    assert_null(c.ck.resolver.servers);
    assert_int_equal(c.ck.min_ttl, 60);
    assert_int_equal(c.ck.max_ttl, 3600);
    assert_int_equal(c.ck.probe_interval_ms, 30000);
    assert_int_equal(c.ck.fresh_ms, 0);
    assert_int_equal(c.ck.health.sick_after, 2);
    assert_int_equal(c.ck.threshold, 1);
    assert_null(c.ck.on_change);
    assert_int_equal(c.specs[0].spec.weight, 1);
    assert_int_equal(c.specs[0].kind, CHECKER_IP);
}

static void test_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"[check]\nlists = bl.example*0\n", ":2: bad list 'bl.example*0'"},
        {"[check]\n\ntimeout = 5\n", NULL}, /* 5 s is fine */
        {"[check]\ntimeout = 5ms\n", ":2: bad timeout '5ms'"},
        {"[check]\ntries = 0\n", ":2: bad tries '0'"},
        {"[check]\nmin-ttl = soon\n", ":2: bad min-ttl 'soon'"},
        {"[check]\nprobe-interval = 50ms\n", ":2: bad probe-interval '50ms'"},
        {"[check]\nprobe-interval = 0\n", ":2: bad probe-interval '0'"},
        {"[check]\nfreshness = 0\n", NULL}, /* the default, said */
        {"[check]\nfreshness = 50ms\n", ":2: bad freshness '50ms' (0, or a duration"},
        {"[check]\nsick-after = 101\n", ":2: bad sick-after '101'"},
        {"[check]\nthreshold = 1.5\n", ":2: bad threshold '1.5'"},
        {"[check]\ncolour = blue\n", ":2: unknown key 'colour' in [check]"},
        {"[check]\nlists = a.example\n[list a.example]\nkind = both\n", ":4: bad kind 'both'"},
        {"[check]\nlists = a.example\n[list a.example]\nenabled = maybe\n",
         ":4: bad enabled 'maybe'"},
        {"[check]\nlists = a.example\n[list a.example]\ncolour = red\n",
         ":4: unknown key 'colour' in [list a.example]"},
        {"[check]\nlists = a.example\n\n[list b.example]\nenabled = no\n",
         ":5: [list b.example] names no list"},
        {"[check]\nlists = a.example\ndomain-lists = a.example\n", "both a domain list"},
        {"[check]\nlists = a.example\nmin-ttl = 2h\nmax-ttl = 1h\n", "min-ttl 7200 is above"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct check_conf c;
        char err[512] = "";
        int rc = load(bad[i].text, &c, err, sizeof(err));
        if (!bad[i].want) {
            if (rc != 0)
                fail_msg("%s refused: %s", bad[i].text, err);
            continue;
        }
        if (rc == 0)
            fail_msg("%s accepted", bad[i].text);
        if (!strstr(err, bad[i].want))
            fail_msg("for %s got '%s', want '%s'", bad[i].text, err, bad[i].want);
    }
}

static void test_missing_file(void **state)
{
    (void)state;
    struct check_conf c;
    char err[512];
    check_conf_init(&c);
    assert_int_equal(check_conf_load(&c, "/nonexistent/dnsblkit.conf", err, sizeof(err)), ERR_IO);
    assert_non_null(strstr(err, "/nonexistent/dnsblkit.conf"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
