/* Unit tests for the serve configuration: rbldnsd options and INI files. */
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
#include "server/serve_conf.h"

static void test_ttl_spec(void **state)
{
    (void)state;
    struct serve_conf c;
    serve_conf_init(&c);
    assert_int_equal(c.ttl_default, 2100);
    assert_int_equal(serve_conf_parse_ttl(&c, "1h:5m:1d"), 0);
    assert_int_equal(c.ttl_default, 3600);
    assert_int_equal(c.ttl_min, 300);
    assert_int_equal(c.ttl_max, 86400);
    assert_int_equal(serve_conf_parse_ttl(&c, "90"), 0);
    assert_int_equal(c.ttl_default, 90);
    assert_int_equal(c.ttl_min, 300); /* unchanged parts stay */
    assert_int_not_equal(serve_conf_parse_ttl(&c, "x"), 0);
    assert_int_not_equal(serve_conf_parse_ttl(&c, "10:100:50"), 0); /* min > max */
    assert_int_not_equal(serve_conf_parse_ttl(&c, "5q"), 0);
    serve_conf_free(&c);
}

static void test_duration(void **state)
{
    (void)state;
    uint32_t v;
    assert_int_equal(serve_conf_parse_duration("35m", &v), 0);
    assert_int_equal(v, 2100);
    assert_int_equal(serve_conf_parse_duration("2w", &v), 0);
    assert_int_equal(v, 1209600);
    assert_int_not_equal(serve_conf_parse_duration("", &v), 0);
    assert_int_not_equal(serve_conf_parse_duration("-1", &v), 0);
    assert_int_not_equal(serve_conf_parse_duration("99999999999", &v), 0);
}

static void test_listen(void **state)
{
    (void)state;
    struct serve_conf c;
    serve_conf_init(&c);
    assert_int_equal(serve_conf_add_listen(&c, "127.0.0.1/5353"), 0);
    assert_int_equal(serve_conf_add_listen(&c, "::1/5354"), 0);
    assert_int_equal(serve_conf_add_listen(&c, "[::1]"), 0);
    assert_int_equal(c.nlisten, 3);
    const struct sockaddr_in *a = (const struct sockaddr_in *)&c.listen[0].ss;
    assert_int_equal(a->sin_family, AF_INET);
    assert_int_equal(ntohs(a->sin_port), 5353);
    const struct sockaddr_in6 *b = (const struct sockaddr_in6 *)&c.listen[2].ss;
    assert_int_equal(b->sin6_family, AF_INET6);
    assert_int_equal(ntohs(b->sin6_port), 53);
    assert_int_not_equal(serve_conf_add_listen(&c, "localhost/53"), 0);
    assert_int_not_equal(serve_conf_add_listen(&c, "127.0.0.1/0"), 0);
    assert_int_not_equal(serve_conf_add_listen(&c, "127.0.0.1/70000"), 0);
    assert_int_not_equal(serve_conf_add_listen(&c, "/53"), 0);
    serve_conf_free(&c);
}

static void test_zonespec(void **state)
{
    (void)state;
    struct serve_conf c;
    serve_conf_init(&c);
    assert_int_equal(serve_conf_add_zonespec(&c, "bl.example:ip4set:a.txt,b.txt"), 0);
    assert_int_equal(serve_conf_add_zonespec(&c, "BL.example.:dnset:c.txt"), 0);
    assert_int_equal(serve_conf_add_zonespec(&c, "other.example:ip4tset:d.txt"), 0);
    assert_int_equal(c.nzones, 2); /* the same zone, whatever the case */
    assert_int_equal(c.zones[0].nspecs, 2);
    assert_string_equal(c.zones[0].specs[0], "ip4set:a.txt,b.txt");
    assert_string_equal(c.zones[0].specs[1], "dnset:c.txt");
    assert_int_not_equal(serve_conf_add_zonespec(&c, "bl.example:nosuchtype:a"), 0);
    assert_int_not_equal(serve_conf_add_zonespec(&c, "bl.example"), 0);
    assert_int_not_equal(serve_conf_add_zonespec(&c, ":ip4set:a"), 0);
    assert_int_equal(serve_conf_add_zonespec(&c, ":acl:global.acl"), 0); /* global ACL */
    assert_int_not_equal(serve_conf_add_zonespec(&c, "bl.example:ip4set:"), 0);
    serve_conf_free(&c);
}

static char *write_temp(const char *text)
{
    char *path = strdup("/tmp/dnsblkit-conf-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_ini_good(void **state)
{
    (void)state;
    char *path = write_temp("; comment\n"
                            "[server]\n"
                            "listen = 127.0.0.1/5300 ::1/5300\n"
                            "ttl = 1h:1m:1d\n"
                            "check-interval = 5\n"
                            "threads = 3\n"
                            "tcp-idle-timeout = 7\n"
                            "tcp-clients-per-address = 4\n"
                            "tcp-max-time = 2m\n"
                            "tcp-max-queries = 0\n"
                            "shrink-limit = 30%\n"
                            "acl = /tmp/global.acl\n"
                            "user = nobody\n"
                            "chroot = /var/empty\n"
                            "[zone bl.example]\n"
                            "data = ip4set:/tmp/a\n"
                            "data = dnset:/tmp/b\n"
                            "keys = /etc/dnsblkit/bl.keys\n"
                            "allow-world = yes\n"
                            "min-prefix4 = 12\n"
                            "max-ip4-addresses = 1000\n"
                            "[zone other.example]\n"
                            "data = ip4tset:/tmp/c\n"
                            "shrink-limit = 80\n"
                            "[listing]\n"
                            "database = var/x.db\n");
    struct serve_conf c;
    char err[256];
    serve_conf_init(&c);
    assert_int_equal(serve_conf_load_file(&c, path, err, sizeof(err)), 0);
    assert_int_equal(c.nlisten, 2);
    assert_int_equal(c.ttl_default, 3600);
    assert_int_equal(c.check_interval, 5);
    assert_int_equal(c.threads, 3);
    assert_int_equal(c.tcp_idle, 7);
    assert_int_equal(c.tcp_max_clients, 512); /* the default */
    assert_int_equal(c.tcp_per_address, 4);
    assert_int_equal(c.tcp_max_time, 120);
    assert_int_equal(c.tcp_max_queries, 0); /* no limit */
    assert_true(c.user.set);
    assert_int_equal(c.user.uid, 65534); /* Debian's nobody */
    assert_string_equal(c.chroot_dir, "/var/empty");
    assert_int_equal(c.nzones, 3);
    assert_string_equal(c.zones[0].name, ""); /* the global ACL */
    assert_string_equal(c.zones[0].specs[0], "acl:/tmp/global.acl");
    assert_int_equal(c.zones[1].nspecs, 2);
    assert_true(c.zones[1].limits.allow_world);
    assert_int_equal(c.zones[1].limits.min_prefix4, 12);
    assert_int_equal(c.zones[1].limits.min_prefix6, 8);
    assert_int_equal(c.zones[1].limits.max_ip4_total, 1000);
    assert_string_equal(c.zones[1].keys, "/etc/dnsblkit/bl.keys");
    assert_null(c.zones[2].keys);
    assert_int_equal(serve_conf_finish(&c, err, sizeof(err)), 0);
    assert_int_equal(c.zones[1].ctx.default_ttl, 3600);
    assert_int_equal(c.zones[1].shrink_limit, 30); /* [server]'s default */
    assert_int_equal(c.zones[2].shrink_limit, 80);
    serve_conf_free(&c);
    unlink(path);
    free(path);
}

/* Each bad file must be refused with "file:line: reason" naming the line. */
static void expect_ini_error(const char *text, int line, const char *reason)
{
    char *path = write_temp(text);
    struct serve_conf c;
    char err[512], want[512];
    serve_conf_init(&c);
    assert_int_not_equal(serve_conf_load_file(&c, path, err, sizeof(err)), 0);
    snprintf(want, sizeof(want), "%s:%d: ", path, line);
    assert_memory_equal(err, want, strlen(want));
    assert_non_null(strstr(err, reason));
    serve_conf_free(&c);
    unlink(path);
    free(path);
}

static void test_ini_errors(void **state)
{
    (void)state;
    expect_ini_error("[server]\nlisten = 127.0.0.1/5300\nbogus = 1\n", 3, "unknown key 'bogus'");
    expect_ini_error("[server]\n\nlisten = nowhere\n", 3, "bad listen address");
    expect_ini_error("[zone bl.example]\ndata = ip4set\n", 2, "bad data");
    expect_ini_error("[zone bl.example]\ndata = ip4set:/a\nallow-world = maybe\n", 3,
                     "bad allow-world");
    expect_ini_error("[nonsense]\nx = 1\n", 2, "unknown section");
    expect_ini_error("[server]\nttl = 1:9:3\n", 2, "bad ttl");
    expect_ini_error("[zone bl.example]\nmin-prefix4 = 33\n", 2, "bad min-prefix4");
    expect_ini_error("[server]\nshrink-limit = 101\n", 2, "bad shrink-limit");
    expect_ini_error("[zone bl.example]\nshrink-limit = half\n", 2, "bad shrink-limit");
    expect_ini_error("[server]\nuser = no-such-user-here\n", 2, "unknown user 'no-such-user-here'");
    expect_ini_error("[server]\nuser = nobody:no-such-group\n", 2, "unknown group");
    expect_ini_error("[server]\nchroot = var/empty\n", 2, "bad chroot 'var/empty'");
    expect_ini_error("[server]\n\ntcp-clients-per-address = -1\n", 3,
                     "bad tcp-clients-per-address '-1'");
    expect_ini_error("[server]\ntcp-clients-per-address = 65537\n", 2,
                     "bad tcp-clients-per-address");
    expect_ini_error("[server]\ntcp-max-time = 1 minute\n", 2, "bad tcp-max-time '1 minute'");
    expect_ini_error("[server]\ntcp-max-queries = many\n", 2, "bad tcp-max-queries 'many'");
    expect_ini_error("[server]\ntcp-max-queries = 1000000001\n", 2, "bad tcp-max-queries");
    expect_ini_error("[server]\ntcp-idle-timeout = 0\n", 2, "bad tcp-idle-timeout");
    expect_ini_error("[zone bl.example]\nkeys = /a\ndata = ip4set:/b\nkeys = /c\n", 4,
                     "keys given twice in [zone bl.example]");
    expect_ini_error("[zone bl.example]\nkeys =\n", 2, "bad keys ''");
}

/* The TCP limits are on unless the configuration says otherwise. */
static void test_tcp_defaults(void **state)
{
    (void)state;
    struct serve_conf c;
    serve_conf_init(&c);
    assert_int_equal(c.tcp_idle, 10);
    assert_int_equal(c.tcp_max_clients, 512);
    assert_int_equal(c.tcp_per_address, 16);
    assert_int_equal(c.tcp_max_time, 60);
    assert_int_equal(c.tcp_max_queries, 100);
    serve_conf_free(&c);
}

static void test_ini_missing_file(void **state)
{
    (void)state;
    struct serve_conf c;
    char err[256];
    serve_conf_init(&c);
    assert_int_equal(serve_conf_load_file(&c, "/nonexistent/dnsblkit.conf", err, sizeof(err)),
                     ERR_IO);
    assert_non_null(strstr(err, "/nonexistent/dnsblkit.conf: cannot open"));
    serve_conf_free(&c);
}

static void test_finish_requires(void **state)
{
    (void)state;
    struct serve_conf c;
    char err[256];
    serve_conf_init(&c);
    assert_int_not_equal(serve_conf_finish(&c, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "no listen address"));
    assert_int_equal(serve_conf_add_listen(&c, "127.0.0.1/5300"), 0);
    assert_int_not_equal(serve_conf_finish(&c, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "no zones"));
    assert_int_equal(serve_conf_add_zonespec(&c, ":acl:global.acl"), 0);
    assert_int_not_equal(serve_conf_finish(&c, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "no zones")); /* a global ACL is not a zone */
    assert_int_equal(serve_conf_add_zonespec(&c, "acl.example:acl:a.acl"), 0);
    assert_int_not_equal(serve_conf_finish(&c, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "zone acl.example has only acl data"));
    assert_int_equal(serve_conf_add_zonespec(&c, "acl.example:ip4set:b"), 0);
    c.allow_world = true;
    c.allow_hostbits = true;
    assert_int_equal(serve_conf_add_zonespec(&c, "bl.example:ip4set:a"), 0);
    assert_int_equal(serve_conf_finish(&c, err, sizeof(err)), 0);
    assert_true(c.zones[2].ctx.limits.allow_world);
    assert_true(c.zones[2].ctx.allow_hostbits);
    serve_conf_free(&c);
}

/* With a chroot, full paths under the jail become paths inside it. */
static void test_finish_jail_paths(void **state)
{
    (void)state;
    struct serve_conf c;
    char err[256];
    serve_conf_init(&c);
    assert_int_equal(serve_conf_add_listen(&c, "127.0.0.1/5300"), 0);
    assert_int_equal(
        serve_conf_add_zonespec(&c, "bl.example:ip4set:/var/jail/a,/other/b,rel,/var/jailx/c"), 0);
    assert_int_equal(serve_conf_add_zonespec(&c, "dbl.example:dnset:/var/jail/etc/x.dnset"), 0);
    c.zones[0].keys = strdup("/var/jail/etc/keys.txt");
    c.zones[1].keys = strdup("/var/jailx/keys.txt");
    c.chroot_dir = strdup("/var/jail/");
    assert_int_equal(serve_conf_finish(&c, err, sizeof(err)), 0);
    assert_string_equal(c.zones[0].specs[0], "ip4set:/a,/other/b,rel,/var/jailx/c");
    assert_string_equal(c.zones[1].specs[0], "dnset:/etc/x.dnset");
    assert_string_equal(c.zones[0].keys, "/etc/keys.txt");
    assert_string_equal(c.zones[1].keys, "/var/jailx/keys.txt"); /* not under the jail */
    serve_conf_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ttl_spec),        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_listen),          cmocka_unit_test(test_zonespec),
        cmocka_unit_test(test_ini_good),        cmocka_unit_test(test_ini_errors),
        cmocka_unit_test(test_tcp_defaults),    cmocka_unit_test(test_ini_missing_file),
        cmocka_unit_test(test_finish_requires), cmocka_unit_test(test_finish_jail_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
