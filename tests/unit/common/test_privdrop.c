/* Unit tests for dropping root: user specs, the refusal to run as root
 * without a user, and (when the tests run as root) the drop itself and a
 * chroot, each in a child process so that the test runner keeps root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/err.h"
#include "common/privdrop.h"

static void test_parse(void **state)
{
    (void)state;
    /* A copy: getpwnam's result is overwritten by the next lookup. */
    const struct passwd *pw = getpwnam("nobody");
    assert_non_null(pw); /* on every Debian system */
    const struct passwd nobody_ = *pw, *nobody = &nobody_;
    struct privdrop p;
    char err[200];
    assert_int_equal(privdrop_parse("nobody", &p, err, sizeof(err)), 0);
    assert_true(p.set);
    assert_string_equal(p.user, "nobody");
    assert_int_equal(p.uid, nobody->pw_uid);
    assert_int_equal(p.gid, nobody->pw_gid);
    assert_int_equal(privdrop_parse("nobody:root", &p, err, sizeof(err)), 0);
    assert_int_equal(p.uid, nobody->pw_uid);
    assert_int_equal(p.gid, 0);
    assert_int_equal(privdrop_parse("root", &p, err, sizeof(err)), 0);
    assert_int_equal(p.uid, 0);
    /* A number with an entry is that user, with its login group. */
    char num[16];
    snprintf(num, sizeof(num), "%u", (unsigned)nobody->pw_uid);
    assert_int_equal(privdrop_parse(num, &p, err, sizeof(err)), 0);
    assert_int_equal(p.uid, nobody->pw_uid);
    assert_int_equal(p.gid, nobody->pw_gid);
    /* Numeric ids need no entry in /etc/passwd. */
    assert_null(getpwuid(4242));
    assert_int_equal(privdrop_parse("4242", &p, err, sizeof(err)), 0);
    assert_int_equal(p.uid, 4242);
    assert_int_equal(p.gid, 4242);
    assert_int_equal(privdrop_parse("4242:4343", &p, err, sizeof(err)), 0);
    assert_int_equal(p.gid, 4343);

    static const struct {
        const char *spec, *why;
    } bad[] = {
        {"", "bad user ''"},
        {":root", "bad user ':root'"},
        {"nobody:", "bad user 'nobody:'"},
        {"no-such-user-here", "unknown user 'no-such-user-here'"},
        {"nobody:no-such-group", "unknown group 'no-such-group'"},
        {"-1", "unknown user '-1'"},
        {"99999999999", "unknown user '99999999999'"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (privdrop_parse(bad[i].spec, &p, err, sizeof(err)) != ERR_INVAL)
            fail_msg("accepted '%s'", bad[i].spec);
        if (strncmp(err, bad[i].why, strlen(bad[i].why)) != 0)
            fail_msg("'%s': got '%s', want '%s'", bad[i].spec, err, bad[i].why);
        assert_false(p.set);
    }
}

static void test_check(void **state)
{
    (void)state;
    struct privdrop none, root;
    char err[200] = "";
    memset(&none, 0, sizeof(none));
    assert_int_equal(privdrop_check(&none, 0, "dnsblkit serve", err, sizeof(err)), ERR_PERM);
    assert_non_null(strstr(err, "dnsblkit serve: refusing to run as root: give -u USER"));
    assert_int_equal(privdrop_check(&none, 1000, "dnsblkit serve", err, sizeof(err)), 0);
    assert_int_equal(privdrop_parse("root", &root, err, sizeof(err)), 0);
    assert_int_equal(privdrop_check(&root, 0, "dnsblkit serve", err, sizeof(err)), 0);
}

/* Run fn in a child; its exit status is the test's verdict (0 = pass,
 * else the number of the check that failed). */
static int in_child(int (*fn)(void))
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(fn());
    int st = -1;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 100;
}

static int drop_to_nobody(void)
{
    struct privdrop p;
    char err[200];
    const struct passwd *nobody = getpwnam("nobody");
    if (!nobody || privdrop_parse("nobody", &p, err, sizeof(err)) < 0)
        return 1;
    if (privdrop_apply(&p, NULL, err, sizeof(err)) < 0)
        return 2;
    if (getuid() != nobody->pw_uid || geteuid() != nobody->pw_uid)
        return 3;
    if (getgid() != nobody->pw_gid || getegid() != nobody->pw_gid)
        return 4;
    gid_t groups[8];
    int n = getgroups(8, groups);
    if (n != 1 || groups[0] != nobody->pw_gid)
        return 5; /* root's supplementary groups are gone */
    if (setuid(0) == 0)
        return 6;
    /* A second drop to another user is refused, with the reason. */
    if (privdrop_parse("4242", &p, err, sizeof(err)) < 0 ||
        privdrop_apply(&p, NULL, err, sizeof(err)) != ERR_IO || !strstr(err, "cannot become 4242"))
        return 8;
    return 0;
}

static char jail[64];

static int chroot_and_drop(void)
{
    struct privdrop p;
    char err[200];
    if (privdrop_parse("nobody", &p, err, sizeof(err)) < 0)
        return 1;
    if (privdrop_apply(&p, jail, err, sizeof(err)) < 0)
        return 2;
    /* Inside: the marker file is at the root, /etc/passwd is not. */
    if (access("/marker", F_OK) != 0)
        return 3;
    if (access("/etc/passwd", F_OK) == 0)
        return 4;
    char cwd[64];
    if (!getcwd(cwd, sizeof(cwd)) || strcmp(cwd, "/") != 0)
        return 5;
    return 0;
}

static int bad_chroot(void)
{
    struct privdrop p;
    char err[200];
    memset(&p, 0, sizeof(p));
    if (privdrop_apply(&p, "/no/such/dir", err, sizeof(err)) != ERR_IO)
        return 1;
    return strstr(err, "cannot chroot to /no/such/dir") ? 0 : 2;
}

static void test_apply(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip(); /* dropping needs root; CI runs as root */
    assert_int_equal(in_child(drop_to_nobody), 0);
    snprintf(jail, sizeof(jail), "/tmp/dbk-privdrop-XXXXXX");
    assert_non_null(mkdtemp(jail));
    assert_int_equal(chmod(jail, 0755), 0); /* nobody's root directory */
    char marker[96];
    snprintf(marker, sizeof(marker), "%s/marker", jail);
    FILE *f = fopen(marker, "w");
    assert_non_null(f);
    fclose(f);
    int rc = in_child(chroot_and_drop);
    unlink(marker);
    rmdir(jail);
    assert_int_equal(rc, 0);
    assert_int_equal(in_child(bad_chroot), 0);
}

/* Not root (a child that dropped to nobody, when the tests run as root):
 * -u of the same user is nothing to do; another user fails. */
static int unprivileged(void)
{
    struct privdrop p;
    char err[200];
    char self[32];
    snprintf(self, sizeof(self), "%u", (unsigned)geteuid());
    if (privdrop_parse(self, &p, err, sizeof(err)) < 0)
        return 1;
    p.gid = getegid();
    if (privdrop_apply(&p, NULL, err, sizeof(err)) != 0)
        return 2;
    if (privdrop_parse("4243", &p, err, sizeof(err)) < 0 ||
        privdrop_apply(&p, NULL, err, sizeof(err)) != ERR_IO || !strstr(err, "cannot become"))
        return 3;
    return 0;
}

static int nobody_then_unprivileged(void)
{
    struct privdrop p;
    char err[200];
    if (privdrop_parse("nobody", &p, err, sizeof(err)) < 0 ||
        privdrop_apply(&p, NULL, err, sizeof(err)) < 0)
        return 10;
    return unprivileged();
}

static void test_apply_unprivileged(void **state)
{
    (void)state;
    assert_int_equal(in_child(geteuid() == 0 ? nobody_then_unprivileged : unprivileged), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_apply),
        cmocka_unit_test(test_apply_unprivileged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
