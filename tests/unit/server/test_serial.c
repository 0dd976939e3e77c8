/* Unit tests for zone serials that only go up (serial.h): RFC 1982
 * comparison and the next-serial rule, serial_book_settle on snapshots
 * built from data files (unchanged data keeps its serial, a $SOA serial
 * or a file time that went back still moves on, the SOA RDATA carries
 * the settled serial), and the book in a state directory across a
 * restart: its file format, bad lines, and a directory it cannot write. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "server/serial.h"
#include "server/serve_conf.h"
#include "server/snapshot.h"
#include "wire/wire.h"

/* File times far from now, so that no write by the test itself can
 * be mistaken for them. */
#define T_OLD 1600000000u
#define T_NEW 1700000000u

static char dir[64];
static struct serve_conf conf;

static void path_of(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

/* Write a data file as an operator's deploy does (a new file renamed
 * over the old one, so that dataset_changed sees a new inode even
 * within the same second), with the modification time mtime. */
static void put_file(const char *name, const char *text, time_t mtime)
{
    char path[128], tmp[140];
    path_of(path, sizeof(path), name);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    struct timespec ts[2] = {{mtime, 0}, {mtime, 0}};
    assert_int_equal(utimensat(AT_FDCWD, tmp, ts, 0), 0);
    assert_int_equal(rename(tmp, path), 0);
}

static void add_spec(const char *zone, const char *file)
{
    char spec[256];
    snprintf(spec, sizeof(spec), "%s:ip4set:%s/%s", zone, dir, file);
    assert_int_equal(serve_conf_add_zonespec(&conf, spec), 0);
}

/* soa.example has a $SOA serial of its own; time.example has none, so
 * its data says the time of its file. */
static void soa_data(uint32_t serial)
{
    char text[256];
    snprintf(text, sizeof(text),
             "$SOA 3600 ns1.example.net. hostmaster.example.net. %u 600 300 86400 300\n"
             ":127.0.0.2:Listed\n"
             "192.0.2.1\n",
             serial);
    put_file("soa.txt", text, T_NEW);
}

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/dnsblkit-serial-XXXXXX");
    assert_non_null(mkdtemp(dir));
    soa_data(100);
    put_file("time.txt", ":127.0.0.2:Listed\n198.51.100.1\n", T_NEW);
    serve_conf_init(&conf);
    assert_int_equal(serve_conf_add_listen(&conf, "127.0.0.1/53"), 0);
    add_spec("soa.example", "soa.txt");
    add_spec("time.example", "time.txt");
    char err[512];
    assert_int_equal(serve_conf_finish(&conf, err, sizeof(err)), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    serve_conf_free(&conf);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static struct snapshot *build(const struct snapshot *prev)
{
    struct snapshot *s = NULL;
    struct snapshot_stats st;
    char err[512] = "";
    if (snapshot_build(&conf, prev, false, &s, &st, err, sizeof(err)) != 0)
        fail_msg("snapshot_build: %s", err);
    return s;
}

static struct zone *zone_of(const struct snapshot *s, const char *name)
{
    for (unsigned i = 0; i < s->nzones; i++)
        if (!strcmp(s->zones[i]->name, name))
            return s->zones[i];
    fail_msg("no zone %s", name);
    return NULL;
}

/* The serial the SOA record carries: the first of the five numbers that
 * end its RDATA. */
static uint32_t soa_serial(const struct zone *z)
{
    return wire_get32(z->soa_rdata + z->soa_rdlen - 20);
}

static void assert_serial(const struct snapshot *s, const char *zone, uint32_t want)
{
    const struct zone *z = zone_of(s, zone);
    assert_int_equal(z->serial, want);
    assert_int_equal(soa_serial(z), want);
}

/* ---- the rule --------------------------------------------------------------- */

static void test_serial_gt(void **state)
{
    (void)state;
    assert_true(serial_gt(6, 5));
    assert_false(serial_gt(5, 6));
    assert_false(serial_gt(5, 5));
    /* Across the wrap: 0 comes after 0xFFFFFFFF, not before. */
    assert_true(serial_gt(0, 0xFFFFFFFFu));
    assert_false(serial_gt(0xFFFFFFFFu, 0));
    assert_true(serial_gt(3, 0xFFFFFFF0u));
    /* Up to 2^31 - 1 ahead is newer; exactly 2^31 apart is undefined in
     * RFC 1982 and taken as newer in neither direction. */
    assert_true(serial_gt(5u + 0x7FFFFFFFu, 5));
    assert_false(serial_gt(5u + 0x80000000u, 5));
    assert_false(serial_gt(5, 5u + 0x80000000u));
    /* More than 2^31 ahead is behind. */
    assert_false(serial_gt(5u + 0x80000001u, 5));
    assert_true(serial_gt(5, 5u + 0x80000001u));
}

static void test_serial_next(void **state)
{
    (void)state;
    assert_int_equal(serial_next(100, 200), 200); /* the data's when newer */
    assert_int_equal(serial_next(100, 50), 101);  /* went down: last + 1 */
    assert_int_equal(serial_next(100, 100), 101); /* the same: still moves */
    assert_int_equal(serial_next(0xFFFFFFFFu, 0), 0);
    assert_int_equal(serial_next(0xFFFFFFF0u, 3), 3);
    /* last + 1 wraps to 0 as RFC 1982 wants. */
    assert_int_equal(serial_next(0xFFFFFFFFu, 0xFFFFFFFFu), 0);
    /* A data serial 2^31 ahead is not newer. */
    assert_int_equal(serial_next(7, 7u + 0x80000000u), 8);
    assert_int_equal(serial_next(7, 7u + 0x7FFFFFFFu), 7u + 0x7FFFFFFFu);
}

/* ---- settling snapshots ------------------------------------------------------ */

static void test_settle_unchanged(void **state)
{
    (void)state;
    struct serial_book *b = NULL;
    char err[256];
    assert_int_equal(serial_book_open(NULL, &b, err, sizeof(err)), 0);
    struct snapshot *s1 = build(NULL);
    /* At startup every zone is new: the data's serial, both counted. */
    assert_int_equal(serial_book_settle(b, NULL, s1), 2);
    assert_serial(s1, "soa.example", 100);
    assert_serial(s1, "time.example", T_NEW);
    /* A reload that found nothing changed shares the datasets... */
    struct snapshot *s2 = build(s1);
    assert_ptr_equal(zone_of(s2, "soa.example")->all[0], zone_of(s1, "soa.example")->all[0]);
    /* ...and keeps the serials, counting no zone. */
    assert_int_equal(serial_book_settle(b, s1, s2), 0);
    assert_serial(s2, "soa.example", 100);
    assert_serial(s2, "time.example", T_NEW);
    /* A forced reload reads the files again: new datasets, the same
     * data. The $SOA serial says nothing changed but the serial must
     * still move, since the datasets are not the ones served. */
    struct snapshot *s3 = NULL;
    struct snapshot_stats st;
    assert_int_equal(snapshot_build(&conf, s2, true, &s3, &st, err, sizeof(err)), 0);
    assert_int_equal(serial_book_settle(b, s2, s3), 2);
    assert_serial(s3, "soa.example", 101);
    assert_serial(s3, "time.example", T_NEW + 1);
    snapshot_free(s3);
    snapshot_free(s2);
    snapshot_free(s1);
    serial_book_free(b);
}

static void test_settle_changed(void **state)
{
    (void)state;
    struct serial_book *b = NULL;
    char err[256];
    assert_int_equal(serial_book_open(NULL, &b, err, sizeof(err)), 0);
    struct snapshot *s1 = build(NULL);
    serial_book_settle(b, NULL, s1);
    assert_serial(s1, "soa.example", 100);

    /* A newer $SOA serial is taken as it is; time.example is untouched. */
    soa_data(200);
    struct snapshot *s2 = build(s1);
    assert_int_equal(serial_book_settle(b, s1, s2), 1);
    assert_serial(s2, "soa.example", 200);
    assert_int_equal(zone_of(s2, "soa.example")->data_serial, 200);
    assert_serial(s2, "time.example", T_NEW);

    /* A $SOA serial that went down: last + 1, in the SOA record too,
     * while data_serial still says what the data said. */
    soa_data(50);
    struct snapshot *s3 = build(s2);
    assert_int_equal(serial_book_settle(b, s2, s3), 1);
    assert_serial(s3, "soa.example", 201);
    assert_int_equal(zone_of(s3, "soa.example")->data_serial, 50);
    assert_true(zone_of(s3, "soa.example")->serial_given);

    /* A file of time.example put back with an older time: its data says
     * T_OLD, older than T_NEW served; the serial still goes up. */
    put_file("time.txt", ":127.0.0.2:Listed\n198.51.100.1\n198.51.100.2\n", T_OLD);
    struct snapshot *s4 = build(s3);
    assert_int_equal(serial_book_settle(b, s3, s4), 1);
    assert_int_equal(zone_of(s4, "time.example")->data_serial, T_OLD);
    assert_false(zone_of(s4, "time.example")->serial_given);
    assert_serial(s4, "time.example", T_NEW + 1);
    assert_serial(s4, "soa.example", 201);

    /* 0xFFFFFFFF is more than 2^31 past 201: behind it, so 202. */
    soa_data(0xFFFFFFFFu);
    struct snapshot *s5 = build(s4);
    serial_book_settle(b, s4, s5);
    assert_serial(s5, "soa.example", 202);
    /* Up to the top in two steps of less than 2^31, then past the
     * wrap: 5 comes after 0xFFFFFFF0. */
    soa_data(0x80000000u);
    struct snapshot *s6 = build(s5);
    serial_book_settle(b, s5, s6);
    assert_serial(s6, "soa.example", 0x80000000u);
    soa_data(0xFFFFFFF0u);
    struct snapshot *s7 = build(s6);
    serial_book_settle(b, s6, s7);
    assert_serial(s7, "soa.example", 0xFFFFFFF0u);
    soa_data(5);
    struct snapshot *s8 = build(s7);
    serial_book_settle(b, s7, s8);
    assert_serial(s8, "soa.example", 5);

    /* No state directory: nothing to save, ever. */
    assert_false(serial_book_dirty(b));
    assert_int_equal(serial_book_save(b, err, sizeof(err)), 0);
    snapshot_free(s8);
    snapshot_free(s7);
    snapshot_free(s6);
    snapshot_free(s5);
    snapshot_free(s4);
    snapshot_free(s3);
    snapshot_free(s2);
    snapshot_free(s1);
    serial_book_free(b);
}

/* ---- the book on disk -------------------------------------------------------- */

static void read_text(const char *path, char *out, size_t n)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t k = fread(out, 1, n - 1, f);
    out[k] = '\0';
    fclose(f);
}

static void state_dir(char *out, size_t n)
{
    path_of(out, n, "state");
    mkdir(out, 0700);
}

static void test_book_restart(void **state)
{
    (void)state;
    char sdir[128], file[160], text[1024], err[256];
    state_dir(sdir, sizeof(sdir));
    snprintf(file, sizeof(file), "%s/%s", sdir, SERIAL_FILE);

    /* Opening proves the directory writable: the file exists at once,
     * with its comment line and nothing else. */
    struct serial_book *b = NULL;
    assert_int_equal(serial_book_open(sdir, &b, err, sizeof(err)), 0);
    read_text(file, text, sizeof(text));
    assert_int_equal(text[0], '#');
    assert_non_null(strchr(text, '\n'));
    assert_string_equal(strchr(text, '\n'), "\n");
    assert_false(serial_book_dirty(b));

    struct snapshot *s1 = build(NULL);
    serial_book_settle(b, NULL, s1);
    assert_true(serial_book_dirty(b));
    assert_int_equal(serial_book_save(b, err, sizeof(err)), 0);
    assert_false(serial_book_dirty(b));
    /* The $SOA serial goes down: served 101, the data said 50. */
    soa_data(50);
    struct snapshot *s2 = build(s1);
    serial_book_settle(b, s1, s2);
    assert_serial(s2, "soa.example", 101);
    assert_int_equal(serial_book_save(b, err, sizeof(err)), 0);
    serial_book_free(b);
    snapshot_free(s2);
    snapshot_free(s1);

    /* "zone serial data-serial fingerprint", one zone a line, after the
     * comment; the fingerprint in 16 hex digits. */
    read_text(file, text, sizeof(text));
    assert_int_equal(text[0], '#');
    const char *soa_line = strstr(text, "\nsoa.example 101 50 ");
    assert_non_null(soa_line);
    assert_int_equal(strspn(soa_line + strlen("\nsoa.example 101 50 "), "0123456789abcdef"), 16);
    char want[64];
    snprintf(want, sizeof(want), "\ntime.example %u %u ", T_NEW, T_NEW);
    assert_non_null(strstr(text, want));
    unsigned lines = 0;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 3);

    /* The restart: the same data keeps 101 (neither the data's 50, which
     * would go back, nor 102, which would move on with nothing new). */
    b = NULL;
    assert_int_equal(serial_book_open(sdir, &b, err, sizeof(err)), 0);
    struct snapshot *s3 = build(NULL);
    serial_book_settle(b, NULL, s3);
    assert_serial(s3, "soa.example", 101);
    assert_serial(s3, "time.example", T_NEW);
    /* Nothing changed, so nothing to write. */
    assert_false(serial_book_dirty(b));
    serial_book_free(b);
    snapshot_free(s3);

    /* Another restart with data whose $SOA serial went down again. */
    soa_data(40);
    b = NULL;
    assert_int_equal(serial_book_open(sdir, &b, err, sizeof(err)), 0);
    struct snapshot *s4 = build(NULL);
    serial_book_settle(b, NULL, s4);
    assert_serial(s4, "soa.example", 102);
    assert_true(serial_book_dirty(b));
    assert_int_equal(serial_book_save(b, err, sizeof(err)), 0);
    serial_book_free(b);
    snapshot_free(s4);
    read_text(file, text, sizeof(text));
    assert_non_null(strstr(text, "\nsoa.example 102 40 "));
}

/* A bad line is skipped, and the lines after it are still read. */
static void test_book_bad_lines(void **state)
{
    (void)state;
    char sdir[128], file[160], text[1024], err[256];
    state_dir(sdir, sizeof(sdir));
    snprintf(file, sizeof(file), "%s/%s", sdir, SERIAL_FILE);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fprintf(f,
            "# written by hand\n"
            "soa.example 500 100 0\n"
            "garbage\n"
            "x.example 1\n"
            "y.example 1 2 3 4\n"
            "z.example -1 5 0\n"
            "w.example 4294967296 1 0\n"
            "v.example 1 2 nothex\n"
            "\n"
            "time.example %u %u 0\n",
            T_NEW + 9, T_NEW);
    fclose(f);
    struct serial_book *b = NULL;
    assert_int_equal(serial_book_open(sdir, &b, err, sizeof(err)), 0);
    struct snapshot *s = build(NULL);
    serial_book_settle(b, NULL, s);
    /* The book's fingerprints (0) are not those of the data, so both
     * zones move on from the serials the book kept, 500 and T_NEW + 9,
     * not from their data's (100, T_NEW), which would go back. */
    assert_serial(s, "soa.example", 501);
    assert_serial(s, "time.example", T_NEW + 10);
    snapshot_free(s);
    serial_book_free(b);
    /* Opening wrote the book back with the good lines only. */
    read_text(file, text, sizeof(text));
    assert_non_null(strstr(text, "\nsoa.example 500 100 0000000000000000\n"));
    assert_null(strstr(text, "garbage"));
    assert_null(strstr(text, "v.example"));
    assert_null(strstr(text, "x.example"));
    assert_null(strstr(text, "y.example"));
    assert_null(strstr(text, "z.example"));
    assert_null(strstr(text, "w.example"));
}

static void test_book_unwritable(void **state)
{
    (void)state;
    char plain[128], sdir[160], err[256] = "";
    /* A directory under a regular file: not even root can make it (a
     * chmod 0500 directory would not stop root). */
    path_of(plain, sizeof(plain), "plain");
    put_file("plain", "not a directory\n", T_NEW);
    snprintf(sdir, sizeof(sdir), "%s/state", plain);
    struct serial_book *b = NULL;
    int rc = serial_book_open(sdir, &b, err, sizeof(err));
    assert_true(rc < 0);
    assert_non_null(strstr(err, sdir));
    serial_book_free(b);

    /* The directory exists, but its book is a directory: not writable. */
    char adir[128], book[160];
    state_dir(adir, sizeof(adir));
    snprintf(book, sizeof(book), "%s/%s", adir, SERIAL_FILE);
    assert_int_equal(mkdir(book, 0700), 0);
    b = NULL;
    err[0] = '\0';
    rc = serial_book_open(adir, &b, err, sizeof(err));
    assert_true(rc < 0);
    assert_non_null(strstr(err, book));
    serial_book_free(b);
}

static void test_book_memory(void **state)
{
    (void)state;
    struct serial_book *b = NULL;
    char err[256];
    assert_int_equal(serial_book_open(NULL, &b, err, sizeof(err)), 0);
    assert_non_null(b);
    assert_false(serial_book_dirty(b));
    struct snapshot *s1 = build(NULL);
    serial_book_settle(b, NULL, s1);
    /* Serials are kept in memory: a zone that reappears in a later
     * snapshot (prev NULL, as after -q) continues from the book. */
    assert_false(serial_book_dirty(b));
    assert_int_equal(serial_book_save(b, err, sizeof(err)), 0);
    soa_data(50);
    struct snapshot *s2 = build(s1);
    serial_book_settle(b, s1, s2);
    assert_serial(s2, "soa.example", 101);
    struct snapshot *s3 = build(NULL);
    assert_int_equal(serial_book_settle(b, NULL, s3), 2);
    assert_serial(s3, "soa.example", 101);
    assert_false(serial_book_dirty(b));
    snapshot_free(s3);
    snapshot_free(s2);
    snapshot_free(s1);
    serial_book_free(b);
    /* Nothing was written anywhere. */
    char path[128];
    path_of(path, sizeof(path), SERIAL_FILE);
    assert_int_equal(access(path, F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serial_gt),
        cmocka_unit_test(test_serial_next),
        cmocka_unit_test_setup_teardown(test_settle_unchanged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_settle_changed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_book_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_book_bad_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_book_unwritable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_book_memory, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
