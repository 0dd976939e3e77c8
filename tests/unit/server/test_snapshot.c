/* Unit tests for snapshot building: sharing unchanged datasets, keeping
 * the previous data when new data is refused (parse errors, the shrink
 * guard, the world guard), and zone lookup by longest suffix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "server/snapshot.h"

static char dir[64];
static char file[128];

static void write_entries(unsigned n, const char *extra)
{
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    for (unsigned i = 0; i < n; i++)
        fprintf(f, "192.0.2.%u\n", i + 1);
    if (extra)
        fputs(extra, f);
    fclose(f);
    /* Make the change visible even within the same second. */
    struct timespec ts[2] = {{0, UTIME_NOW}, {time(NULL) + (time_t)n + 1, 0}};
    utimensat(AT_FDCWD, file, ts, 0);
}

static void conf_for(struct serve_conf *c, int shrink_limit)
{
    char spec[256], err[256];
    serve_conf_init(c);
    assert_int_equal(serve_conf_add_listen(c, "127.0.0.1/53"), 0);
    snprintf(spec, sizeof(spec), "bl.example:ip4set:%s", file);
    assert_int_equal(serve_conf_add_zonespec(c, spec), 0);
    assert_int_equal(serve_conf_add_zonespec(c, "sub.bl.example:ip4set:/dev/null"), 0);
    c->zones[0].shrink_limit = shrink_limit;
    assert_int_equal(serve_conf_finish(c, err, sizeof(err)), 0);
}

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/dnsblkit-snap-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(file, sizeof(file), "%s/bl.txt", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(file);
    rmdir(dir);
    return 0;
}

static uint64_t zone_entries(const struct snapshot *s, const char *name)
{
    for (unsigned i = 0; i < s->nzones; i++)
        if (!strcmp(s->zones[i]->name, name))
            return s->zones[i]->entries;
    fail_msg("zone %s missing", name);
    return 0;
}

static struct snapshot *rebuild(const struct serve_conf *c, const struct snapshot *prev,
                                struct snapshot_stats *st)
{
    struct snapshot *s = NULL;
    char err[512];
    int rc = snapshot_build(c, prev, false, &s, st, err, sizeof(err));
    if (rc)
        fail_msg("snapshot_build: %s", err);
    return s;
}

static void test_shrink_guard(void **state)
{
    (void)state;
    struct serve_conf c;
    struct snapshot_stats st;
    write_entries(100, NULL);
    conf_for(&c, -1); /* the default, 50% */
    assert_int_equal(c.zones[0].shrink_limit, 50);
    struct snapshot *s1 = rebuild(&c, NULL, &st);
    assert_int_equal(zone_entries(s1, "bl.example"), 100);

    write_entries(40, NULL); /* drops 60%: refused */
    assert_true(snapshot_changed(s1));
    struct snapshot *s2 = rebuild(&c, s1, &st);
    assert_int_equal(st.failed, 1);
    assert_int_equal(zone_entries(s2, "bl.example"), 100);

    write_entries(55, NULL); /* drops 45%: accepted */
    struct snapshot *s3 = rebuild(&c, s2, &st);
    assert_int_equal(st.failed, 0);
    assert_int_equal(st.loaded, 1);
    assert_int_equal(st.reused, 1); /* sub.bl.example was shared */
    assert_int_equal(zone_entries(s3, "bl.example"), 55);

    write_entries(0, NULL); /* an emptied file */
    struct snapshot *s4 = rebuild(&c, s3, &st);
    assert_int_equal(zone_entries(s4, "bl.example"), 55);
    snapshot_free(s1);
    snapshot_free(s2);
    snapshot_free(s3);
    snapshot_free(s4);
    serve_conf_free(&c);
}

static void test_shrink_guard_off(void **state)
{
    (void)state;
    struct serve_conf c;
    struct snapshot_stats st;
    write_entries(100, NULL);
    conf_for(&c, 100);
    struct snapshot *s1 = rebuild(&c, NULL, &st);
    write_entries(1, NULL);
    struct snapshot *s2 = rebuild(&c, s1, &st);
    assert_int_equal(zone_entries(s2, "bl.example"), 1);
    snapshot_free(s1);
    snapshot_free(s2);
    serve_conf_free(&c);
}

static void test_bad_data_keeps_previous(void **state)
{
    (void)state;
    struct serve_conf c;
    struct snapshot_stats st;
    char err[512];
    write_entries(10, NULL);
    conf_for(&c, -1);
    struct snapshot *s1 = rebuild(&c, NULL, &st);
    write_entries(12, "not an address\n");
    struct snapshot *s2 = rebuild(&c, s1, &st);
    assert_int_equal(st.failed, 1);
    assert_int_equal(zone_entries(s2, "bl.example"), 10);
    /* Without previous data (startup) the same file fails the build. */
    struct snapshot *s3 = NULL;
    assert_int_not_equal(snapshot_build(&c, NULL, false, &s3, &st, err, sizeof(err)), 0);
    assert_null(s3);
    assert_non_null(strstr(err, "bl.txt:13: "));
    snapshot_free(s1);
    snapshot_free(s2);
    serve_conf_free(&c);
}

static void test_world_guard_keeps_previous(void **state)
{
    (void)state;
    struct serve_conf c;
    struct snapshot_stats st;
    write_entries(10, NULL);
    conf_for(&c, 100);
    c.zones[0].limits.max_ip4_total = 50;
    c.zones[0].ctx.limits.max_ip4_total = 50;
    struct snapshot *s1 = rebuild(&c, NULL, &st);
    write_entries(10, "10.0.0.0/24\n"); /* 266 addresses: over the limit */
    struct snapshot *s2 = rebuild(&c, s1, &st);
    assert_int_equal(st.failed, 1);
    assert_int_equal(zone_entries(s2, "bl.example"), 10);
    snapshot_free(s1);
    snapshot_free(s2);
    serve_conf_free(&c);
}

static void test_find_longest_suffix(void **state)
{
    (void)state;
    struct serve_conf c;
    struct snapshot_stats st;
    write_entries(1, NULL);
    conf_for(&c, -1);
    struct snapshot *s = rebuild(&c, NULL, &st);
    size_t off;
    const struct zone *z = snapshot_find(s,
                                         (const uint8_t *)"\x01"
                                                          "1\x03"
                                                          "sub\x02"
                                                          "bl\x07"
                                                          "example",
                                         &off);
    assert_non_null(z);
    assert_string_equal(z->name, "sub.bl.example");
    assert_int_equal(off, 2);
    z = snapshot_find(s,
                      (const uint8_t *)"\x01"
                                       "1\x03"
                                       "sux\x02"
                                       "bl\x07"
                                       "example",
                      &off);
    assert_non_null(z);
    assert_string_equal(z->name, "bl.example");
    assert_int_equal(off, 6);
    assert_null(snapshot_find(s,
                              (const uint8_t *)"\x07"
                                               "example",
                              &off));
    snapshot_free(s);
    serve_conf_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_shrink_guard, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shrink_guard_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_data_keeps_previous, setup, teardown),
        cmocka_unit_test_setup_teardown(test_world_guard_keeps_previous, setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_longest_suffix, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
