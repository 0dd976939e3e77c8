/* Dropping root after binding: chroot, groups, gid, uid, in that order. */
#include "common/privdrop.h"
#include "common/err.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A decimal id, all of s. */
static bool privdrop_number(const char *s, unsigned long *out)
{
    char *end;
    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    *out = strtoul(s, &end, 10);
    return !*end && errno == 0 && *out < 0x7fffffffUL;
}

int privdrop_parse(const char *spec, struct privdrop *out, char *err, size_t errsz)
{
    char user[64], group[64] = "";
    const char *colon = strchr(spec, ':');
    size_t ulen = colon ? (size_t)(colon - spec) : strlen(spec);
    memset(out, 0, sizeof(*out));
    if (ulen == 0 || ulen >= sizeof(user) || (colon && (!colon[1] || strlen(colon + 1) >= 64))) {
        snprintf(err, errsz, "bad user '%s' (want USER or USER:GROUP)", spec);
        return ERR_INVAL;
    }
    memcpy(user, spec, ulen);
    user[ulen] = '\0';
    if (colon)
        snprintf(group, sizeof(group), "%s", colon + 1);

    unsigned long n;
    const struct passwd *pw = getpwnam(user);
    if (!pw && privdrop_number(user, &n))
        pw = getpwuid((uid_t)n); /* a number with an entry: its login group */
    if (pw) {
        out->uid = pw->pw_uid;
        out->gid = pw->pw_gid;
    } else if (privdrop_number(user, &n)) {
        out->uid = (uid_t)n;
        out->gid = (gid_t)n; /* a bare uid: the same gid unless one is given */
    } else {
        snprintf(err, errsz, "unknown user '%s'", user);
        return ERR_INVAL;
    }
    if (group[0]) {
        const struct group *gr = getgrnam(group);
        if (gr)
            out->gid = gr->gr_gid;
        else if (privdrop_number(group, &n))
            out->gid = (gid_t)n;
        else {
            snprintf(err, errsz, "unknown group '%s'", group);
            return ERR_INVAL;
        }
    }
    snprintf(out->user, sizeof(out->user), "%s", user);
    out->set = true;
    return 0;
}

int privdrop_check(const struct privdrop *p, uid_t euid, const char *prog, char *err, size_t errsz)
{
    if (euid != 0 || p->set)
        return 0;
    snprintf(err, errsz,
             "%s: refusing to run as root: give -u USER to drop to USER once the sockets "
             "are bound (-u root stays root)",
             prog);
    return ERR_PERM;
}

int privdrop_apply(const struct privdrop *p, const char *root_dir, char *err, size_t errsz)
{
    if (root_dir && (chroot(root_dir) < 0 || chdir("/") < 0)) {
        snprintf(err, errsz, "cannot chroot to %s: %s", root_dir, strerror(errno));
        return ERR_IO;
    }
    if (!p->set || (p->uid == geteuid() && p->gid == getegid() && p->uid != 0))
        return 0;
    if (p->uid == 0)
        return 0; /* -u root: asked for, and nothing to drop */
    /* Groups first: once the uid is not root, they cannot be changed. */
    if (setgroups(1, &p->gid) < 0 || setgid(p->gid) < 0 || setuid(p->uid) < 0) {
        snprintf(err, errsz, "cannot become %s (uid %u, gid %u): %s", p->user, (unsigned)p->uid,
                 (unsigned)p->gid, strerror(errno));
        return ERR_IO;
    }
    /* setuid from root sets every uid; if root can be had back, the
     * drop did not happen as it should, and running on is unsafe. */
    if (setuid(0) == 0 || geteuid() == 0) {
        snprintf(err, errsz, "could get root back after becoming %s", p->user);
        return ERR_IO;
    }
    return 0;
}
