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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_txt_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txt_points_at_the_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txt_given_wins, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
