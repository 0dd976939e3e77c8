/* The IXFR history of a zone in a file of state-dir. */
#include "server/xfr_store.h"
#include "common/err.h"
#include "common/hash.h"
#include "common/name.h"
#include "server/serial.h"
#include "server/xfr_journal.h"
#include "wire/wire.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* "DBKIXFR" and the format's version. Then, big-endian: the apex (length
 * byte, wire name), the digest (8), the data fingerprint (8), the count
 * of differences (4); each difference: from, to (4 each), the SOAs
 * before and after (length 2, RDATA, TTL 4), records gone and come, the
 * new version's records (8 each), the lengths of the packed records gone
 * and come (8 each) and those records (xfr_delta.h); last the CRC-32 of
 * all before it (4). */
static const uint8_t xfr_store_magic[8] = {'D', 'B', 'K', 'I', 'X', 'F', 'R', '1'};

/* A file bigger than this is not ours: the history's budget (16 bytes
 * per record of a zone of at most transfer-max-records) stays far below. */
#define XFR_STORE_MAX_BYTES (1ull << 30)

int xfr_store_path(const char *dir, const struct zone *z, char *out, size_t outsz)
{
    /* Names of letters, digits, '-', '_' and inner dots only: nothing a
     * path could read otherwise. */
    const char *n = z->name;
    if (!n[0] || n[0] == '.')
        return ERR_INVAL;
    for (const char *c = n; *c; c++) {
        bool ok = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' ||
                  (*c == '.' && c[1] != '.');
        if (!ok)
            return ERR_INVAL;
    }
    int w = snprintf(out, outsz, "%s/ixfr-%s", dir, n);
    return w > 0 && (size_t)w < outsz ? 0 : ERR_RANGE;
}

uint64_t xfr_store_zone_digest(const struct zone *z, uint32_t ttl_min, uint32_t ttl_max)
{
    uint64_t h = hash_mix64(0x6a09e667f3bcc908ull ^ ttl_min) + ttl_max;
    h = hash_mix64(h ^ z->soa_ttl) + z->ns.ttl;
    for (unsigned i = 0; i < z->ns.count; i++) {
        const uint8_t *p = z->ns.name[i];
        size_t len = name_wire_len(p);
        for (size_t k = 0; k < len; k++)
            h = hash_mix64(h ^ p[k]) + k;
        h = hash_mix64(h ^ i);
    }
    return h;
}

/* ---- writing ---------------------------------------------------------------- */

struct xfr_store_out {
    FILE *f;
    uLong crc;
};

static void xfr_store_put(struct xfr_store_out *o, const void *p, size_t n)
{
    /* zlib's crc32 takes uInt lengths: the records go in slices. */
    const uint8_t *b = p;
    size_t left = n;
    while (left) {
        uInt k = left > (1u << 30) ? (1u << 30) : (uInt)left;
        o->crc = crc32(o->crc, b, k);
        b += k;
        left -= k;
    }
    fwrite(p, 1, n, o->f);
}

static void xfr_store_u16(struct xfr_store_out *o, uint16_t v)
{
    uint8_t b[2];
    wire_put16(b, v);
    xfr_store_put(o, b, 2);
}

static void xfr_store_u32(struct xfr_store_out *o, uint32_t v)
{
    uint8_t b[4];
    wire_put32(b, v);
    xfr_store_put(o, b, 4);
}

static void xfr_store_u64(struct xfr_store_out *o, uint64_t v)
{
    xfr_store_u32(o, (uint32_t)(v >> 32));
    xfr_store_u32(o, (uint32_t)v);
}

static void xfr_store_soa(struct xfr_store_out *o, const uint8_t *rdata, uint16_t len, uint32_t ttl)
{
    xfr_store_u16(o, len);
    xfr_store_put(o, rdata, len);
    xfr_store_u32(o, ttl);
}

int xfr_store_save(const char *path, const struct zone *z, uint64_t digest,
                   struct xfr_delta *const *d, unsigned n, char *why, size_t whysz)
{
    char tmp[PATH_MAX];
    /* '~' is in no zone's file name: no other zone's file is hit. */
    if (snprintf(tmp, sizeof(tmp), "%s.new~", path) >= (int)sizeof(tmp)) {
        snprintf(why, whysz, "%s: path too long", path);
        return ERR_RANGE;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    struct xfr_store_out o = {fd >= 0 ? fdopen(fd, "w") : NULL, crc32(0, Z_NULL, 0)};
    if (!o.f) {
        snprintf(why, whysz, "cannot write %s: %s", tmp, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        return ERR_IO;
    }
    xfr_store_put(&o, xfr_store_magic, sizeof(xfr_store_magic));
    uint8_t alen = (uint8_t)z->apex_len;
    xfr_store_put(&o, &alen, 1);
    xfr_store_put(&o, z->apex, z->apex_len);
    xfr_store_u64(&o, digest);
    xfr_store_u64(&o, serial_fingerprint(z));
    xfr_store_u32(&o, n);
    for (unsigned i = 0; i < n; i++) {
        xfr_store_u32(&o, d[i]->from);
        xfr_store_u32(&o, d[i]->to);
        xfr_store_soa(&o, d[i]->soa_from, d[i]->soa_from_len, d[i]->soa_from_ttl);
        xfr_store_soa(&o, d[i]->soa_to, d[i]->soa_to_len, d[i]->soa_to_ttl);
        xfr_store_u64(&o, d[i]->ndel);
        xfr_store_u64(&o, d[i]->nadd);
        xfr_store_u64(&o, d[i]->to_records);
        xfr_store_u64(&o, d[i]->del_len);
        xfr_store_u64(&o, d[i]->add_len);
        if (d[i]->del_len)
            xfr_store_put(&o, d[i]->del, d[i]->del_len);
        if (d[i]->add_len)
            xfr_store_put(&o, d[i]->add, d[i]->add_len);
    }
    uint8_t crc[4];
    wire_put32(crc, (uint32_t)o.crc);
    fwrite(crc, 1, 4, o.f);
    int rc = !ferror(o.f) && fflush(o.f) == 0 && fsync(fd) == 0 ? 0 : ERR_IO;
    if (fclose(o.f) != 0)
        rc = ERR_IO;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = ERR_IO;
    if (rc) {
        snprintf(why, whysz, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
    }
    return rc;
}

/* ---- reading ---------------------------------------------------------------- */

struct xfr_store_in {
    const uint8_t *p;
    size_t left;
    bool short_read;
};

static const uint8_t *xfr_store_take(struct xfr_store_in *in, uint64_t n)
{
    if (in->short_read || n > in->left) {
        in->short_read = true;
        return NULL;
    }
    const uint8_t *p = in->p;
    in->p += n;
    in->left -= n;
    return p;
}

static uint16_t xfr_store_get16(struct xfr_store_in *in)
{
    const uint8_t *p = xfr_store_take(in, 2);
    return p ? wire_get16(p) : 0;
}

static uint32_t xfr_store_get32(struct xfr_store_in *in)
{
    const uint8_t *p = xfr_store_take(in, 4);
    return p ? wire_get32(p) : 0;
}

static uint64_t xfr_store_get64(struct xfr_store_in *in)
{
    uint64_t hi = xfr_store_get32(in);
    return hi << 32 | xfr_store_get32(in);
}

/* Whether p[0..len) is one whole wire name. */
static bool xfr_store_name_ok(const uint8_t *p, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t l = p[i];
        if (l == 0)
            return i + 1 == len;
        if (l > 63)
            return false;
        i += 1u + l;
    }
    return false;
}

/* Whether buf[0..len) is exactly `count` packed records (xfr_delta.h). */
static bool xfr_store_records_ok(const uint8_t *buf, uint64_t len, uint64_t count)
{
    uint64_t pos = 0, seen = 0;
    while (pos < len) {
        uint8_t olen = buf[pos];
        if (olen == 0 || len - pos < 1u + olen + 8u || !xfr_store_name_ok(buf + pos + 1, olen))
            return false;
        uint16_t rdlen = wire_get16(buf + pos + 1 + olen + 6);
        pos += 1u + olen + 8u;
        if (len - pos < rdlen)
            return false;
        pos += rdlen;
        seen++;
    }
    return seen == count;
}

static bool xfr_store_soa_get(struct xfr_store_in *in, uint8_t *rdata, uint16_t *len, uint32_t *ttl)
{
    *len = xfr_store_get16(in);
    const uint8_t *p = *len <= ZONE_SOA_RDMAX ? xfr_store_take(in, *len) : NULL;
    if (!p)
        return false;
    memcpy(rdata, p, *len);
    *ttl = xfr_store_get32(in);
    /* The serial sits in the last 20 bytes, after two names. */
    return !in->short_read && *len >= 22;
}

static int xfr_store_bad(char *why, size_t whysz, const char *what)
{
    snprintf(why, whysz, "%s", what);
    return ERR_FORMAT;
}

/* One difference from in; ERR_FORMAT with why. */
static int xfr_store_delta(struct xfr_store_in *in, struct xfr_delta *d, char *why, size_t whysz)
{
    d->from = xfr_store_get32(in);
    d->to = xfr_store_get32(in);
    if (!xfr_store_soa_get(in, d->soa_from, &d->soa_from_len, &d->soa_from_ttl) ||
        !xfr_store_soa_get(in, d->soa_to, &d->soa_to_len, &d->soa_to_ttl))
        return xfr_store_bad(why, whysz, "a difference's SOA is damaged");
    if (wire_get32(d->soa_from + d->soa_from_len - 20) != d->from ||
        wire_get32(d->soa_to + d->soa_to_len - 20) != d->to)
        return xfr_store_bad(why, whysz, "a difference's SOA has another serial than it");
    d->ndel = xfr_store_get64(in);
    d->nadd = xfr_store_get64(in);
    d->to_records = xfr_store_get64(in);
    uint64_t del_len = xfr_store_get64(in), add_len = xfr_store_get64(in);
    const uint8_t *del = xfr_store_take(in, del_len);
    const uint8_t *add = xfr_store_take(in, add_len);
    if (in->short_read)
        return xfr_store_bad(why, whysz, "the file ends inside a difference");
    if (!xfr_store_records_ok(del, del_len, d->ndel) ||
        !xfr_store_records_ok(add, add_len, d->nadd))
        return xfr_store_bad(why, whysz, "a difference's records are damaged");
    d->del = del_len ? malloc(del_len) : NULL;
    d->add = add_len ? malloc(add_len) : NULL;
    if ((del_len && !d->del) || (add_len && !d->add)) {
        snprintf(why, whysz, "out of memory");
        return ERR_NOMEM;
    }
    if (del_len)
        memcpy(d->del, del, del_len);
    if (add_len)
        memcpy(d->add, add, add_len);
    d->del_len = d->del_cap = del_len;
    d->add_len = d->add_cap = add_len;
    return 0;
}

int xfr_store_parse(const uint8_t *buf, size_t len, const struct zone *z, uint64_t digest,
                    struct xfr_delta ***out, unsigned *n, char *why, size_t whysz)
{
    *out = NULL;
    *n = 0;
    if (len < sizeof(xfr_store_magic) + 4 || memcmp(buf, xfr_store_magic, 8) != 0)
        return xfr_store_bad(why, whysz, "not an IXFR history file of this version");
    size_t body = len - 4;
    uLong crc = crc32(0, Z_NULL, 0);
    for (size_t off = 0; off < body;) {
        uInt k = body - off > (1u << 30) ? (1u << 30) : (uInt)(body - off);
        crc = crc32(crc, buf + off, k);
        off += k;
    }
    if ((uint32_t)crc != wire_get32(buf + body))
        return xfr_store_bad(why, whysz, "checksum mismatch (a torn or damaged file)");
    struct xfr_store_in in = {buf + 8, body - 8, false};
    const uint8_t *alen = xfr_store_take(&in, 1);
    const uint8_t *apex = alen ? xfr_store_take(&in, *alen) : NULL;
    uint64_t file_digest = xfr_store_get64(&in), fp = xfr_store_get64(&in);
    uint32_t count = xfr_store_get32(&in);
    if (in.short_read || !xfr_store_name_ok(apex, *alen))
        return xfr_store_bad(why, whysz, "the header is damaged");
    /* Each difference takes at least 80 bytes: a count beyond that is
     * damage, not a reason to allocate. */
    if (count > in.left / 80)
        return xfr_store_bad(why, whysz, "more differences than the file holds");
    if (z && !name_equal(apex, z->apex))
        return xfr_store_bad(why, whysz, "the file is another zone's");
    struct xfr_delta **d = calloc(count ? count : 1, sizeof(*d));
    if (!d) {
        snprintf(why, whysz, "out of memory");
        return ERR_NOMEM;
    }
    int rc = 0;
    unsigned got = 0;
    for (; got < count && rc == 0; got++) {
        if (!(d[got] = xfr_delta_new())) {
            snprintf(why, whysz, "out of memory");
            rc = ERR_NOMEM;
            break;
        }
        rc = xfr_store_delta(&in, d[got], why, whysz);
        if (rc == 0 && got > 0 && d[got - 1]->to != d[got]->from)
            rc = xfr_store_bad(why, whysz, "the differences do not follow each other");
    }
    if (rc == 0 && in.left != 0)
        rc = xfr_store_bad(why, whysz, "bytes after the last difference");
    if (rc == 0 && z) {
        const struct xfr_delta *last = count ? d[count - 1] : NULL;
        rc = ERR_EXISTS;
        if (file_digest != digest)
            snprintf(why, whysz, "the zone's NS records, SOA TTL or the TTL limits changed");
        else if (!last || last->to != z->serial)
            snprintf(why, whysz, "it ends at serial %u, the zone is at %u", last ? last->to : 0,
                     z->serial);
        else if (fp != serial_fingerprint(z))
            snprintf(why, whysz, "the zone's data is not what it was at serial %u", z->serial);
        else if (last->soa_to_len != z->soa_rdlen ||
                 memcmp(last->soa_to, z->soa_rdata, z->soa_rdlen) != 0)
            snprintf(why, whysz, "the zone's SOA changed");
        else
            rc = 0;
    }
    if (rc) {
        xfr_journal_chain_free(d, got);
        return rc;
    }
    *out = d;
    *n = count;
    return 0;
}

int xfr_store_load(const char *path, const struct zone *z, uint64_t digest, struct xfr_delta ***out,
                   unsigned *n, char *why, size_t whysz)
{
    *out = NULL;
    *n = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, whysz, "%s: %s", path, strerror(errno));
        return errno == ENOENT ? ERR_NOTFOUND : ERR_IO;
    }
    struct stat st;
    uint8_t *buf = NULL;
    int rc = ERR_IO;
    if (fstat(fd, &st) != 0) {
        snprintf(why, whysz, "%s: %s", path, strerror(errno));
    } else if ((uint64_t)st.st_size > XFR_STORE_MAX_BYTES) {
        snprintf(why, whysz, "%s: too big for an IXFR history", path);
        rc = ERR_FORMAT;
    } else if (!(buf = malloc(st.st_size ? (size_t)st.st_size : 1))) {
        snprintf(why, whysz, "out of memory");
        rc = ERR_NOMEM;
    } else {
        size_t got = 0;
        ssize_t r = 1;
        while (got < (size_t)st.st_size && (r = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
            got += (size_t)r;
        if (r < 0)
            snprintf(why, whysz, "%s: %s", path, strerror(errno));
        else
            rc = xfr_store_parse(buf, got, z, digest, out, n, why, whysz);
    }
    free(buf);
    close(fd);
    return rc;
}
