/* Giving up root once the daemons hold their sockets: an optional chroot,
 * then the user's groups and ids, so that a flaw in a parser of outside
 * input cannot use root's powers. The daemons refuse to run as root
 * without a user to become (privdrop_refuse_root). */
#ifndef DBK_COMMON_PRIVDROP_H
#define DBK_COMMON_PRIVDROP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct privdrop {
    bool set; /* a user was given */
    char user[64];
    uid_t uid;
    gid_t gid;
};

/* "USER", "USER:GROUP", or numeric "UID[:GID]"; a user's group is its
 * login group unless GROUP is given (a uid without a passwd entry: the
 * same number). Only that one group is kept: supplementary groups are
 * dropped, root's and the user's alike. Looked up now, while /etc/passwd
 * can be read. ERR_INVAL with "unknown user 'x'" and the like in err. */
int privdrop_parse(const char *spec, struct privdrop *out, char *err, size_t errsz);

/* Whether a process of effective uid euid may run with p: root only
 * with a user given (-u root stays root, on purpose). ERR_PERM with the
 * reason (naming prog) otherwise. */
int privdrop_check(const struct privdrop *p, uid_t euid, const char *prog, char *err, size_t errsz);

/* chroot to root_dir (NULL: none; needs root), then become p's user (when
 * set and not already it). Checks that root cannot be got back. ERR_IO
 * with the reason in err. */
int privdrop_apply(const struct privdrop *p, const char *root_dir, char *err, size_t errsz);

#endif
