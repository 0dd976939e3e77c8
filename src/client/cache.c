/* The answer cache of the list client: (name, qtype) -> reply until its
 * TTL runs out, in one allocation of a fixed number of entries. */
#include "client/cache.h"
#include "common/err.h"
#include "common/hash.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* Layout. Entries live in a pool of exactly `entries` records; the hash
 * table holds small slots (the key's hash and a pool reference) and has
 * at least twice as many slots as the pool has records, so linear
 * probing never runs above half load. Deletion shifts the following
 * entries of a run back (no tombstones), so a lookup stops at the first
 * empty slot and runs never grow with churn. An expired entry stays in
 * place until its key is asked for or stored again, or until a new key
 * needs its room; to the caller it is absent. */
#define CACHE_MIN_ENTRIES 16
#define CACHE_MAX_ENTRIES (1u << 28)
#define CACHE_NAME_MAX 253
/* When the pool is full, a new key replaces the entry that expires first
 * among this many entries found from its home slot on. */
#define CACHE_EVICT_WINDOW 8

struct cache_slot {
    uint32_t hash;
    uint32_t ref; /* pool index + 1; 0: empty */
};

struct cache_entry {
    int64_t expires_ms; /* valid while now_ms < expires_ms */
    uint32_t next_free; /* pool index + 1 of the next free record; 0: none */
    uint16_t qtype;
    uint8_t namelen;
    char name[CACHE_NAME_MAX + 1]; /* case-folded, no trailing dot */
    struct reply rep;
};

struct cache {
    struct cache_slot *slot;
    struct cache_entry *pool;
    size_t mask; /* slots - 1 */
    size_t entries;
    uint32_t free_head; /* pool index + 1 of a freed record; 0: none */
    /* Records never used yet start here: the pool is not walked at
     * creation, so its pages stay untouched (and unmapped) until used. */
    size_t fresh;
    uint64_t seed;
    uint64_t hits, misses, stores, evictions;
    size_t used;
};

/* A key as the table sees it: the name folded and measured once. */
struct cache_key {
    char name[CACHE_NAME_MAX + 1];
    uint8_t len;
    uint16_t qtype;
    uint32_t hash;
};

int cache_new(size_t entries, struct cache **out)
{
    *out = NULL;
    if (entries < CACHE_MIN_ENTRIES)
        entries = CACHE_MIN_ENTRIES;
    if (entries > CACHE_MAX_ENTRIES || entries > SIZE_MAX / 4 / sizeof(struct cache_entry))
        return ERR_NOMEM;
    size_t nslots = 1;
    while (nslots < 2 * entries)
        nslots <<= 1;
    /* One allocation: the header, the pool, the slots, each aligned for
     * its type (the pool needs the 8-byte alignment of its times). */
    size_t pool_off = (sizeof(struct cache) + 15) & ~(size_t)15;
    size_t slot_off = pool_off + entries * sizeof(struct cache_entry);
    slot_off = (slot_off + 15) & ~(size_t)15;
    size_t total = slot_off + nslots * sizeof(struct cache_slot);
    unsigned char *mem = calloc(1, total);
    if (!mem)
        return ERR_NOMEM;
    struct cache *c = (struct cache *)(void *)mem;
    c->pool = (struct cache_entry *)(void *)(mem + pool_off);
    c->slot = (struct cache_slot *)(void *)(mem + slot_off);
    c->mask = nslots - 1;
    c->entries = entries;
    c->free_head = 0;
    c->fresh = 0;
    /* Names are chosen by whoever connects to the mail host; a secret
     * seed keeps them from choosing names that share one run. Without
     * randomness the cache still works, its hash is only predictable. */
    if (getrandom(&c->seed, sizeof(c->seed), GRND_NONBLOCK) != (ssize_t)sizeof(c->seed))
        c->seed = (uint64_t)(uintptr_t)mem ^ 0x9e3779b97f4a7c15ull;
    *out = c;
    return 0;
}

void cache_free(struct cache *c)
{
    free(c);
}

static char cache_fold(char ch)
{
    return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

/* Fold name into out (ASCII case only, as DNS compares) and drop one
 * trailing dot. False when it is longer than a DNS name can be. */
static bool cache_norm(const char *name, char out[CACHE_NAME_MAX + 1], uint8_t *outlen)
{
    size_t len = strnlen(name, CACHE_NAME_MAX + 2);
    if (len > 1 && name[len - 1] == '.')
        len--;
    if (len > CACHE_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        out[i] = cache_fold(name[i]);
    out[len] = '\0';
    *outlen = (uint8_t)len;
    return true;
}

static bool cache_key(const struct cache *c, const char *name, uint16_t qtype, struct cache_key *k)
{
    if (!cache_norm(name, k->name, &k->len))
        return false;
    k->qtype = qtype;
    uint64_t h = c->seed ^ qtype;
    for (size_t i = 0; i < k->len; i++)
        h = (h ^ (unsigned char)k->name[i]) * 0x100000001b3ull;
    h = hash_mix64(h ^ k->len);
    k->hash = (uint32_t)h;
    return true;
}

static size_t cache_home(const struct cache *c, uint32_t hash)
{
    return hash & c->mask;
}

static bool cache_match(const struct cache *c, size_t i, const struct cache_key *k)
{
    const struct cache_slot *s = &c->slot[i];
    if (s->hash != k->hash)
        return false;
    const struct cache_entry *e = &c->pool[s->ref - 1];
    return e->qtype == k->qtype && e->namelen == k->len && memcmp(e->name, k->name, k->len) == 0;
}

/* Empty slot i, return its record to the pool, and shift back the rest
 * of the run: a lookup stops at an empty slot, so every later entry of
 * the run whose home is at or before the hole moves into it (and leaves
 * a new hole behind); one whose home lies after the hole stays. */
static void cache_remove(struct cache *c, size_t i)
{
    uint32_t ref = c->slot[i].ref;
    c->pool[ref - 1].next_free = c->free_head;
    c->free_head = ref;
    c->used--;
    size_t hole = i, j = i;
    for (;;) {
        j = (j + 1) & c->mask;
        if (c->slot[j].ref == 0)
            break;
        size_t home = cache_home(c, c->slot[j].hash);
        /* Distances along the run, modulo the table size: the entry at j
         * may stay when its home is after the hole. */
        if (((j - home) & c->mask) < ((j - hole) & c->mask))
            continue;
        c->slot[hole] = c->slot[j];
        hole = j;
    }
    c->slot[hole].hash = 0;
    c->slot[hole].ref = 0;
}

/* The slot holding k, or SIZE_MAX. */
static size_t cache_find(const struct cache *c, const struct cache_key *k)
{
    for (size_t i = cache_home(c, k->hash);; i = (i + 1) & c->mask) {
        if (c->slot[i].ref == 0)
            return SIZE_MAX;
        if (cache_match(c, i, k))
            return i;
    }
}

bool cache_get(struct cache *c, const char *name, uint16_t qtype, int64_t now_ms, struct reply *out)
{
    struct cache_key k;
    size_t i;
    if (!cache_key(c, name, qtype, &k) || (i = cache_find(c, &k)) == SIZE_MAX) {
        c->misses++;
        return false;
    }
    const struct cache_entry *e = &c->pool[c->slot[i].ref - 1];
    if (now_ms >= e->expires_ms) {
        cache_remove(c, i);
        c->misses++;
        return false;
    }
    *out = e->rep;
    c->hits++;
    return true;
}

/* Make room for one more entry when the pool is full: remove, among the
 * first CACHE_EVICT_WINDOW entries from slot `from` on, the one that
 * expires first. An expired one is reclaimed, a live one evicted. */
static void cache_make_room(struct cache *c, size_t from, int64_t now_ms)
{
    size_t victim = SIZE_MAX;
    int64_t soonest = INT64_MAX;
    unsigned seen = 0;
    /* The pool is full, so at least `entries` slots are taken: the walk
     * ends before it comes around. */
    for (size_t i = from; seen < CACHE_EVICT_WINDOW; i = (i + 1) & c->mask) {
        if (c->slot[i].ref == 0)
            continue;
        seen++;
        int64_t t = c->pool[c->slot[i].ref - 1].expires_ms;
        if (victim == SIZE_MAX || t < soonest) {
            victim = i;
            soonest = t;
        }
    }
    if (soonest > now_ms)
        c->evictions++;
    cache_remove(c, victim);
}

void cache_put(struct cache *c, const char *name, uint16_t qtype, const struct reply *rep,
               uint32_t ttl, int64_t now_ms)
{
    struct cache_key k;
    if (!cache_key(c, name, qtype, &k))
        return;
    /* Walk the key's run: it may be there already (replace it in place),
     * and an expired entry on the way is free room for it. */
    size_t i = cache_home(c, k.hash), expired = SIZE_MAX;
    for (; c->slot[i].ref != 0; i = (i + 1) & c->mask) {
        if (cache_match(c, i, &k))
            break;
        if (expired == SIZE_MAX && c->pool[c->slot[i].ref - 1].expires_ms <= now_ms)
            expired = i;
    }
    if (ttl == 0) {
        if (c->slot[i].ref != 0)
            cache_remove(c, i);
        return;
    }
    int64_t life = (int64_t)ttl * 1000;
    int64_t expires = now_ms > INT64_MAX - life ? INT64_MAX : now_ms + life;

    struct cache_entry *e;
    if (c->slot[i].ref != 0) {
        e = &c->pool[c->slot[i].ref - 1];
    } else if (expired != SIZE_MAX) {
        /* The expired entry lies between the key's home and the first
         * empty slot, so a lookup of the key finds it there; the slot
         * stays taken, so no other run changes. */
        c->slot[expired].hash = k.hash;
        e = &c->pool[c->slot[expired].ref - 1];
    } else {
        if (c->free_head == 0 && c->fresh == c->entries) {
            size_t home = cache_home(c, k.hash);
            cache_make_room(c, home, now_ms);
            /* The removal shifted the run: find its end again. */
            for (i = home; c->slot[i].ref != 0; i = (i + 1) & c->mask)
                ;
        }
        uint32_t ref;
        if (c->free_head) {
            ref = c->free_head;
            c->free_head = c->pool[ref - 1].next_free;
        } else {
            ref = (uint32_t)++c->fresh;
        }
        e = &c->pool[ref - 1];
        c->slot[i].hash = k.hash;
        c->slot[i].ref = ref;
        c->used++;
    }
    e->expires_ms = expires;
    e->next_free = 0;
    e->qtype = qtype;
    e->namelen = k.len;
    memcpy(e->name, k.name, (size_t)k.len + 1);
    e->rep = *rep;
    c->stores++;
}

/* Whether the folded name is zone or below it. */
static bool cache_in_zone(const struct cache_entry *e, const char *zone, size_t zlen)
{
    if (e->namelen == zlen)
        return memcmp(e->name, zone, zlen) == 0;
    if (zlen == 0 || e->namelen <= zlen)
        return false;
    return e->name[e->namelen - zlen - 1] == '.' &&
           memcmp(e->name + e->namelen - zlen, zone, zlen) == 0;
}

void cache_drop_zone(struct cache *c, const char *zone)
{
    char z[CACHE_NAME_MAX + 1];
    uint8_t zlen;
    if (!cache_norm(zone, z, &zlen))
        return;
    /* A removal may shift a later entry of the run into slot i, so i is
     * looked at again before moving on. An entry shifted across the end
     * of the table lands before i only if it came from slot 0 onwards,
     * which were looked at already. */
    for (size_t i = 0; i <= c->mask;) {
        if (c->slot[i].ref != 0 && cache_in_zone(&c->pool[c->slot[i].ref - 1], z, zlen))
            cache_remove(c, i);
        else
            i++;
    }
}

void cache_stats(const struct cache *c, struct cache_stats *out)
{
    out->hits = c->hits;
    out->misses = c->misses;
    out->stores = c->stores;
    out->evictions = c->evictions;
    out->used = c->used;
    out->capacity = c->entries;
}

/* For the unit tests only (not part of cache.h): the home slot of a key,
 * so a test can choose keys that collide. SIZE_MAX for a name too long. */
size_t cache_test_home(const struct cache *c, const char *name, uint16_t qtype);
size_t cache_test_home(const struct cache *c, const char *name, uint16_t qtype)
{
    struct cache_key k;
    if (!cache_key(c, name, qtype, &k))
        return SIZE_MAX;
    return cache_home(c, k.hash);
}
