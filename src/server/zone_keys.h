/* Keyed access to a zone, the way commercial lists sell direct queries
 * (Spamhaus DQS: 2.0.0.127.KEY.zen.dq.spamhaus.net): a zone with a key
 * file answers a name below its apex only when the label right above the
 * apex is a known key, and answers it as the name without that label.
 *
 * The key file has one key per line; blank lines and lines starting
 * with '#' are skipped, and '#' after a key starts a comment. A key is 8
 * to 63 letters, digits, '-' or '_' (one DNS label), compared without
 * case. A set of keys is built once per load into one block and an
 * open-addressing table of offsets, shared by snapshots while the file
 * does not change; looking a label up allocates nothing. */
#ifndef DBK_SERVER_ZONE_KEYS_H
#define DBK_SERVER_ZONE_KEYS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define ZONE_KEY_MIN 8
#define ZONE_KEY_MAX 63
#define ZONE_KEYS_MAX_COUNT (1u << 24) /* keys per file */

struct zone_keys {
    char *path;    /* the file, as configured */
    time_t mtime;  /* what the file looked like when read */
    long mtime_ns; /* and within the second: a file replaced twice in one
                      second may get the freed inode and size back */
    off_t size;
    ino_t ino;
    uint8_t *pool; /* the keys as wire labels: a length byte, then the
                      key in lower case */
    size_t pool_len;
    uint32_t *slot;   /* offset in pool + 1 of a key; 0 = free */
    uint32_t mask;    /* slots - 1 */
    uint64_t seed;    /* per set: nobody can aim keys at one chain */
    unsigned count;   /* distinct keys */
    atomic_uint refs; /* snapshots sharing the set */
};

/* Build a key set from the text of a key file; `name` names it in
 * messages ("name:line: reason" in errbuf on ERR_INVAL or ERR_LIMIT). A
 * key given twice counts once. */
int zone_keys_parse(const char *text, size_t len, const char *name, struct zone_keys **out,
                    char *errbuf, size_t errsz);

/* Read and parse a key file, remembering its mtime, size and inode for
 * zone_keys_changed. ERR_IO with "path: reason" when it cannot be read. */
int zone_keys_load(const char *path, struct zone_keys **out, char *errbuf, size_t errsz);

/* Whether `label` (a wire label: length byte, then the bytes, lower case
 * as query names are once parsed) is one of the keys. */
bool zone_keys_has(const struct zone_keys *k, const uint8_t *label);

/* Whether the file changed (mtime, size or inode) or went since it was
 * read; false for a set made by zone_keys_parse alone. */
bool zone_keys_changed(const struct zone_keys *k);

struct zone_keys *zone_keys_ref(struct zone_keys *k);
/* Drop a reference; the last frees the set (NULL is ignored). */
void zone_keys_unref(struct zone_keys *k);

#endif
