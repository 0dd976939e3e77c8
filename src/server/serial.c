/* The book of zone serials, and the rule that moves them on. */
#include "server/serial.h"
#include "data/zone_records.h"
#include "common/err.h"
#include "common/hash.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct serial_entry {
    char *zone; /* lower case, no trailing dot, as struct zone names it */
    uint32_t serial, data_serial;
    uint64_t fingerprint; /* of the data then (serial_fingerprint) */
};

struct serial_book {
    char *path; /* dir/serials, or NULL */
    struct serial_entry *e;
    unsigned n, cap;
    bool dirty;
};

bool serial_gt(uint32_t a, uint32_t b)
{
    return a != b && (uint32_t)(a - b) < 0x80000000u;
}

bool serial_ge(uint32_t a, uint32_t b)
{
    return a == b || serial_gt(a, b);
}

uint32_t serial_next(uint32_t last, uint32_t data_serial)
{
    return serial_gt(data_serial, last) ? data_serial : last + 1;
}

static struct serial_entry *serial_find(struct serial_book *b, const char *zone)
{
    for (unsigned i = 0; i < b->n; i++)
        if (!strcmp(b->e[i].zone, zone))
            return &b->e[i];
    return NULL;
}

static int serial_put(struct serial_book *b, const char *zone, uint32_t serial,
                      uint32_t data_serial, uint64_t fp)
{
    struct serial_entry *e = serial_find(b, zone);
    if (e) {
        if (e->serial != serial || e->data_serial != data_serial || e->fingerprint != fp)
            b->dirty = true;
        e->serial = serial;
        e->data_serial = data_serial;
        e->fingerprint = fp;
        return 0;
    }
    if (b->n == b->cap) {
        unsigned cap = b->cap ? 2 * b->cap : 16;
        struct serial_entry *ne = realloc(b->e, cap * sizeof(*ne));
        if (!ne)
            return ERR_NOMEM;
        b->e = ne;
        b->cap = cap;
    }
    char *z = strdup(zone);
    if (!z)
        return ERR_NOMEM;
    b->e[b->n++] = (struct serial_entry){z, serial, data_serial, fp};
    b->dirty = true;
    return 0;
}

/* "zone serial data-serial fingerprint" per line (the fingerprint in
 * hex); '#' starts a comment. */
static int serial_read(struct serial_book *b)
{
    FILE *f = fopen(b->path, "r");
    if (!f)
        return errno == ENOENT ? 0 : ERR_IO;
    char line[512];
    unsigned lineno = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        char zone[300];
        unsigned long long s, d, fp;
        int used = 0;
        if (line[0] == '#' || line[strspn(line, " \t\r\n")] == '\0')
            continue;
        if (sscanf(line, "%299s %llu %llu %llx %n", zone, &s, &d, &fp, &used) != 4 ||
            line[used] != '\0' || s > UINT32_MAX || d > UINT32_MAX || strchr(line, '-')) {
            log_warning("%s:%u: not \"zone serial data-serial fingerprint\", skipped", b->path,
                        lineno);
            continue;
        }
        if (serial_put(b, zone, (uint32_t)s, (uint32_t)d, (uint64_t)fp) < 0) {
            fclose(f);
            return ERR_NOMEM;
        }
    }
    fclose(f);
    b->dirty = false;
    return 0;
}

int serial_book_open(const char *dir, struct serial_book **out, char *err, size_t errsz)
{
    struct serial_book *b = calloc(1, sizeof(*b));
    if (!b)
        return ERR_NOMEM;
    *out = b;
    if (!dir)
        return 0;
    size_t n = strlen(dir) + sizeof("/" SERIAL_FILE);
    b->path = malloc(n);
    if (!b->path)
        return ERR_NOMEM;
    snprintf(b->path, n, "%s/%s", dir, SERIAL_FILE);
    if (serial_read(b) < 0) {
        snprintf(err, errsz, "cannot read %s: %s", b->path, strerror(errno));
        return ERR_IO;
    }
    /* Prove now that the book can be written, not at the first change. */
    b->dirty = true;
    return serial_book_save(b, err, errsz);
}

uint64_t serial_fingerprint(const struct zone *z)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ ZREC_FORMAT;
    for (unsigned i = 0; i < z->nall; i++)
        h = hash_mix64(h ^ dataset_fingerprint(z->all[i])) + i;
    return h;
}

unsigned serial_book_settle(struct serial_book *b, const struct snapshot *prev,
                            struct snapshot *next)
{
    unsigned changed = 0;
    for (unsigned i = 0; i < next->nzones; i++) {
        struct zone *z = next->zones[i];
        if (!z->loaded)
            continue;
        const struct zone *pz = snapshot_zone(prev, z->apex);
        if (pz && !pz->loaded)
            pz = NULL;
        uint32_t serial;
        uint64_t fp = serial_fingerprint(z);
        if (pz) {
            bool same = pz->nall == z->nall;
            for (unsigned k = 0; same && k < z->nall; k++)
                same = pz->all[k] == z->all[k];
            if (same) {
                serial = pz->serial;
            } else {
                serial = serial_next(pz->serial, z->data_serial);
                changed++;
                if (z->serial_given && serial != z->data_serial)
                    log_warning("zone %s: the $SOA serial %u of the new data is not newer than "
                                "%u, served before; serving serial %u",
                                z->name, z->data_serial, pz->serial, serial);
            }
        } else {
            const struct serial_entry *e = serial_find(b, z->name);
            if (!e || e->fingerprint == fp) {
                /* The same data as when the serial was last served (a
                 * live zone's data serial is the time it was read: not
                 * compared). */
                serial = e ? e->serial : z->data_serial;
            } else {
                serial = serial_next(e->serial, z->data_serial);
                if (z->serial_given && serial != z->data_serial)
                    log_warning("zone %s: the $SOA serial %u of the data is not newer than %u, "
                                "served before the restart; serving serial %u",
                                z->name, z->data_serial, e->serial, serial);
            }
            changed++;
        }
        zone_set_serial(z, serial);
        if (serial_put(b, z->name, serial, z->data_serial, fp) < 0)
            log_error("zone %s: out of memory for its serial", z->name);
    }
    return changed;
}

bool serial_book_dirty(const struct serial_book *b)
{
    return b && b->path && b->dirty;
}

int serial_book_save(struct serial_book *b, char *err, size_t errsz)
{
    if (!b->path || !b->dirty)
        return 0;
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s.new", b->path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        snprintf(err, errsz, "cannot write %s: %s", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        return ERR_IO;
    }
    fprintf(f, "# dnsblkit serve: each zone's last SOA serial, the serial its data said, and a "
               "fingerprint of the data\n");
    for (unsigned i = 0; i < b->n; i++)
        fprintf(f, "%s %" PRIu32 " %" PRIu32 " %016" PRIx64 "\n", b->e[i].zone, b->e[i].serial,
                b->e[i].data_serial, b->e[i].fingerprint);
    int rc = fflush(f) == 0 && fsync(fd) == 0 ? 0 : ERR_IO;
    if (fclose(f) != 0)
        rc = ERR_IO;
    if (rc == 0 && rename(tmp, b->path) != 0)
        rc = ERR_IO;
    if (rc < 0) {
        snprintf(err, errsz, "cannot write %s: %s", b->path, strerror(errno));
        unlink(tmp);
        return rc;
    }
    b->dirty = false;
    return 0;
}

void serial_book_free(struct serial_book *b)
{
    if (!b)
        return;
    for (unsigned i = 0; i < b->n; i++)
        free(b->e[i].zone);
    free(b->e);
    free(b->path);
    free(b);
}
