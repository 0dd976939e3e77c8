/* Datasets: the loaded contents of one rbldnsd-style "type:file[,file]"
 * specification, behind one ops table per type (ip4set, ip4tset, ip4trie,
 * ip6tset, ip6trie, dnset, generic, combined, acl).
 *
 * A dataset is built once (create, one `line` call per data line, finish)
 * and is immutable afterwards: queries run concurrently from many threads
 * without locks and must not allocate. The server turns the records a
 * query returns into DNS wire format; datasets never see packets. */
#ifndef DBK_DATA_DATASET_H
#define DBK_DATA_DATASET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/name.h"

/* DNS types and classes the data layer knows (values from RFC 1035 etc.). */
enum {
    DNS_TYPE_A = 1,
    DNS_TYPE_NS = 2,
    DNS_TYPE_CNAME = 5,
    DNS_TYPE_SOA = 6,
    DNS_TYPE_PTR = 12,
    DNS_TYPE_MX = 15,
    DNS_TYPE_TXT = 16,
    DNS_TYPE_AAAA = 28,
    DNS_TYPE_OPT = 41,
    DNS_TYPE_IXFR = 251,
    DNS_TYPE_AXFR = 252,
    DNS_TYPE_ANY = 255,
};

/* Which kinds of query names a dataset answers: reversed IPv4 octets,
 * reversed IPv6 nibbles, or domain names. Used for the RFC 5782 test
 * entries and for empty non-terminals. */
enum ds_family {
    DS_FAM_IP4 = 1,
    DS_FAM_IP6 = 2,
    DS_FAM_NAME = 4,
};

/* One query, decoded once by ds_query_init and shared by every dataset of
 * the zone. `sub` is the part of the query name left of the zone apex. */
struct ds_query {
    const uint8_t *sub; /* wire labels, lower case, NOT root-terminated */
    size_t sublen;      /* bytes in sub; 0 = the zone apex itself */
    unsigned sublabels; /* labels in sub */

    /* sub as reversed IPv4 octets ("4.3.2.1" -> 1.2.3.4): ip4_octets is the
     * number of octets given (0 = not an IPv4 name, 4 = a full address) and
     * ip4 holds them high-aligned in host order (3 octets "3.2.1" ->
     * 0x01020300). */
    unsigned ip4_octets;
    uint32_t ip4;

    /* sub as reversed IPv6 nibbles: ip6_nibbles is how many were given (0 =
     * not an IPv6 name, 32 = a full address), ip6 holds them high-aligned. */
    unsigned ip6_nibbles;
    uint8_t ip6[16];

    /* Answer as the data stood when this version of the dataset was built
     * (its timestamp), not as the clock says now: zone transfers ask so,
     * since a version's records must not change after it is published,
     * as time-limited listings otherwise would (ds_query_init: false). */
    bool as_built;

    /* The querying client, for acl datasets. */
    int client_family; /* AF_INET, AF_INET6, or 0 when unknown */
    uint32_t client_ip4;
    uint8_t client_ip6[16];

    /* Texts that replace '$' in TXT templates, filled by ds_query_init:
     * ip_text is the address in question ("1.2.3.4", RFC 5952 for IPv6)
     * when the name is a full IPv4 or IPv6 address, else empty; name_text
     * is `sub` as text without the zone ("example.com"); client_text is the
     * client address (ds_query_set_client). */
    char ip_text[48];
    size_t ip_text_len;
    char name_text[NAME_MAXTEXT];
    size_t name_text_len;
    char client_text[48];
    size_t client_text_len;
};

/* Decode the labels left of the zone apex. sub/sublen as in struct
 * ds_query (the caller keeps that memory alive). Never fails: names that
 * are not IP addresses simply get ip4_octets = ip6_nibbles = 0. */
void ds_query_init(struct ds_query *q, const uint8_t *sub, size_t sublen);

/* Set the client address (sa may be NULL). */
void ds_query_set_client(struct ds_query *q, const void *sockaddr);

/* One resource record a dataset answers with. rdata points into the
 * dataset (or into static storage) and stays valid while the dataset does. */
struct ds_rr {
    uint16_t type;
    uint32_t ttl;
    const uint8_t *rdata; /* A: 4 bytes network order. TXT: the template
                             text, not length-prefixed: '$' stands for the
                             query subject and "$$" for a literal '$'.
                             Other types: wire RDATA, names uncompressed. */
    uint16_t rdlen;
};

#define DS_MAX_RR 64

/* ACL verdicts (rbldnsd's acl dataset), in the order they are checked. */
enum ds_acl_action {
    DS_ACL_NONE = 0, /* no ACL entry matched the client */
    DS_ACL_PASS,     /* answer normally */
    DS_ACL_IGNORE,   /* drop the query silently */
    DS_ACL_REFUSE,   /* answer REFUSED */
    DS_ACL_EMPTY,    /* answer as if nothing were listed */
    DS_ACL_LISTED,   /* answer every valid name as listed with rr[] */
};

struct ds_result {
    bool exists;         /* the name exists: listed, or an empty non-terminal */
    const char *subject; /* what '$' in this result's TXT templates stands
                            for (one of the ds_query texts); set by the
                            type, defaulted by dataset_query from the
                            type's family */
    size_t subject_len;
    enum ds_acl_action acl; /* acl datasets only */
    unsigned nrr;
    struct ds_rr rr[DS_MAX_RR];
};

/* Clear a result: nothing exists, no records, no subject, no ACL verdict.
 * dataset_query and the types only add to a result, so a caller may
 * collect the answers of several datasets in one; reset it per query. */
void ds_result_reset(struct ds_result *res);

/* Add a record to a result; returns ERR_SPACE when rr[] is full. */
int ds_result_add(struct ds_result *res, uint16_t type, uint32_t ttl, const void *rdata,
                  uint16_t rdlen);

struct dataset;
struct datafile;

/* What a dataset's walk reports (zone_records.h turns it into the records
 * of a zone transfer): every key where its answers may change, entries
 * and exclusions alike. A walk may report a key more than once, or keys
 * whose entries no longer answer; it must not leave one out. Callbacks
 * return 0 or an error, which stops the walk and is returned. */
struct ds_walk {
    /* The dataset about to be walked answers names of these DS_FAM_*
     * families (its RFC 5782 test entries come from that). */
    int (*family)(struct ds_walk *w, unsigned family);
    /* An IPv4 range [first, last], host order. */
    int (*ip4)(struct ds_walk *w, uint32_t first, uint32_t last);
    /* An IPv6 range [first, last], network order. */
    int (*ip6)(struct ds_walk *w, const uint8_t first[16], const uint8_t last[16]);
    /* A name: wire labels relative to the zone (or to the subzone entered),
     * without the root label; sublen 0 is the zone itself. `below` says
     * the entry is for the names under it (dnset's "*.x"), not the name. */
    int (*name)(struct ds_walk *w, const uint8_t *sub, size_t sublen, bool below);
    /* A combined dataset's subzone: what is reported until leave() is
     * relative to it (wire labels, no root label, sublen 0 = "@"). */
    int (*enter)(struct ds_walk *w, const uint8_t *sub, size_t sublen);
    void (*leave)(struct ds_walk *w);
};

/* The zone-level records a data file may carry ($SOA, $NS). */
struct ds_soa {
    bool present;
    uint32_t ttl;
    uint8_t mname[NAME_MAXWIRE];
    uint8_t rname[NAME_MAXWIRE];
    uint32_t serial; /* 0 = derive from the data's age */
    uint32_t refresh, retry, expire, minimum;
};

#define DS_MAX_NS 8
struct ds_ns {
    unsigned count;
    uint32_t ttl;
    uint8_t name[DS_MAX_NS][NAME_MAXWIRE];
};

/* Safety limits checked while loading (see "listing the world" in
 * dnsblkit.conf(5)). */
struct ds_limits {
    unsigned min_prefix4;   /* refuse IPv4 entries shorter than this (8) */
    unsigned min_prefix6;   /* refuse IPv6 entries shorter than this (8) */
    uint64_t max_ip4_total; /* refuse more IPv4 addresses in one zone (2^28) */
    bool allow_world;       /* true = no limits */
};

/* Everything a loader needs besides the file itself. */
struct ds_load_ctx {
    const char *zone;     /* zone name, for messages */
    uint32_t default_ttl; /* -t default, used when the data has no $TTL */
    struct ds_limits limits;
    bool allow_hostbits; /* -e: accept CIDR blocks with host bits set
                            (1.2.3.4/24 as 1.2.3.0/24) instead of
                            refusing them as likely typos */
};

/* The per-type operations. A type that takes no data lines of some form
 * returns ERR_INVAL with a message set through datafile_error(). */
struct dataset_ops {
    const char *name; /* "ip4set" */
    unsigned family;  /* DS_FAM_* bits this type answers (0 for combined/acl) */
    bool uses_values; /* lines starting with ':' set the default value,
                         except "::1" and such in DS_FAM_IP6 types */
    /* Bytes of the type's state: dataset_create allocates ds->priv zeroed,
     * and the dataset frees it after destroy. 0 = none. */
    size_t priv_size;
    /* Set up ds->priv, e.g. allocate its tables. When it fails, destroy
     * is still called, on whatever it had made. */
    int (*create)(struct dataset *ds);
    /* One data line, comments and directives already removed, leading
     * whitespace stripped, trailing newline removed. */
    int (*line)(struct dataset *ds, struct datafile *df, char *line);
    /* After the last line of the last file: sort, deduplicate, index. */
    int (*finish)(struct dataset *ds);
    /* Answer a query; see ds_result. Must not allocate or block. Returns 0
     * (res->exists says whether the name exists) or a negative error. */
    int (*query)(const struct dataset *ds, const struct ds_query *q, struct ds_result *res);
    /* Free what create and line allocated in ds->priv (not ds->priv). */
    void (*destroy)(struct dataset *ds);
    /* Report every key of a built dataset to w (see struct ds_walk); like
     * query, it may run on any thread and changes nothing. NULL for a
     * type whose data cannot be transferred. */
    int (*walk)(const struct dataset *ds, struct ds_walk *w);

    /* Live types, whose data comes from elsewhere than data files (the
     * listing engine's database), set these three instead of taking
     * lines. open fills a created dataset from `source` (the spec after
     * "type:"); stale says, cheaply, whether the source has news since ds
     * was made; refresh fills `next` (created, same spec) with prev's data
     * and the news, sharing what it can with prev, which stays serving
     * and must not change. stale and refresh run on the reload thread
     * only. Errors leave a message in errbuf. */
    int (*open)(struct dataset *ds, const char *source, char *errbuf, size_t errsz);
    bool (*stale)(const struct dataset *ds);
    int (*refresh)(const struct dataset *prev, struct dataset *next, char *errbuf, size_t errsz);
};

/* A data file a dataset was loaded from, with what we saw of it. */
struct ds_file {
    char *path;
    time_t mtime;
    long mtime_ns; /* within the second: a file replaced twice in one second
                      may get the freed inode and size back */
    off_t size;
    ino_t ino;
};

struct dataset {
    const struct dataset_ops *ops;
    char *spec; /* "type:file,file" as given */
    const struct ds_load_ctx *ctx;
    struct ds_file *files;
    unsigned nfiles;

    uint32_t ttl; /* $TTL, or ctx->default_ttl */
    struct ds_soa soa;
    struct ds_ns ns;
    time_t timestamp; /* newest file mtime or $TIMESTAMP */
    time_t expires;   /* $TIMESTAMP expiry: past it the data must not be
                         served (rbldnsd answers SERVFAIL); 0 = never */

    uint64_t live_version; /* a live dataset's place in its source's change
                              log, which a restart does not change */
    uint64_t conf_digest;  /* what a live dataset's configuration adds to its
                              answers (a listing's TXT): with the TTL, part of
                              dataset_fingerprint, so that a change of it is a
                              change of the zone's data */
    uint64_t entries;      /* entries loaded (for logs and limits) */
    uint64_t ip4_total;    /* IPv4 addresses listed (for the world guard) */
    size_t mem_bytes;      /* memory held by the data, reported by the type */

    atomic_uint refs; /* snapshots sharing this dataset */
    void *priv;       /* type-specific */
};

/* Look up a type by name ("ip4set"); NULL if unknown. */
const struct dataset_ops *dataset_type(const char *name);

/* The list of all type names, for --help. */
extern const struct dataset_ops *const dataset_types[];

/* Load a dataset from "type:file[,file...]" (spec) or from type and an
 * explicit file list. On failure *out is NULL and errbuf holds a message of
 * the form "file:line: reason". */
int dataset_load(const char *spec, const struct ds_load_ctx *ctx, struct dataset **out,
                 char *errbuf, size_t errsz);

/* Building blocks of dataset_load, for container types (combined) that
 * create datasets of other types and feed them lines: create an empty
 * dataset, pass lines with datafile_feed(), then finish it. */
int dataset_create(const struct dataset_ops *ops, const struct ds_load_ctx *ctx,
                   struct dataset **out);
int dataset_finish(struct dataset *ds, char *errbuf, size_t errsz);

/* Query a dataset, applying the RFC 5782 test entries for its family:
 * 127.0.0.2 / ::FFFF:7F00:2 / TEST are always listed (with the data's value
 * when it lists them, else A 127.0.0.2 and a TXT saying it is a test entry);
 * 127.0.0.1 / ::FFFF:7F00:1 / INVALID are never listed. Also makes the
 * names above the test entries exist (empty non-terminals). */
int dataset_query(const struct dataset *ds, const struct ds_query *q, struct ds_result *res);

/* Walk a dataset (struct ds_walk): its families, then its keys.
 * ERR_UNSUPP for a type without a walk. */
int dataset_walk(const struct dataset *ds, struct ds_walk *w);

/* True if any file of the dataset changed (mtime, size or inode) or
 * vanished since it was loaded. False for live datasets. */
bool dataset_changed(const struct dataset *ds);

/* An identity of the data this dataset holds that survives a restart:
 * its spec, entries and $TIMESTAMP, and for each file its path, time,
 * size and inode, or a live dataset's change log place. Equal for the
 * same data loaded twice; data that changed gives another value (but
 * for a collision of 64-bit hashes). */
uint64_t dataset_fingerprint(const struct dataset *ds);

/* Whether the dataset is of a live type, and whether its source has news
 * (false for file datasets). */
bool dataset_is_live(const struct dataset *ds);
bool dataset_stale(const struct dataset *ds);

/* The next version of a live dataset, sharing what it can with prev. */
int dataset_refresh(const struct dataset *prev, struct dataset **out, char *errbuf, size_t errsz);

/* Make a type from a higher layer known to dataset_type() (at startup,
 * before any thread loads data). Returns ERR_LIMIT when the table is
 * full, ERR_EXISTS for a name already known. */
int dataset_register(const struct dataset_ops *ops);

void dataset_ref(struct dataset *ds);
/* Drop a reference; frees the dataset on the last one. */
void dataset_unref(struct dataset *ds);

/* Type operation tables, defined one per ds_<type>.c. */
extern const struct dataset_ops ds_ip4set_ops, ds_ip4tset_ops, ds_ip4trie_ops, ds_ip6tset_ops,
    ds_ip6trie_ops, ds_dnset_ops, ds_generic_ops, ds_combined_ops, ds_acl_ops;

#endif
