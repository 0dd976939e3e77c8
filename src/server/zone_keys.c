/* Key files of keyed zones: parsing, the lookup table, change checks. */
#include "server/zone_keys.h"
#include "common/err.h"
#include "common/hash.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

/* A label's hash: its bytes in 8-byte words through the mixer, seeded. */
static uint64_t zone_keys_hash(uint64_t seed, const uint8_t *label)
{
    unsigned len = label[0];
    uint64_t h = hash_mix64(seed ^ len);
    for (unsigned i = 0; i < len; i += 8) {
        uint64_t w = 0;
        unsigned n = len - i < 8 ? len - i : 8;
        memcpy(&w, label + 1 + i, n);
        h = hash_mix64(h ^ w);
    }
    return h;
}

/* The slot holding the label, or the free slot where it would go. */
static uint32_t *zone_keys_find(const struct zone_keys *k, const uint8_t *label)
{
    for (uint64_t i = zone_keys_hash(k->seed, label) & k->mask;; i = (i + 1) & k->mask) {
        uint32_t *s = &k->slot[i];
        if (*s == 0)
            return s;
        const uint8_t *have = k->pool + *s - 1;
        if (have[0] == label[0] && !memcmp(have + 1, label + 1, label[0]))
            return s;
    }
}

bool zone_keys_has(const struct zone_keys *k, const uint8_t *label)
{
    if (label[0] < ZONE_KEY_MIN || label[0] > ZONE_KEY_MAX)
        return false;
    return *zone_keys_find(k, label) != 0;
}

static bool zone_keys_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

static bool zone_keys_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static void zone_keys_free(struct zone_keys *k)
{
    free(k->path);
    free(k->pool);
    free(k->slot);
    free(k);
}

/* One line [p, end): a key, nothing, or an error. *key is set to the
 * key's first byte and *klen to its length (0 for none). */
static int zone_keys_line(const char *p, const char *end, const char **key, size_t *klen,
                          const char **why)
{
    *klen = 0;
    while (p < end && zone_keys_blank(*p))
        p++;
    if (p == end || *p == '#')
        return 0;
    const char *k = p;
    while (p < end && !zone_keys_blank(*p) && *p != '#')
        p++;
    size_t n = (size_t)(p - k);
    while (p < end && zone_keys_blank(*p))
        p++;
    if (p < end && *p != '#') {
        *why = "one key per line";
        return ERR_INVAL;
    }
    for (size_t i = 0; i < n; i++)
        if (!zone_keys_char(k[i])) {
            *why = "bad key";
            return ERR_INVAL;
        }
    if (n < ZONE_KEY_MIN || n > ZONE_KEY_MAX) {
        *why = "bad key";
        return ERR_INVAL;
    }
    *key = k;
    *klen = n;
    return 0;
}

int zone_keys_parse(const char *text, size_t len, const char *name, struct zone_keys **out,
                    char *errbuf, size_t errsz)
{
    *out = NULL;
    const char *end = text + len;
    /* A first pass counts the lines: enough slots and pool for all. */
    size_t lines = 1;
    for (const char *p = text; p < end; p++)
        lines += *p == '\n';
    /* Offsets into the pool are 32 bits. */
    if (lines > ZONE_KEYS_MAX_COUNT || len > UINT32_MAX / 2) {
        snprintf(errbuf, errsz, "%s: more than %u lines or 2 GiB", name, ZONE_KEYS_MAX_COUNT);
        return ERR_LIMIT;
    }
    struct zone_keys *k = calloc(1, sizeof(*k));
    if (!k)
        return ERR_NOMEM;
    atomic_init(&k->refs, 1);
    uint64_t nslots = 16;
    while (nslots < 2 * (uint64_t)lines)
        nslots *= 2;
    k->slot = calloc(nslots, sizeof(*k->slot));
    /* Each key takes at most its line and a length byte. */
    k->pool = malloc(len + lines + 1);
    if (!k->slot || !k->pool) {
        zone_keys_free(k);
        return ERR_NOMEM;
    }
    k->mask = (uint32_t)(nslots - 1);
    if (getrandom(&k->seed, sizeof(k->seed), GRND_NONBLOCK) != (ssize_t)sizeof(k->seed))
        k->seed = (uint64_t)(uintptr_t)k->slot ^ 0x9e3779b97f4a7c15ull;

    unsigned lineno = 0;
    for (const char *p = text; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        lineno++;
        const char *key = NULL, *why = NULL;
        size_t n;
        if (zone_keys_line(p, le, &key, &n, &why) < 0) {
            const char *s = p;
            while (s < le && zone_keys_blank(*s))
                s++;
            int show = (int)(le - s) > 64 ? 64 : (int)(le - s);
            if (!strcmp(why, "bad key"))
                snprintf(errbuf, errsz,
                         "%s:%u: bad key '%.*s' (%d to %d letters, digits, '-' or '_')", name,
                         lineno, show, s, ZONE_KEY_MIN, ZONE_KEY_MAX);
            else
                snprintf(errbuf, errsz, "%s:%u: %s: '%.*s'", name, lineno, why, show, s);
            zone_keys_free(k);
            return ERR_INVAL;
        }
        p = nl ? nl + 1 : end;
        if (n == 0)
            continue;
        uint8_t *label = k->pool + k->pool_len;
        label[0] = (uint8_t)n;
        for (size_t i = 0; i < n; i++)
            label[1 + i] = (uint8_t)(key[i] >= 'A' && key[i] <= 'Z' ? key[i] + 32 : key[i]);
        uint32_t *s = zone_keys_find(k, label);
        if (*s)
            continue; /* given before */
        *s = (uint32_t)k->pool_len + 1;
        k->pool_len += 1 + n;
        k->count++;
    }
    *out = k;
    return 0;
}

int zone_keys_load(const char *path, struct zone_keys **out, char *errbuf, size_t errsz)
{
    *out = NULL;
    struct stat st;
    FILE *f = fopen(path, "rb");
    if (!f || fstat(fileno(f), &st) != 0) {
        snprintf(errbuf, errsz, "%s: cannot read: %s", path, strerror(errno));
        if (f)
            fclose(f);
        return ERR_IO;
    }
    /* What the file is now: a change while it is read shows at the next
     * check. */
    size_t cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096, len = 0;
    char *text = malloc(cap);
    int rc = text ? 0 : ERR_NOMEM;
    while (rc == 0) {
        if (len == cap) {
            char *n = realloc(text, cap * 2);
            if (!n) {
                rc = ERR_NOMEM;
                break;
            }
            text = n;
            cap *= 2;
        }
        size_t got = fread(text + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) {
                snprintf(errbuf, errsz, "%s: cannot read: %s", path, strerror(errno));
                rc = ERR_IO;
            }
            break;
        }
    }
    fclose(f);
    if (rc == 0)
        rc = zone_keys_parse(text, len, path, out, errbuf, errsz);
    free(text);
    if (rc < 0)
        return rc;
    (*out)->path = strdup(path);
    if (!(*out)->path) {
        zone_keys_free(*out);
        *out = NULL;
        return ERR_NOMEM;
    }
    (*out)->mtime = st.st_mtime;
    (*out)->mtime_ns = st.st_mtim.tv_nsec;
    (*out)->size = st.st_size;
    (*out)->ino = st.st_ino;
    return 0;
}

bool zone_keys_changed(const struct zone_keys *k)
{
    if (!k->path)
        return false;
    struct stat st;
    if (stat(k->path, &st) != 0)
        return true;
    return st.st_mtime != k->mtime || st.st_mtim.tv_nsec != k->mtime_ns || st.st_size != k->size ||
           st.st_ino != k->ino;
}

struct zone_keys *zone_keys_ref(struct zone_keys *k)
{
    atomic_fetch_add_explicit(&k->refs, 1, memory_order_relaxed);
    return k;
}

void zone_keys_unref(struct zone_keys *k)
{
    if (k && atomic_fetch_sub_explicit(&k->refs, 1, memory_order_acq_rel) == 1)
        zone_keys_free(k);
}
