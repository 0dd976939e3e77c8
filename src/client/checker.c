/* The list client's engine: checks fanned out over every list, probe
 * rounds and the health they feed, confirmation of listings from lists
 * not probed lately, the cache, and the news of state changes. */
#include "client/checker.h"
#include "client/cache.h"
#include "common/err.h"
#include "common/log.h"

#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

#define CK_MAX_CHILDREN 16

/* The probes of a round, in the order they are reported. */
enum ck_probe_kind {
    CK_P_LISTED,    /* 127.0.0.2 / TEST: must be listed inside 127/8 */
    CK_P_UNLISTED,  /* 127.0.0.1 / INVALID: must not be listed */
    CK_P_LISTED6,   /* ::FFFF:7F00:2, for CHECKER_IP6 */
    CK_P_UNLISTED6, /* ::FFFF:7F00:1, for CHECKER_IP6 */
    CK_P_RANDOM_IP, /* a random 127.x.y.z (x != 0), for address lists: must not be listed */
    CK_P_RANDOM,    /* a fresh random label: must be NXDOMAIN */
    CK_P_SOA,       /* the apex: must have an SOA */
    CK_PROBES
};

struct ck_list;
struct ck_item;

struct ck_probe {
    struct ck_list *l;
    enum ck_probe_kind kind;
    char name[300];
    char subject[16]; /* CK_P_RANDOM_IP: the address asked about */
};

struct ck_list {
    struct checker *ck;
    unsigned index;
    char zone[LISTSPEC_ZONE_MAX + 1];
    enum checker_kind kind;
    struct health health;
    /* The current round. */
    bool probing;
    unsigned probes_left;
    enum health_outcome outcome;
    char why[160];
    char log[512];
    uint32_t rtt;
    int64_t last_round_start;
    unsigned good_round; /* the round_id of the last round that passed; 0 = none */
    struct ck_probe probe[CK_PROBES];
    char result[CK_PROBES][160]; /* each probe's finding this round */
    struct ck_item *waiters;     /* checks waiting for a round's verdict */
    unsigned round_id;           /* rounds started */
    enum health_outcome last;    /* the outcome of the last round that finished */
    uint64_t queries, listed, ignored, errors, cache_hits;
};

struct ck_spec {
    struct listspec spec;
    unsigned list;
};

struct ck_check;

/* One list's part of one check: the callback argument of its queries. */
struct ck_item {
    struct ck_check *c;
    unsigned list;
    bool listed;          /* some spec matched: needs a healthy list to count */
    int score;            /* the matching specs' weights */
    unsigned need;        /* waiting: the round (round_id) that decides it */
    struct ck_item *next; /* among the list's waiters */
};

struct ck_check {
    struct checker *ck;
    char subject[256];
    struct qname_subject parsed;
    unsigned flags;
    checker_done_fn fn;
    void *arg;
    unsigned left;
    unsigned nlists; /* lists when the check began */
    struct checker_list_result *res;
    struct ck_item items[];
};

struct checker {
    struct checker_conf conf;
    char *on_change;
    struct resolver *res;
    struct cache *cache;
    struct ck_list *lists[CHECKER_MAX_LISTS];
    unsigned nlists;
    struct ck_spec specs[CHECKER_MAX_SPECS];
    unsigned nspecs;
    unsigned checks; /* in flight */
    bool periodic;
    bool closing; /* checker_free: the last answers change no state */
    checker_change_fn change_fn;
    void *change_arg;
    pid_t children[CK_MAX_CHILDREN];
};

void checker_conf_init(struct checker_conf *c)
{
    memset(c, 0, sizeof(*c));
    resolver_conf_init(&c->resolver);
    c->min_ttl = 60;
    c->max_ttl = 3600;
    c->cache_entries = 65536;
    c->probe_interval_ms = 30000;
    c->fresh_ms = 0; /* every new listing confirmed: see ck_item_answer */
    health_conf_init(&c->health);
    c->threshold = 1;
}

const char *checker_kind_name(enum checker_kind k)
{
    return k == CHECKER_IP6 ? "ip6" : k == CHECKER_DOMAIN ? "domain" : "ip";
}

static int64_t ck_now(const struct checker *ck)
{
    if (ck->conf.clock_ms)
        return ck->conf.clock_ms(ck->conf.clock_arg);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int checker_new(const struct checker_conf *c, struct checker **out, char *err, size_t errsz)
{
    struct checker *ck = calloc(1, sizeof(*ck));
    if (!ck) {
        snprintf(err, errsz, "out of memory");
        return ERR_NOMEM;
    }
    ck->conf = *c;
    int rc = 0;
    if (c->on_change && !(ck->on_change = strdup(c->on_change))) {
        snprintf(err, errsz, "out of memory");
        rc = ERR_NOMEM;
        goto fail;
    }
    ck->conf.on_change = ck->on_change;
    ck->conf.resolver.servers = NULL; /* not kept: only resolver_new reads it */
    if ((rc = resolver_new(&c->resolver, &ck->res, err, errsz)) < 0)
        goto fail;
    if (c->cache_entries && (rc = cache_new(c->cache_entries, &ck->cache)) < 0) {
        snprintf(err, errsz, "out of memory");
        goto fail;
    }
    *out = ck;
    return 0;
fail:
    checker_free(ck);
    return rc;
}

static void ck_reap(struct checker *ck, bool wait)
{
    for (unsigned i = 0; i < CK_MAX_CHILDREN; i++)
        if (ck->children[i] > 0 && waitpid(ck->children[i], NULL, wait ? 0 : WNOHANG) != 0)
            ck->children[i] = 0;
}

void checker_free(struct checker *ck)
{
    if (!ck)
        return;
    /* Pending queries end with ERR_IO; their checks then finish too. */
    ck->closing = true;
    resolver_free(ck->res);
    ck->res = NULL;
    cache_free(ck->cache);
    for (unsigned i = 0; i < ck->nlists; i++)
        free(ck->lists[i]);
    /* Commands still running finish on their own: a hanging one must
     * not hold up a stop. */
    ck_reap(ck, false);
    free(ck->on_change);
    free(ck);
}

int checker_add(struct checker *ck, const struct listspec *spec, enum checker_kind kind,
                bool enabled)
{
    unsigned i;
    for (i = 0; i < ck->nlists; i++)
        if (!strcmp(ck->lists[i]->zone, spec->zone))
            break;
    if (i < ck->nlists) {
        const struct ck_list *l = ck->lists[i];
        if (l->kind != kind || (l->health.state == HEALTH_DISABLED) != !enabled)
            return ERR_INVAL;
    } else if (ck->nlists == CHECKER_MAX_LISTS) {
        return ERR_LIMIT;
    }
    if (ck->nspecs == CHECKER_MAX_SPECS)
        return ERR_LIMIT;
    if (i == ck->nlists) {
        struct ck_list *l = calloc(1, sizeof(*l));
        if (!l)
            return ERR_NOMEM;
        l->ck = ck;
        l->index = i;
        memcpy(l->zone, spec->zone, sizeof(l->zone));
        l->kind = kind;
        health_init(&l->health, enabled, ck_now(ck));
        for (unsigned p = 0; p < CK_PROBES; p++) {
            l->probe[p].l = l;
            l->probe[p].kind = (enum ck_probe_kind)p;
        }
        ck->lists[ck->nlists++] = l;
    }
    ck->specs[ck->nspecs].spec = *spec;
    ck->specs[ck->nspecs].list = i;
    ck->nspecs++;
    return (int)i;
}

unsigned checker_nlists(const struct checker *ck)
{
    return ck->nlists;
}

void checker_list_info(const struct checker *ck, unsigned list, struct checker_list_info *out)
{
    const struct ck_list *l = ck->lists[list];
    memset(out, 0, sizeof(*out));
    out->zone = l->zone;
    out->kind = l->kind;
    out->health = l->health;
    out->probing = l->probing;
    out->last_rtt_ms = l->rtt;
    snprintf(out->last_round, sizeof(out->last_round), "%s", l->log);
    out->queries = l->queries;
    out->listed = l->listed;
    out->ignored = l->ignored;
    out->errors = l->errors;
    out->cache_hits = l->cache_hits;
}

void checker_on_change(struct checker *ck, checker_change_fn fn, void *arg)
{
    ck->change_fn = fn;
    ck->change_arg = arg;
}

void checker_set_periodic(struct checker *ck, bool on)
{
    ck->periodic = on;
}

unsigned checker_checks(const struct checker *ck)
{
    return ck->checks;
}

unsigned checker_pending(const struct checker *ck)
{
    unsigned n = ck->checks;
    for (unsigned i = 0; i < ck->nlists; i++)
        n += ck->lists[i]->probing;
    return n;
}

/* snprintf for findings and reasons: cut short is fine, they are for
 * people. (A function of ours, so the compiler does not warn of the
 * truncation it is meant for.) */
__attribute__((format(printf, 3, 4))) static void ck_fmt(char *out, size_t outsz, const char *fmt,
                                                         ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, outsz, fmt, ap);
    va_end(ap);
}

static const char *ck_rcode_name(int rcode)
{
    static const char *const names[] = {"NOERROR",  "FORMERR", "SERVFAIL",
                                        "NXDOMAIN", "NOTIMP",  "REFUSED"};
    return rcode >= 0 && rcode < 6 ? names[rcode] : "an unknown rcode";
}

static void ck_ip4_text(uint32_t a, char out[16])
{
    snprintf(out, 16, "%u.%u.%u.%u", a >> 24, a >> 16 & 0xff, a >> 8 & 0xff, a & 0xff);
}

/* ---- the news of a state change ------------------------------------------ */

static void ck_run_command(struct checker *ck, const struct ck_list *l, enum health_state from,
                           const char *why)
{
    unsigned slot = CK_MAX_CHILDREN;
    ck_reap(ck, false);
    for (unsigned i = 0; i < CK_MAX_CHILDREN && slot == CK_MAX_CHILDREN; i++)
        if (ck->children[i] <= 0)
            slot = i;
    if (slot == CK_MAX_CHILDREN) {
        log_warning("on-change: %u commands still running; not starting another", CK_MAX_CHILDREN);
        return;
    }
    size_t n = 0;
    while (environ[n])
        n++;
    char **envp = calloc(n + 5, sizeof(*envp));
    char vars[4][400];
    if (!envp) {
        log_warning("on-change: out of memory");
        return;
    }
    memcpy(envp, environ, n * sizeof(*envp));
    snprintf(vars[0], sizeof(vars[0]), "DNSBLKIT_LIST=%s", l->zone);
    snprintf(vars[1], sizeof(vars[1]), "DNSBLKIT_STATE=%s", health_state_name(l->health.state));
    snprintf(vars[2], sizeof(vars[2]), "DNSBLKIT_OLD_STATE=%s", health_state_name(from));
    snprintf(vars[3], sizeof(vars[3]), "DNSBLKIT_WHY=%s", why);
    for (unsigned i = 0; i < 4; i++)
        envp[n + i] = vars[i];
    char *argv[] = {"sh", "-c", ck->on_change, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, envp);
    free(envp);
    if (rc != 0) {
        log_warning("on-change: cannot run /bin/sh: %s", strerror(rc));
        return;
    }
    ck->children[slot] = pid;
}

static void ck_changed(struct checker *ck, struct ck_list *l, enum health_state from)
{
    const char *why = l->health.why[0] ? l->health.why : "every probe passed";
    if (l->health.state == HEALTH_SICK) {
        /* Loudly: mail is no longer checked against this list. */
        log_warning("list %s is SICK (was %s), not used until healthy: %s", l->zone,
                    health_state_name(from), why);
        /* Its cached answers came from the same broken source. */
        if (ck->cache)
            cache_drop_zone(ck->cache, l->zone);
    } else {
        log_info("list %s is %s (was %s): %s", l->zone, health_state_name(l->health.state),
                 health_state_name(from), why);
    }
    /* The command is for daemons that watch (monitor --watch, policyd):
     * a one-shot check or monitor, and a list found healthy at startup,
     * are no news worth paging someone about. */
    if (ck->on_change && ck->periodic &&
        !(from == HEALTH_UNKNOWN && l->health.state == HEALTH_HEALTHY))
        ck_run_command(ck, l, from, why);
    if (ck->change_fn)
        ck->change_fn(ck->change_arg, l->index, from, l->health.state, why);
}

/* ---- probe rounds --------------------------------------------------------- */

static void ck_item_finish(struct ck_item *it);
static void ck_item_decide(struct ck_item *it);
static void ck_round_start(struct ck_list *l);

/* What a probe's answer says about the list; `text` gets a short
 * finding for the monitor. */
static enum health_outcome ck_probe_eval(const struct ck_probe *p, int status,
                                         const struct reply *rep, char *text, size_t textsz)
{
    static const char *const what[CK_PROBES] = {NULL,
                                                NULL,
                                                "::ffff:127.0.0.2",
                                                "::ffff:127.0.0.1",
                                                "a random loopback address",
                                                "a random name",
                                                "SOA"};
    char subject[64];
    bool domain = p->l->kind == CHECKER_DOMAIN;
    if (p->kind == CK_P_LISTED)
        snprintf(subject, sizeof(subject), "%s", domain ? "TEST" : "127.0.0.2");
    else if (p->kind == CK_P_UNLISTED)
        snprintf(subject, sizeof(subject), "%s", domain ? "INVALID" : "127.0.0.1");
    else
        snprintf(subject, sizeof(subject), "%s", what[p->kind]);

    if (status != 0) {
        ck_fmt(text, textsz, "%s: %s", subject, err_str(status));
        return HEALTH_BAD;
    }
    if (rep->rcode != 0 && rep->rcode != 3) {
        ck_fmt(text, textsz, "%s: %s", subject, ck_rcode_name(rep->rcode));
        return HEALTH_BAD;
    }
    if (p->kind == CK_P_SOA) {
        if (rep->rcode == 0 && rep->soa_in_answer) {
            ck_fmt(text, textsz, "SOA present");
            return HEALTH_GOOD;
        }
        if (rep->rcode == 3) {
            /* Nothing at or below the list's name: its domain is gone
             * (expired, deleted), whatever answers there now. */
            ck_fmt(text, textsz, "the apex does not exist (NXDOMAIN): the zone is gone");
            return HEALTH_FATAL;
        }
        ck_fmt(text, textsz, "no SOA at the apex (%s)", ck_rcode_name(rep->rcode));
        return HEALTH_BAD;
    }
    /* Any answer outside 127/8 or an error code: not a DNSBL answering. */
    for (unsigned i = 0; i < rep->na; i++) {
        char a[16];
        ck_ip4_text(rep->a[i], a);
        if (rep->a[i] >> 24 != 127) {
            ck_fmt(text, textsz, "%s answered %s, outside 127/8: not a DNS list", subject, a);
            return HEALTH_FATAL;
        }
        if (verdict_is_error_code(rep->a[i])) {
            ck_fmt(text, textsz, "%s answered %s, an error code: the list refuses to answer",
                   subject, a);
            return HEALTH_FATAL;
        }
    }
    char first[16] = "";
    if (rep->na)
        ck_ip4_text(rep->a[0], first);
    switch (p->kind) {
    case CK_P_LISTED:
    case CK_P_LISTED6:
        if (rep->na) {
            ck_fmt(text, textsz, "%s listed (%s)", subject, first);
            return HEALTH_GOOD;
        }
        ck_fmt(text, textsz, "%s not listed (%s): the test entry is missing", subject,
               ck_rcode_name(rep->rcode));
        return HEALTH_BAD;
    case CK_P_UNLISTED:
    case CK_P_UNLISTED6:
        if (rep->na) {
            ck_fmt(text, textsz, "%s listed (%s): answers everything", subject, first);
            return HEALTH_FATAL;
        }
        ck_fmt(text, textsz, "%s not listed", subject);
        return HEALTH_GOOD;
    case CK_P_RANDOM_IP:
        /* A list that lists everything but the test entries (0.0.0.0/0
         * in an rbldnsd file) passes the two tests above. */
        if (rep->na) {
            ck_fmt(text, textsz, "random address %s listed (%s): answers everything", p->subject,
                   first);
            return HEALTH_FATAL;
        }
        ck_fmt(text, textsz, "random address not listed");
        return HEALTH_GOOD;
    case CK_P_RANDOM:
        if (rep->na) {
            ck_fmt(text, textsz, "random name %s answered %s: a wildcard answers everything",
                   p->name, first);
            return HEALTH_FATAL;
        }
        if (rep->rcode == 3) {
            ck_fmt(text, textsz, "random name NXDOMAIN");
            return HEALTH_GOOD;
        }
        ck_fmt(text, textsz, "random name %s exists (NOERROR): a wildcard?", p->name);
        return HEALTH_BAD;
    default:
        return HEALTH_BAD;
    }
}

static void ck_round_end(struct ck_list *l)
{
    struct checker *ck = l->ck;
    size_t used = 0;
    l->log[0] = '\0';
    for (unsigned p = 0; p < CK_PROBES; p++) {
        if (!l->result[p][0])
            continue;
        int n =
            snprintf(l->log + used, sizeof(l->log) - used, "%s%s", used ? "; " : "", l->result[p]);
        if (n > 0)
            used = used + (size_t)n < sizeof(l->log) ? used + (size_t)n : sizeof(l->log) - 1;
    }
    l->probing = false;
    l->last = l->outcome;
    if (l->outcome == HEALTH_GOOD)
        l->good_round = l->round_id;
    enum health_state from = l->health.state;
    if (!ck->closing && health_round(&l->health, &ck->conf.health, l->outcome,
                                     l->outcome == HEALTH_GOOD ? NULL : l->why, ck_now(ck)))
        ck_changed(ck, l, from);
    /* The checks that waited for this round: their listings count now,
     * or not at all. Those whose answer came while the round ran wait
     * for the next one: its probes may have left before the list went
     * bad. */
    struct ck_item *w = l->waiters, *keep = NULL;
    l->waiters = NULL;
    while (w) {
        struct ck_item *next = w->next;
        if (w->need <= l->round_id || ck->closing) {
            ck_item_decide(w);
        } else {
            w->next = keep;
            keep = w;
        }
        w = next;
    }
    if (keep) {
        while (keep) {
            struct ck_item *next = keep->next;
            keep->next = l->waiters;
            l->waiters = keep;
            keep = next;
        }
        ck_round_start(l);
    }
}

static void ck_probe_done(void *arg, int status, const struct reply *rep, uint32_t rtt_ms)
{
    struct ck_probe *p = arg;
    struct ck_list *l = p->l;
    char text[160];
    enum health_outcome o = ck_probe_eval(p, status, rep, text, sizeof(text));
    ck_fmt(l->result[p->kind], sizeof(l->result[p->kind]), "%s", text);
    if (rtt_ms > l->rtt)
        l->rtt = rtt_ms;
    /* The worst finding is the round's; of equals, the first reported. */
    if (o > l->outcome) {
        l->outcome = o;
        ck_fmt(l->why, sizeof(l->why), "%s", text);
    }
    if (--l->probes_left == 0)
        ck_round_end(l);
}

static void ck_probe_name(struct ck_list *l, struct ck_probe *p)
{
    struct qname_subject s;
    memset(&s, 0, sizeof(s));
    bool domain = l->kind == CHECKER_DOMAIN;
    switch (p->kind) {
    case CK_P_LISTED:
    case CK_P_UNLISTED:
        if (domain) {
            s.kind = QNAME_DOMAIN;
            snprintf(s.domain, sizeof(s.domain), "%s", p->kind == CK_P_LISTED ? "test" : "invalid");
        } else {
            s.kind = QNAME_IP4;
            s.ip4 = p->kind == CK_P_LISTED ? 0x7f000002u : 0x7f000001u;
        }
        break;
    case CK_P_LISTED6:
    case CK_P_UNLISTED6:
        s.kind = QNAME_IP6;
        s.ip6[10] = s.ip6[11] = 0xff;
        s.ip6[12] = 0x7f;
        s.ip6[15] = p->kind == CK_P_LISTED6 ? 2 : 1;
        break;
    case CK_P_RANDOM_IP: {
        char label[21];
        /* Three octets from the random label's letters: 127.1..254.x.y,
         * never 127.0/16 where the test entries are. */
        qname_random_label(label);
        uint32_t o1 = 1 + (uint8_t)label[4] * 7u % 254;
        uint32_t o2 = ((uint8_t)label[5] * 31u + (uint8_t)label[6]) & 0xff;
        uint32_t o3 = ((uint8_t)label[7] * 17u + (uint8_t)label[8]) & 0xff;
        s.kind = QNAME_IP4;
        s.ip4 = 0x7f000000u | o1 << 16 | o2 << 8 | o3;
        ck_ip4_text(s.ip4, p->subject);
        break;
    }
    case CK_P_RANDOM: {
        char label[21];
        qname_random_label(label);
        s.kind = QNAME_DOMAIN;
        snprintf(s.domain, sizeof(s.domain), "%s", label);
        break;
    }
    default:
        snprintf(p->name, sizeof(p->name), "%s", l->zone);
        return;
    }
    if (qname_build(&s, l->zone, p->name, sizeof(p->name)) < 0)
        snprintf(p->name, sizeof(p->name), "%s", l->zone);
}

static void ck_round_start(struct ck_list *l)
{
    struct checker *ck = l->ck;
    if (l->probing || l->health.state == HEALTH_DISABLED)
        return;
    l->probing = true;
    l->outcome = HEALTH_GOOD;
    l->why[0] = '\0';
    l->rtt = 0;
    l->last_round_start = ck_now(ck);
    memset(l->result, 0, sizeof(l->result));
    bool want[CK_PROBES];
    unsigned nwant = 0;
    for (unsigned p = 0; p < CK_PROBES; p++) {
        /* An IPv6 list need only have the IPv6 test entries (RFC 5782
         * section 5): those replace the IPv4 ones. */
        bool v6probe = p == CK_P_LISTED6 || p == CK_P_UNLISTED6;
        bool v4probe = p == CK_P_LISTED || p == CK_P_UNLISTED;
        if (v6probe)
            want[p] = l->kind == CHECKER_IP6;
        else if (v4probe)
            want[p] = l->kind != CHECKER_IP6;
        else
            want[p] = p != CK_P_RANDOM_IP || l->kind != CHECKER_DOMAIN;
        nwant += want[p];
    }
    l->probes_left = nwant;
    l->round_id++;
    for (unsigned p = 0; p < CK_PROBES; p++) {
        if (!want[p])
            continue;
        struct ck_probe *pr = &l->probe[p];
        ck_probe_name(l, pr);
        uint16_t type = p == CK_P_SOA ? REPLY_TYPE_SOA : REPLY_TYPE_A;
        if (resolver_query(ck->res, pr->name, type, ck_probe_done, pr) < 0)
            ck_probe_done(pr, ERR_INVAL, NULL, 0);
    }
}

void checker_probe_all(struct checker *ck)
{
    for (unsigned i = 0; i < ck->nlists; i++)
        ck_round_start(ck->lists[i]);
}

/* ---- checks --------------------------------------------------------------- */

static void ck_check_finish(struct ck_check *c)
{
    struct checker *ck = c->ck;
    struct checker_result r;
    r.subject = c->subject;
    r.parsed = c->parsed;
    r.score = 0;
    for (unsigned i = 0; i < c->nlists; i++)
        if (c->res[i].outcome == CHECKER_LISTED)
            r.score += c->res[i].score;
    r.listed = r.score >= ck->conf.threshold;
    r.nlists = c->nlists;
    r.lists = c->res;
    ck->checks--;
    c->fn(c->arg, &r);
    free(c->res);
    free(c);
}

static void ck_item_finish(struct ck_item *it)
{
    struct ck_check *c = it->c;
    struct checker_list_result *r = &c->res[it->list];
    struct ck_list *l = c->ck->lists[it->list];
    r->health = l->health.state;
    if (r->outcome == CHECKER_LISTED)
        l->listed++;
    else if (r->outcome == CHECKER_IGNORED)
        l->ignored++;
    else if (r->outcome == CHECKER_ERROR)
        l->errors++;
    if (--c->left == 0)
        ck_check_finish(c);
}

static void ck_txt_result(struct ck_item *it, int status, const struct reply *rep, bool cached)
{
    struct checker_list_result *r = &it->c->res[it->list];
    struct checker *ck = it->c->ck;
    /* A listing without TXT (NOERROR, no records) is kept as well, for
     * its negative TTL: every check of the address would ask again. */
    if (status == 0 && (rep->has_txt || rep->rcode == 0)) {
        if (rep->has_txt)
            snprintf(r->txt, sizeof(r->txt), "%s", rep->txt);
        /* Not again from the cache: that would renew its time there. */
        if (ck->cache && !cached) {
            char name[300];
            if (qname_build(&it->c->parsed, ck->lists[it->list]->zone, name, sizeof(name)) > 0)
                cache_put(ck->cache, name, REPLY_TYPE_TXT, rep,
                          reply_cache_ttl(rep, ck->conf.min_ttl, ck->conf.max_ttl), ck_now(ck));
        }
    }
    ck_item_finish(it);
}

static void ck_txt_done(void *arg, int status, const struct reply *rep, uint32_t rtt_ms)
{
    (void)rtt_ms;
    ck_txt_result(arg, status, rep, false);
}

/* A listing that may count: count it, and fetch its TXT if asked. */
static void ck_item_count(struct ck_item *it)
{
    struct ck_check *c = it->c;
    struct checker *ck = c->ck;
    struct checker_list_result *r = &c->res[it->list];
    r->outcome = CHECKER_LISTED;
    r->score = it->score;
    if (!(c->flags & CHECKER_TXT)) {
        ck_item_finish(it);
        return;
    }
    char name[300];
    struct reply cached;
    if (qname_build(&c->parsed, ck->lists[it->list]->zone, name, sizeof(name)) < 0) {
        ck_item_finish(it);
        return;
    }
    if (ck->cache && cache_get(ck->cache, name, REPLY_TYPE_TXT, ck_now(ck), &cached)) {
        ck_txt_result(it, 0, &cached, true);
        return;
    }
    if (resolver_query(ck->res, name, REPLY_TYPE_TXT, ck_txt_done, it) < 0)
        ck_item_finish(it);
}

/* After a confirmation round: count the listing, or say why not. */
static void ck_item_decide(struct ck_item *it)
{
    struct ck_list *l = it->c->ck->lists[it->list];
    struct checker_list_result *r = &it->c->res[it->list];
    /* That round itself must have passed: a healthy list needs
     * sick_after bad rounds to turn sick, but one is enough to doubt it. */
    bool closing = it->c->ck->closing;
    if (!closing && l->last == HEALTH_GOOD && health_usable(&l->health)) {
        ck_item_count(it);
        return;
    }
    r->outcome = CHECKER_IGNORED;
    if (closing)
        ck_fmt(r->why, sizeof(r->why), "listing not counted: shutting down");
    else if (health_usable(&l->health))
        ck_fmt(r->why, sizeof(r->why), "listing not counted: the confirmation round failed (%s)",
               l->why);
    else
        ck_fmt(r->why, sizeof(r->why), "listing not counted: the list is %s (%s)",
               health_state_name(l->health.state), l->health.why[0] ? l->health.why : "no verdict");
    ck_item_finish(it);
}

static void ck_item_answer(struct ck_item *it, int status, const struct reply *rep, bool cached)
{
    struct ck_check *c = it->c;
    struct checker *ck = c->ck;
    struct ck_list *l = ck->lists[it->list];
    struct checker_list_result *r = &c->res[it->list];
    l->queries++;
    l->cache_hits += cached;
    if (status != 0) {
        r->outcome = CHECKER_ERROR;
        ck_fmt(r->why, sizeof(r->why), "%s", err_str(status));
        ck_item_finish(it);
        return;
    }
    r->rep = *rep;
    r->cached = cached;
    if (rep->rcode != 0 && rep->rcode != 3) {
        r->outcome = CHECKER_ERROR;
        ck_fmt(r->why, sizeof(r->why), "%s", ck_rcode_name(rep->rcode));
        ck_item_finish(it);
        return;
    }
    it->listed = false;
    it->score = 0;
    for (unsigned s = 0; s < ck->nspecs; s++) {
        if (ck->specs[s].list != it->list)
            continue;
        struct verdict v;
        verdict_summarize(&ck->specs[s].spec, rep->a, rep->na, &v);
        if (v.bogus || v.error_code) {
            /* Not an answer a list gives: it counts against the list,
             * whose next round starts now. */
            char a[16] = "";
            for (unsigned i = 0; i < rep->na && !a[0]; i++)
                if (rep->a[i] >> 24 != 127 || verdict_is_error_code(rep->a[i]))
                    ck_ip4_text(rep->a[i], a);
            r->outcome = CHECKER_IGNORED;
            ck_fmt(r->why, sizeof(r->why), "answered %s, %s", a,
                   v.bogus ? "outside 127/8: not a DNS list answer" : "an error code");
            ck_round_start(l);
            ck_item_finish(it);
            return;
        }
        if (v.listed) {
            it->listed = true;
            it->score += ck->specs[s].spec.weight;
        }
    }
    /* Kept for later checks: a valid answer from a list not known bad
     * (not one that arrived after the list turned sick, nor one outside
     * 127/8, which returned above). */
    /* Round ids, not times: the round a listing starts may well start
     * in the same millisecond as the answer came. */
    unsigned got = cached ? rep->got_round : l->round_id;
    if (!cached && ck->cache && l->health.state != HEALTH_SICK) {
        char name[300];
        if (qname_build(&c->parsed, l->zone, name, sizeof(name)) > 0) {
            struct reply kept = *rep;
            kept.got_round = got;
            cache_put(ck->cache, name, REPLY_TYPE_A, &kept,
                      reply_cache_ttl(rep, ck->conf.min_ttl, ck->conf.max_ttl), ck_now(ck));
        }
    }
    if (!it->listed) {
        r->outcome = CHECKER_NOT_LISTED;
        ck_item_finish(it);
        return;
    }
    /* Confirmed already: the last round passed, and it started after this
     * answer came (a listing from the cache, older than the round), or,
     * when freshness is set, not longer ago than that. A list that has
     * just turned into a wildcard of 127.0.0.2 answers like a list
     * listing everyone it is asked about; only a round after the answer
     * tells the two apart. */
    if (health_usable(&l->health) && l->health.last_good_ms == l->health.last_round_ms &&
        (got < l->good_round ||
         (ck->conf.fresh_ms > 0 && health_fresh(&l->health, ck_now(ck), ck->conf.fresh_ms)))) {
        ck_item_count(it);
        return;
    }
    /* A new listing: it counts only if a round started now passes, so the
     * first answer after a list went bad already sees it. */
    it->need = l->round_id + 1; /* a running round started before this answer */
    it->next = l->waiters;
    l->waiters = it;
    ck_round_start(l); /* may end at once, when no probe could go out */
}

static void ck_query_done(void *arg, int status, const struct reply *rep, uint32_t rtt_ms)
{
    (void)rtt_ms;
    ck_item_answer(arg, status, rep, false);
}

static bool ck_kind_fits(enum checker_kind k, enum qname_kind s)
{
    return k == CHECKER_DOMAIN ? s == QNAME_DOMAIN : s != QNAME_DOMAIN;
}

int checker_check(struct checker *ck, const char *subject, unsigned flags, checker_done_fn fn,
                  void *arg)
{
    struct qname_subject parsed;
    if (qname_subject_parse(subject, &parsed) < 0)
        return ERR_INVAL;
    struct ck_check *c = calloc(1, sizeof(*c) + ck->nlists * sizeof(struct ck_item));
    if (!c)
        return ERR_NOMEM;
    c->res = calloc(ck->nlists ? ck->nlists : 1, sizeof(*c->res));
    if (!c->res) {
        free(c);
        return ERR_NOMEM;
    }
    c->ck = ck;
    c->nlists = ck->nlists;
    snprintf(c->subject, sizeof(c->subject), "%s", subject);
    c->parsed = parsed;
    c->flags = flags;
    c->fn = fn;
    c->arg = arg;
    /* One more than the lists, released at the end: no callback can
     * finish the check while it is still being set up. */
    c->left = ck->nlists + 1;
    ck->checks++;
    int64_t now = ck_now(ck);
    for (unsigned i = 0; i < ck->nlists; i++) {
        struct ck_list *l = ck->lists[i];
        struct ck_item *it = &c->items[i];
        struct checker_list_result *r = &c->res[i];
        it->c = c;
        it->list = i;
        r->list = i;
        r->zone = l->zone;
        r->health = l->health.state;
        char name[300];
        if (!ck_kind_fits(l->kind, parsed.kind)) {
            r->outcome = CHECKER_SKIPPED;
            ck_fmt(r->why, sizeof(r->why), "%s",
                   l->kind == CHECKER_DOMAIN ? "a domain list" : "an address list");
            c->left--;
            continue;
        }
        if (l->health.state == HEALTH_DISABLED || l->health.state == HEALTH_SICK) {
            r->outcome = CHECKER_IGNORED;
            ck_fmt(r->why, sizeof(r->why), "not asked: the list is %s%s%s",
                   health_state_name(l->health.state), l->health.why[0] ? " (" : "",
                   l->health.why[0] ? l->health.why : "");
            if (l->health.why[0])
                strncat(r->why, ")", sizeof(r->why) - strlen(r->why) - 1);
            ck_item_finish(it);
            continue;
        }
        if (qname_build(&parsed, l->zone, name, sizeof(name)) < 0) {
            r->outcome = CHECKER_ERROR;
            ck_fmt(r->why, sizeof(r->why), "the query name is too long");
            ck_item_finish(it);
            continue;
        }
        struct reply cached;
        if (ck->cache && cache_get(ck->cache, name, REPLY_TYPE_A, now, &cached)) {
            ck_item_answer(it, 0, &cached, true);
            continue;
        }
        if (resolver_query(ck->res, name, REPLY_TYPE_A, ck_query_done, it) < 0) {
            r->outcome = CHECKER_ERROR;
            ck_fmt(r->why, sizeof(r->why), "the resolver refused the name");
            ck_item_finish(it);
        }
    }
    if (--c->left == 0)
        ck_check_finish(c);
    return 0;
}

/* ---- the loop ------------------------------------------------------------- */

/* When a list's next periodic round is due. A round that went against
 * the list's state (a bad one of a healthy list, a good one of a sick
 * list) is followed by the next at once rather than a probe interval
 * later: the streak that changes the state is sick-after (or
 * healthy-after) rounds long, and a list that stopped answering should
 * be known sick in seconds, not minutes. */
static int64_t ck_round_due(const struct checker *ck, const struct ck_list *l)
{
    const struct health *h = &l->health;
    if (l->last_round_start == 0)
        return 0;
    bool unsettled = h->state == HEALTH_SICK ? h->good_streak > 0 : h->bad_streak > 0;
    return unsettled ? h->last_round_ms : l->last_round_start + ck->conf.probe_interval_ms;
}

static void ck_periodic(struct checker *ck, int64_t now)
{
    for (unsigned i = 0; i < ck->nlists; i++) {
        struct ck_list *l = ck->lists[i];
        if (!l->probing && l->health.state != HEALTH_DISABLED && now >= ck_round_due(ck, l))
            ck_round_start(l);
    }
}

unsigned checker_pollfds(struct checker *ck, struct pollfd *out, unsigned max, int *timeout_ms)
{
    if (ck->periodic) {
        /* Wake when the next list's round is due. */
        int64_t now = ck_now(ck);
        for (unsigned i = 0; i < ck->nlists; i++) {
            const struct ck_list *l = ck->lists[i];
            if (l->probing || l->health.state == HEALTH_DISABLED)
                continue;
            int64_t due = ck_round_due(ck, l) - now;
            int wait = due < 0 ? 0 : due > 60000 ? 60000 : (int)due;
            if (*timeout_ms < 0 || wait < *timeout_ms)
                *timeout_ms = wait;
        }
    }
    return resolver_pollfds(ck->res, out, max, timeout_ms);
}

void checker_process(struct checker *ck, const struct pollfd *fds, unsigned n)
{
    resolver_process(ck->res, fds, n);
    if (ck->periodic)
        ck_periodic(ck, ck_now(ck));
    ck_reap(ck, false);
}

static int64_t ck_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int checker_run(struct checker *ck, int max_ms)
{
    /* max_ms is time spent waiting, on the real clock: a test's clock
     * (clock_ms) that stands still must not make this spin forever. */
    int64_t start = ck_wall_ms(), now = start;
    for (;;) {
        if (ck->periodic)
            ck_periodic(ck, ck_now(ck));
        else if (checker_pending(ck) == 0)
            return 0;
        int64_t left = max_ms - (now - start);
        if (left <= 0)
            return 0;
        /* Wake for the next periodic round at least every 100 ms. */
        int step = (int)(left < 100 ? left : 100);
        if (resolver_step(ck->res, step) < 0)
            return ERR_IO;
        ck_reap(ck, false);
        now = ck_wall_ms();
    }
}
