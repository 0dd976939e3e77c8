/* Unit tests for the rbldnsd data-file reader (datafile): lines, comments,
 * directives, values, gzip, and the exact "file:line: reason" errors. */
#include "dstest.h"

#include <zlib.h>

/* A recording dataset type: keeps each line it is given, and the value
 * parsed from what follows the first word. */
#define MAXREC 32
struct rec {
    unsigned n;
    char line[MAXREC][128];
    struct ds_value val[MAXREC];
    char txt[MAXREC][512];
};
static struct rec rec;

static int rec_line(struct dataset *ds, struct datafile *df, char *line)
{
    (void)ds;
    if (strcmp(line, "fail-silently") == 0)
        return ERR_INVAL;
    if (rec.n == MAXREC)
        return ERR_RANGE;
    snprintf(rec.line[rec.n], sizeof(rec.line[0]), "%s", line);
    const char *v = line;
    while (*v && *v != ' ' && *v != '\t')
        v++;
    int rc = datafile_value(df, v, &rec.val[rec.n]);
    if (rc)
        return rc;
    if (rec.val[rec.n].has_txt) {
        memcpy(rec.txt[rec.n], rec.val[rec.n].txt, rec.val[rec.n].txtlen);
        rec.txt[rec.n][rec.val[rec.n].txtlen] = '\0';
    }
    rec.n++;
    return 0;
}

static const struct dataset_ops rec_ops = {
    .name = "rec",
    .family = DS_FAM_IP4,
    .uses_values = true,
    .line = rec_line,
};

/* A recording dataset and a reader of `path` (the temporary directory's
 * data.txt) feeding it. */
struct fixture {
    struct dataset *ds;
    struct datafile df;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f || setup_tmpdir(state) != 0)
        return -1;
    if (dataset_create(&rec_ops, &ctx, &f->ds))
        return -1;
    datafile_init(&f->df, f->ds, path);
    memset(&rec, 0, sizeof(rec));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    datafile_cleanup(&f->df);
    dataset_unref(f->ds);
    free(f);
    return teardown_tmpdir(state);
}

/* Feed the lines of text one by one; returns the first error. */
static int feed(struct fixture *f, const char *text)
{
    char buf[8192];
    snprintf(buf, sizeof(buf), "%s", text);
    char *save = NULL;
    for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        int rc = datafile_feed(&f->df, l);
        if (rc)
            return rc;
    }
    return 0;
}

static void test_comments_and_blanks(void **state)
{
    struct fixture *f = *state;
    write_file("data.txt", "# comment\n; another\n\n   \t\n  1.2.3.4  \r\n#$TTL 60\n5.6.7.8 x");
    assert_int_equal(datafile_read(&f->df), 0);
    assert_int_equal(rec.n, 2);
    assert_string_equal(rec.line[0], "1.2.3.4");
    assert_string_equal(rec.line[1], "5.6.7.8 x"); /* no final newline */
    assert_int_equal(f->df.lineno, 7);
    assert_int_equal(f->ds->ttl, 60); /* "#$" lines are directives */
}

static void test_value_forms(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(feed(f, "e0\n"
                             "e1 :5\n"
                             "e2 :127.0.0.6\n"
                             "e3 :7:\n"
                             "e4 :8:some text\n"
                             "e5 just text\n"
                             "e6 =text bypass\n"
                             "e7 # comment only\n"
                             "e8 :1.2.3.4 : spaced\n"),
                     0);
    assert_int_equal(rec.n, 9);
    /* e0: default A, no TXT (no default TXT set). */
    assert_memory_equal(rec.val[0].a, "\x7f\x00\x00\x02", 4);
    assert_false(rec.val[0].has_txt);
    assert_memory_equal(rec.val[1].a, "\x7f\x00\x00\x05", 4);
    assert_false(rec.val[1].has_txt);
    assert_memory_equal(rec.val[2].a, "\x7f\x00\x00\x06", 4);
    assert_memory_equal(rec.val[3].a, "\x7f\x00\x00\x07", 4);
    assert_false(rec.val[3].has_txt);
    assert_memory_equal(rec.val[4].a, "\x7f\x00\x00\x08", 4);
    assert_string_equal(rec.txt[4], "some text");
    assert_memory_equal(rec.val[5].a, "\x7f\x00\x00\x02", 4);
    assert_string_equal(rec.txt[5], "just text");
    assert_string_equal(rec.txt[6], "text bypass");
    assert_false(rec.val[7].has_txt);
    assert_memory_equal(rec.val[8].a, "\x01\x02\x03\x04", 4);
    assert_string_equal(rec.txt[8], "spaced");
}

static void test_default_value(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(feed(f, ":3:IP $ is listed\n"
                             "a\n"
                             "b :5\n"
                             "c :6:\n"
                             "d own text\n"
                             ":4\n"
                             "e\n"),
                     0);
    assert_memory_equal(rec.val[0].a, "\x7f\x00\x00\x03", 4);
    assert_string_equal(rec.txt[0], "IP $ is listed");
    assert_memory_equal(rec.val[1].a, "\x7f\x00\x00\x05", 4);
    assert_string_equal(rec.txt[1], "IP $ is listed"); /* ":5" keeps the default TXT */
    assert_false(rec.val[2].has_txt);                  /* ":6:" drops it */
    assert_memory_equal(rec.val[3].a, "\x7f\x00\x00\x03", 4);
    assert_string_equal(rec.txt[3], "own text");
    /* ":4" alone: A 127.0.0.4 and the TXT of the earlier default. */
    assert_memory_equal(rec.val[4].a, "\x7f\x00\x00\x04", 4);
    assert_string_equal(rec.txt[4], "IP $ is listed");
}

static void test_variables_and_dollars(void **state)
{
    struct fixture *f = *state;
    /* The example of rbldnsd(8), "Resulting A values and TXT templates". */
    assert_int_equal(feed(f, "$1 See http://www.example.com/bl\n"
                             "$2 for details\n"
                             "$1 second assignment is ignored\n"
                             "a  $1/spammer/$ $2\n"
                             "b  This spammer wants some $$$$.  $1/$\n"
                             "c  undefined $7 var\n"),
                     0);
    assert_string_equal(rec.txt[0], "See http://www.example.com/bl/spammer/$ for details");
    assert_string_equal(rec.txt[1],
                        "This spammer wants some $$$$.  See http://www.example.com/bl/$");
    assert_string_equal(rec.txt[2], "undefined  var");
}

static void test_base_template(void **state)
{
    struct fixture *f = *state;
    /* rbldnsd(8)'s "$=" example, plus the cases checked against rbldnsd. */
    assert_int_equal(feed(f, "$= See http://www.example.com/bl?$= ($) for details\n"
                             "a    r123\n"
                             "b\n"
                             "c    =See other blocklists for details about $\n"
                             "d    :5:\n"
                             ":3:deftext\n"
                             "e\n"),
                     0);
    assert_string_equal(rec.txt[0], "See http://www.example.com/bl?r123 ($) for details");
    assert_string_equal(rec.txt[1], "See http://www.example.com/bl?$ ($) for details");
    assert_string_equal(rec.txt[2], "See other blocklists for details about $");
    assert_true(rec.val[3].has_txt); /* with $= every entry answers a TXT */
    assert_string_equal(rec.txt[3], "See http://www.example.com/bl?$ ($) for details");
    assert_memory_equal(rec.val[4].a, "\x7f\x00\x00\x03", 4);
    assert_string_equal(rec.txt[4], "See http://www.example.com/bl?deftext ($) for details");
}

static void test_literal_insertions(void **state)
{
    struct fixture *f = *state;
    /* Checked against rbldnsd: the value of $n and an entry's text inside
     * "$=" come out as written, their '$' not expanded (doubled here so
     * the server's per-query expansion leaves them alone). */
    assert_int_equal(feed(f, "$1 http://x.example/?\n"
                             "$2 (see $1)\n"
                             "a  =own $2$\n"
                             "$= [$=] details: $1$\n"
                             "b  text $1 $ $$5\n"
                             ":3:def $1\n"
                             "c\n"),
                     0);
    assert_string_equal(rec.txt[0], "own (see $$1)$");
    assert_string_equal(rec.txt[1], "[text $$1 $$ $$$$5] details: http://x.example/?$");
    assert_string_equal(rec.txt[2], "[def $$1] details: http://x.example/?$");
}

static void test_soa_ns_ttl(void **state)
{
    struct fixture *f = *state;
    uint8_t wire[NAME_MAXWIRE];
    size_t len;
    assert_int_equal(feed(f, "$TTL 1h\n"
                             "$SOA 0 ns1.ex.com admin.ex.com 0 2h 2h 1w 1h\n"
                             "$SOA 5 other.ex.com x.ex.com 7 1 1 1 1\n"
                             "$NS 1d ns1.ex.com -ns2.ex.com ns3.ex.com\n"
                             "$NS 0 ignored.ex.com\n"),
                     0);
    assert_int_equal(f->ds->ttl, 3600);
    assert_true(f->ds->soa.present);
    assert_int_equal(f->ds->soa.ttl, 0); /* resolved by dataset_finish */
    assert_int_equal(name_from_text("ns1.ex.com", wire, &len), 0);
    assert_memory_equal(f->ds->soa.mname, wire, len);
    assert_int_equal(f->ds->soa.serial, 0);
    assert_int_equal(f->ds->soa.refresh, 7200);
    assert_int_equal(f->ds->soa.expire, 604800);
    assert_int_equal(f->ds->soa.minimum, 3600);
    assert_int_equal(f->ds->ns.count, 2);
    assert_int_equal(f->ds->ns.ttl, 86400);
    assert_int_equal(name_from_text("ns3.ex.com", wire, &len), 0);
    assert_memory_equal(f->ds->ns.name[1], wire, len);

    char err[256];
    assert_int_equal(dataset_finish(f->ds, err, sizeof(err)), 0);
    assert_int_equal(f->ds->soa.ttl, 3600);
}

static void test_maxrange4(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(feed(f, "$MAXRANGE4 /24\n"), 0);
    assert_int_equal(f->df.maxrange4, 256);
    assert_int_equal(feed(f, "$MAXRANGE4 65536\n"), 0); /* cannot grow */
    assert_int_equal(f->df.maxrange4, 256);
    assert_int_equal(feed(f, "$MAXRANGE4 16\n"), 0);
    assert_int_equal(f->df.maxrange4, 16);
    char want[256];
    assert_int_equal(feed(f, "$MAXRANGE4 /40\n"), ERR_INVAL);
    snprintf(want, sizeof(want), "%s:4: $MAXRANGE4: invalid prefix length '/40'", path);
    assert_string_equal(f->df.err, want);
}

static void expect_feed_error(struct fixture *f, const char *text, const char *msg)
{
    char want[600];
    int rc = feed(f, text);
    assert_int_equal(rc, ERR_INVAL);
    snprintf(want, sizeof(want), "%s:%s", path, msg);
    assert_string_equal(f->df.err, want);
}

static void test_errors(void **state)
{
    struct fixture *f = *state;
    expect_feed_error(f, "# fine\n$FOO bar\n", "2: unknown directive '$FOO'");
}

static void test_error_bad_a(void **state)
{
    struct fixture *f = *state;
    expect_feed_error(f, "x :0:zero\n", "1: invalid A value in '0:zero'");
}

/* Outside the IPv6 types a line starting with "::" is still a default
 * value, a bad one, as rbldnsd says ("invalid A RR"). */
static void test_error_colon_colon_outside_ip6(void **state)
{
    struct fixture *f = *state;
    expect_feed_error(f, "::1\n", "1: invalid A value in ':1'");
}

static void test_error_bad_a2(void **state)
{
    struct fixture *f = *state;
    expect_feed_error(f, "x\nx :5 junk\n", "2: invalid value: expected ':' after the A value");
}

static void test_error_soa(void **state)
{
    struct fixture *f = *state;
    expect_feed_error(f, "$SOA 0 ns1.ex.com admin.ex.com\n",
                      "1: $SOA needs ttl origin person serial refresh retry expire minimum");
}

static void test_error_ttl(void **state)
{
    struct fixture *f = *state;
    expect_feed_error(f, "$TTL 5x\n", "1: $TTL needs one time value");
}

static void test_error_type_without_message(void **state)
{
    struct fixture *f = *state;
    /* A type that fails without datafile_error still yields file:line. */
    expect_feed_error(f, "fail-silently\n", "1: invalid input");
}

static void test_timestamp(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(feed(f, "$TIMESTAMP 2020:01:02 +10000d\n"), 0);
    assert_int_equal(f->ds->timestamp, 1577923200);
    assert_int_equal(f->ds->expires, 1577923200 + 10000LL * 86400);
    expect_feed_error(f, "$TIMESTAMP 2020-01-01 2020-01-02\n",
                      "2: data expired (by $TIMESTAMP) at 2020-01-02 00:00:00 UTC");
}

static void test_timestamp_future(void **state)
{
    struct fixture *f = *state;
    expect_feed_error(f, "$TIMESTAMP 2999:12:31:23:59\n",
                      "1: $TIMESTAMP 2999:12:31:23:59 is in the future");
}

static void test_timestamp_bad(void **state)
{
    struct fixture *f = *state;
    expect_feed_error(f, "$TIMESTAMP 2020:13:01\n",
                      "1: $TIMESTAMP: invalid timestamp '2020:13:01'");
}

static void test_long_line(void **state)
{
    struct fixture *f = *state;
    char *big = malloc(10000);
    strcpy(big, "1.2.3.4\n5.6.7.8 ");
    size_t n = strlen(big);
    memset(big + n, 'x', 5000);
    strcpy(big + n + 5000, "\n9.9.9.9\n");
    write_file("data.txt", big);
    free(big);
    assert_int_equal(datafile_read(&f->df), ERR_INVAL);
    char want[256];
    snprintf(want, sizeof(want), "%s:2: line too long (more than 4096 bytes)", path);
    assert_string_equal(f->df.err, want);
    assert_int_equal(rec.n, 1);
}

static void test_last_line_without_newline(void **state)
{
    struct fixture *f = *state;
    write_file("data.txt", "1.2.3.4\r\n\n5.6.7.8");
    assert_int_equal(datafile_read(&f->df), 0);
    assert_int_equal(rec.n, 2);
    assert_int_equal(f->df.lineno, 3);
}

static void test_long_txt_truncated(void **state)
{
    struct fixture *f = *state;
    char line[400];
    strcpy(line, "a ");
    memset(line + 2, 'y', 300);
    line[302] = '\0';
    assert_int_equal(feed(f, line), 0);
    assert_int_equal(rec.val[0].txtlen, 255);
}

static void test_gzip(void **state)
{
    struct fixture *f = *state;
    gzFile gz = gzopen(path, "wb");
    assert_non_null(gz);
    gzputs(gz, "# compressed\n:4:gz $\n10.0.0.1\n10.0.0.2 :5\n");
    gzclose(gz);
    /* Make sure it really is gzip, not plain text. */
    FILE *fp = fopen(path, "rb");
    unsigned char magic[2];
    assert_int_equal(fread(magic, 1, 2, fp), 2);
    fclose(fp);
    assert_int_equal(magic[0], 0x1f);
    assert_int_equal(magic[1], 0x8b);

    assert_int_equal(datafile_read(&f->df), 0);
    assert_int_equal(rec.n, 2);
    assert_string_equal(rec.line[0], "10.0.0.1");
    assert_string_equal(rec.txt[0], "gz $");
    assert_memory_equal(rec.val[1].a, "\x7f\x00\x00\x05", 4);
}

static void test_missing_file(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(datafile_read(&f->df), ERR_IO);
    char want[256];
    snprintf(want, sizeof(want), "%s: cannot open: No such file or directory", path);
    assert_string_equal(f->df.err, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_comments_and_blanks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_value_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_value, setup, teardown),
        cmocka_unit_test_setup_teardown(test_variables_and_dollars, setup, teardown),
        cmocka_unit_test_setup_teardown(test_base_template, setup, teardown),
        cmocka_unit_test_setup_teardown(test_literal_insertions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_soa_ns_ttl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_maxrange4, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_bad_a, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_bad_a2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_colon_colon_outside_ip6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_soa, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_ttl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_type_without_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timestamp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timestamp_future, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timestamp_bad, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_last_line_without_newline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_txt_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gzip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
