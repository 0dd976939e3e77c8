/* Unit tests for [listing]'s default answer text: with the lookup page
 * served ([http] listen), the TXT points at it unless [listing] txt says
 * otherwise. */
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
#include "listing/listing_conf.h"

static char path[64];

static int setup(void **state)
{
    (void)state;
    snprintf(path, sizeof(path), "/tmp/dbk_listing_conf_XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    return 0;
}

/* The TXT template after loading text (the load must succeed). */
static void txt_of(const char *text, char *out, size_t outsz)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    struct listing_conf c;
    char err[512];
    listing_conf_init(&c);
    if (listing_conf_load(path, &c, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    snprintf(out, outsz, "%s", c.txt);
    listing_conf_free(&c);
}

static void test_txt_default(void **state)
{
    (void)state;
    char txt[LISTING_TXT_MAX];
    txt_of("[listing]\ndatabase = /tmp/x.db\n", txt, sizeof(txt));
    assert_string_equal(txt, "Blocked - $ is listed");
    /* [http] without listen serves nothing. */
    txt_of("[listing]\n[http]\ntitle = T\n", txt, sizeof(txt));
    assert_string_equal(txt, "Blocked - $ is listed");
}

static void test_txt_points_at_the_page(void **state)
{
    (void)state;
    char txt[LISTING_TXT_MAX];
    txt_of("[listing]\n[http]\nlisten = 127.0.0.1/8080\n", txt, sizeof(txt));
    assert_string_equal(txt, "Blocked - see http://127.0.0.1:8080/lookup?ip=$");
    /* [http] before [listing], the default port, IPv6. */
    txt_of("[http]\nlisten = [2001:db8::1]\n[listing]\n", txt, sizeof(txt));
    assert_string_equal(txt, "Blocked - see http://[2001:db8::1]:8053/lookup?ip=$");
    txt_of("[listing]\n[http]\nlisten = 127.0.0.1\npublic-url = https://bl.example.org/\n", txt,
           sizeof(txt));
    assert_string_equal(txt, "Blocked - see https://bl.example.org/lookup?ip=$");
}

static void test_txt_given_wins(void **state)
{
    (void)state;
    char txt[LISTING_TXT_MAX];
    txt_of("[http]\nlisten = 127.0.0.1\n[listing]\ntxt = Ours: $\n", txt, sizeof(txt));
    assert_string_equal(txt, "Ours: $");
    txt_of("[listing]\ntxt = Ours: $\n[http]\nlisten = 127.0.0.1\n", txt, sizeof(txt));
    assert_string_equal(txt, "Ours: $");
    /* A bad listen is [http]'s error to report; here it serves nothing. */
    txt_of("[listing]\n[http]\nlisten = nowhere\n", txt, sizeof(txt));
    assert_string_equal(txt, "Blocked - $ is listed");
}

/* [listing] cache-size: MiB, 1 to 4096, 16 when not given. */
static void test_cache_size(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int ok;
        unsigned mib;
    } cases[] = {
        {"[listing]\n", 1, 16},
        {"[listing]\ncache-size = 2\n", 1, 2},
        {"[listing]\ncache-size = 4096\n", 1, 4096},
        {"[listing]\ncache-size = 0\n", 0, 0},
        {"[listing]\ncache-size = 4097\n", 0, 0},
        {"[listing]\ncache-size = 1.5\n", 0, 0},
        {"[listing]\ncache-size = 16M\n", 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        FILE *fp = fopen(path, "w");
        assert_non_null(fp);
        fputs(cases[i].text, fp);
        fclose(fp);
        struct listing_conf c;
        char err[512] = "";
        listing_conf_init(&c);
        int rc = listing_conf_load(path, &c, err, sizeof(err));
        if (cases[i].ok) {
            if (rc != 0)
                fail_msg("%s: %s", cases[i].text, err);
            assert_int_equal(c.cache_mib, cases[i].mib);
        } else {
            if (rc == 0)
                fail_msg("accepted %s", cases[i].text);
            assert_non_null(strstr(err, ":2: bad cache-size"));
            assert_non_null(strstr(err, "MiB, 1..4096"));
        }
        listing_conf_free(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_txt_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txt_points_at_the_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txt_given_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_size, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
