/* The listing engine: evidence and operator actions in, listings out. */
#include "listing/engine.h"
#include "common/err.h"
#include "common/log.h"
#include "listing/report_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *engine_verdict_name(enum engine_verdict v)
{
    switch (v) {
    case ENGINE_LISTED:
        return "listed";
    case ENGINE_COUNTED:
        return "counted";
    case ENGINE_IGNORED:
        return "ignored";
    case ENGINE_DUPLICATE:
        return "duplicate";
    case ENGINE_REFUSED:
        return "refused";
    }
    return "?";
}

void engine_evidence_words(unsigned reports, unsigned traps, char *out, size_t outsz)
{
    char r[40] = "", t[40] = "";
    if (reports)
        snprintf(r, sizeof(r), "%u user report%s", reports, reports == 1 ? "" : "s");
    if (traps)
        snprintf(t, sizeof(t), "%u trap hit%s", traps, traps == 1 ? "" : "s");
    if (reports && traps)
        snprintf(out, outsz, "%s and %s", r, t);
    else if (reports || traps)
        snprintf(out, outsz, "%s", reports ? r : t);
    else
        snprintf(out, outsz, "no reports or trap hits");
}

static void engine_time(time_t t, char *out, size_t outsz)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, outsz, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

/* End the record's listing (in memory; the caller stores the record):
 * its history keeps when and how. An expired listing ends at its expiry,
 * whenever it is noticed. */
static int engine_close(struct engine *e, const char *zone, struct store_listing *rec, time_t now,
                        const char *how)
{
    struct store_past p = {0};
    p.listed_at = rec->listed_at;
    p.ended_at = rec->expires_at && rec->expires_at < now ? rec->expires_at : now;
    p.code = rec->code;
    snprintf(p.how, sizeof(p.how), "%s", how);
    char name[32];
    snprintf(name, sizeof(name), "ended_%s", how);
    int rc = store_history_add(e->st, zone, &rec->key, &p);
    if (rc == 0)
        rc = store_count(e->st, zone, name, 1);
    if (rc)
        return rc;
    if (p.ended_at > p.listed_at)
        rec->total_listed += p.ended_at - p.listed_at;
    rec->code = 0;
    rec->expires_at = 0;
    rec->manual = false;
    return 0;
}

/* A record marked listed whose listing has run out is closed before
 * anything else looks at it: the sweep may not have come by yet. */
static int engine_settle(struct engine *e, const char *zone, struct store_listing *rec, time_t now)
{
    if (rec->code != 0 && !store_listed_now(rec, now))
        return engine_close(e, zone, rec, now, "expired");
    return 0;
}

/* Fetch a record, unknown ones as empty records of the key. */
static int engine_get(struct engine *e, const char *zone, const struct netkey *key,
                      struct store_listing *rec, time_t now)
{
    int rc = store_get(e->st, zone, key, rec);
    if (rc == ERR_NOTFOUND) {
        memset(rec, 0, sizeof(*rec));
        rec->key = *key;
        return 0;
    }
    return rc ? rc : engine_settle(e, zone, rec, now);
}

struct engine_events {
    struct policy_event *ev;
    size_t n, cap;
};

static int engine_collect(const struct store_event *ev, void *arg)
{
    struct engine_events *c = arg;
    enum policy_event_kind kind;
    if (!strcmp(ev->kind, "report"))
        kind = POLICY_REPORT;
    else if (!strcmp(ev->kind, "trap"))
        kind = POLICY_TRAP;
    else
        return 0;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 32;
        struct policy_event *p = realloc(c->ev, cap * sizeof(*p));
        if (!p)
            return ERR_NOMEM;
        c->ev = p;
        c->cap = cap;
    }
    c->ev[c->n++] = (struct policy_event){ev->when, kind};
    return 0;
}

/* The evidence against a key inside the window. */
static int engine_evidence(struct engine *e, const char *zone, const struct netkey *key, time_t now,
                           struct policy_evidence *out)
{
    const struct policy_params *p = &e->conf->policy;
    struct engine_events c = {0};
    int rc = store_events(e->st, zone, key, now - (time_t)p->evidence_window, engine_collect, &c);
    if (rc == 0)
        policy_score(p, c.ev, c.n, now, out);
    free(c.ev);
    return rc;
}

/* Re-decide whether the IPv4 /24 around `key` is listed as a whole. */
static int engine_escalate(struct engine *e, const char *zone, const struct netkey *key, time_t now,
                           bool *listed)
{
    const struct policy_params *p = &e->conf->policy;
    struct netkey net, block;
    struct store_listing rec;
    unsigned count = 0;
    *listed = false;
    if (key->family != 4 || key->bits != 32)
        return 0; /* only single addresses add up to a /24 */
    netkey_net24(key, &net);
    int rc = engine_get(e, zone, &net, &rec, now);
    if (rc == 0)
        rc = store_count_listed24(e->st, zone, &net, now, now - (time_t)p->escalate_window, &count);
    if (rc)
        return rc;
    bool allowed = store_allow_find(e->st, zone, &net, &block) == 0;
    bool was = store_listed_now(&rec, now);
    if (policy_escalates(p, count) && !allowed) {
        if (!was) {
            if ((rc = store_count(e->st, zone, "listings_started", 1)) != 0)
                return rc;
            rec.code = p->escalate_code;
            rec.listed_at = now;
            rec.expires_at = 0; /* until the count falls: the sweep ends it */
            rec.manual = false;
            rec.times_listed++;
            snprintf(rec.reason, sizeof(rec.reason), "%u addresses of the /24 listed", count);
            char text[NETKEY_STRLEN];
            netkey_format(&net, text, sizeof(text));
            log_notice("%s: %s listed as a whole: %u of its addresses are listed", zone, text,
                       count);
        }
        *listed = true;
    } else if (was && !rec.manual) {
        rc = engine_close(e, zone, &rec, now, "expired");
    } else {
        *listed = was;
        return 0;
    }
    return rc ? rc : store_put(e->st, zone, &rec);
}

static void engine_refuse(struct engine_decision *d, const char *fmt, const char *a, const char *b)
{
    d->verdict = ENGINE_REFUSED;
    snprintf(d->reason, sizeof(d->reason), fmt, a, b);
}

/* Whether the hop address appears anywhere in the message's chain. */
static bool engine_in_chain(const struct report_msg *m, int family, const uint8_t *addr)
{
    size_t len = family == 4 ? 4 : 16;
    for (size_t i = 0; i < m->nreceived; i++) {
        int f;
        uint8_t a[16];
        if (rchain_hop_ip(m->received[i], &f, a) == 0 && f == family && !memcmp(a, addr, len))
            return true;
    }
    return false;
}

static void engine_key_of(int family, const uint8_t *addr, struct netkey *key)
{
    if (family == 4)
        netkey_from_ip4((uint32_t)addr[0] << 24 | (uint32_t)addr[1] << 16 | (uint32_t)addr[2] << 8 |
                            addr[3],
                        key);
    else
        netkey_from_ip6(addr, key);
}

/* Find the source: ARF's Source-IP when it is plausible (public, and in
 * the chain when there is one), else the Received: walk. */
static bool engine_source(const struct engine *e, const struct report_msg *m,
                          struct engine_decision *d)
{
    const char *why = NULL;
    if (m->has_source_ip) {
        engine_key_of(m->source_family, m->source_ip, &d->key);
        if (netkey_is_public(&d->key, &why) &&
            (m->nreceived == 0 || engine_in_chain(m, m->source_family, m->source_ip)))
            return true;
    }
    if (m->arf) {
        /* The Received: headers of an ARF report are the reporter's:
         * without a usable Source-IP there is no source we can trust. */
        engine_refuse(d, "ARF report without a usable Source-IP%s%s", why ? ": " : "",
                      why ? why : "");
        d->why = "arf_no_source";
        return false;
    }
    struct rchain_source src;
    char reason[200];
    int rc = rchain_source((const char *const *)m->received, m->nreceived, &e->conf->trusted, &src,
                           reason, sizeof(reason));
    if (rc != 0) {
        engine_refuse(d, "%s%s", reason, "");
        d->why = rc == ERR_NOTFOUND ? "internal" : "broken_chain";
        return false;
    }
    engine_key_of(src.family, src.addr, &d->key);
    return true;
}

/* The metrics' counters of a report's decision: reports_<verdict>, and
 * <verdict>_<why> for refusals and ignored messages. */
static int engine_count_decision(struct engine *e, const char *zone,
                                 const struct engine_decision *d)
{
    char name[64];
    snprintf(name, sizeof(name), "reports_%s", engine_verdict_name(d->verdict));
    int rc = store_count(e->st, zone, name, 1);
    if (rc == 0 && d->why) {
        snprintf(name, sizeof(name), "%s_%s", engine_verdict_name(d->verdict), d->why);
        rc = store_count(e->st, zone, name, 1);
    }
    return rc;
}

int engine_report(struct engine *e, const char *zone, const char *msg, size_t len,
                  const char *reporter, time_t now, struct engine_decision *d)
{
    const struct policy_params *p = &e->conf->policy;
    struct report_msg m;
    char why[200], text[NETKEY_STRLEN], when[40];
    int rc = 0;
    memset(d, 0, sizeof(*d));
    int prc = report_msg_parse(msg, len, reporter ? REPORT_MSG_ATTACHED : 0, &m, why, sizeof(why));
    if (prc == ERR_UNSUPP) {
        /* No parser: an error of this installation, not a decision. */
        snprintf(d->reason, sizeof(d->reason), "%s", why);
        log_error("%s", why);
        return ERR_UNSUPP;
    }
    if (prc != 0) {
        engine_refuse(d, "%s%s", why, "");
        d->why = "unparsable";
        return engine_count_decision(e, zone, d);
    }
    if (m.bounce || m.autoreply) {
        d->verdict = ENGINE_IGNORED;
        d->why = m.bounce ? "bounce" : "autoreply";
        snprintf(d->reason, sizeof(d->reason), "%s",
                 m.bounce ? "a bounce (delivery status notification), not spam"
                          : "an auto-reply, not spam");
        goto out;
    }
    if (m.date && p->max_report_age && m.date < now - (time_t)p->max_report_age) {
        engine_time(m.date, when, sizeof(when));
        engine_refuse(d, "the reported mail is from %s, too old to count%s", when, "");
        d->why = "too_old";
        goto out;
    }
    if (!engine_source(e, &m, d))
        goto out;
    const char *range = NULL;
    netkey_format(&d->key, text, sizeof(text));
    if (!netkey_is_public(&d->key, &range)) {
        engine_refuse(d, "the source %s is not a public address (%s)", text,
                      range ? range : "reserved");
        d->why = "not_public";
        goto out;
    }
    d->has_key = true;

    struct store_event ev = {0};
    ev.when = now;
    snprintf(ev.kind, sizeof(ev.kind), "%s", reporter ? "report" : "trap");
    snprintf(ev.reporter, sizeof(ev.reporter), "%s", reporter ? reporter : "trap");
    snprintf(ev.hash, sizeof(ev.hash), "%s", m.hash);
    snprintf(ev.text, sizeof(ev.text), "%s", m.excerpt);

    struct netkey block;
    if (store_allow_find(e->st, zone, &d->key, &block) == 0) {
        char btext[NETKEY_STRLEN];
        netkey_format(&block, btext, sizeof(btext));
        engine_refuse(d, "%s is allowlisted (%s): never listed", text, btext);
        d->why = "allowlisted";
        log_warning("%s: a %s against allowlisted %s was not counted", zone, ev.kind, text);
        snprintf(ev.kind, sizeof(ev.kind), "refused");
        ev.hash[0] = '\0';
        rc = store_event_add(e->st, zone, &d->key, &ev);
        goto out;
    }
    rc = store_event_add(e->st, zone, &d->key, &ev);
    if (rc == ERR_EXISTS) {
        d->verdict = ENGINE_DUPLICATE;
        snprintf(d->reason, sizeof(d->reason), "this message was counted before");
        rc = 0;
        goto out;
    }
    if (rc)
        goto out;

    struct store_listing rec;
    struct policy_evidence evd;
    if ((rc = engine_get(e, zone, &d->key, &rec, now)) != 0 ||
        (rc = engine_evidence(e, zone, &d->key, now, &evd)) != 0)
        goto out;
    if (!rec.first_seen)
        rec.first_seen = now;
    rec.last_seen = now;
    if (reporter)
        rec.reports++;
    else
        rec.traps++;
    d->score = evd.score;
    d->reports = evd.reports;
    d->traps = evd.traps;
    if (store_listed_now(&rec, now) && rec.manual) {
        /* An operator's listing keeps the operator's code, reason and
         * end; the evidence is recorded all the same. */
    } else if (policy_should_list(p, &evd)) {
        time_t until = policy_expires(p, &evd);
        if (!store_listed_now(&rec, now)) {
            rec.code = p->code;
            rec.listed_at = now;
            rec.expires_at = until;
            rec.manual = false;
            rec.times_listed++;
            if ((rc = store_count(e->st, zone, "listings_started", 1)) != 0)
                goto out;
        } else if (rec.expires_at != 0 && until > rec.expires_at) {
            rec.expires_at = until; /* evidence keeps coming: no cap */
        }
        char words[100];
        engine_evidence_words(evd.reports, evd.traps, words, sizeof(words));
        snprintf(rec.reason, sizeof(rec.reason), "%s in %u days", words,
                 p->evidence_window / 86400);
    }
    if ((rc = store_put(e->st, zone, &rec)) != 0)
        goto out;
    if (store_listed_now(&rec, now)) {
        d->verdict = ENGINE_LISTED;
        d->code = rec.code;
        d->expires = rec.expires_at;
    } else {
        d->verdict = ENGINE_COUNTED;
    }
    rc = engine_escalate(e, zone, &d->key, now, &d->escalated);
out:
    report_msg_free(&m);
    return rc ? rc : engine_count_decision(e, zone, d);
}

int engine_list_add(struct engine *e, const char *zone, const struct netkey *key, uint8_t code,
                    const char *reason, uint32_t for_secs, const char *who, time_t now, char *why,
                    size_t whysz)
{
    struct netkey block;
    char text[NETKEY_STRLEN], btext[NETKEY_STRLEN];
    struct store_listing rec;
    const char *range = NULL;
    netkey_format(key, text, sizeof(text));
    if (key->bits < (key->family == 4 ? ENGINE_MIN_PREFIX4 : ENGINE_MIN_PREFIX6)) {
        snprintf(why, whysz, "%s is wider than /%u: a list of that much of the Internet is refused",
                 text, key->family == 4 ? ENGINE_MIN_PREFIX4 : ENGINE_MIN_PREFIX6);
        return ERR_LIMIT;
    }
    if (!netkey_is_public(key, &range)) {
        snprintf(why, whysz, "%s is not (all) public address space (%s): never listed", text,
                 range ? range : "reserved");
        return ERR_LIMIT;
    }
    if (store_allow_find(e->st, zone, key, &block) == 0) {
        netkey_format(&block, btext, sizeof(btext));
        snprintf(why, whysz, "%s is allowlisted (%s): delete the allowlist entry first", text,
                 btext);
        log_warning("%s: %s tried to list allowlisted %s", zone, who, text);
        return ERR_EXISTS;
    }
    int rc = engine_get(e, zone, key, &rec, now);
    if (rc)
        return rc;
    if (!store_listed_now(&rec, now)) {
        rec.listed_at = now;
        rec.times_listed++;
        if ((rc = store_count(e->st, zone, "listings_started", 1)) != 0)
            return rc;
    }
    rec.code = code;
    rec.expires_at = for_secs ? now + (time_t)for_secs : 0;
    rec.manual = true;
    snprintf(rec.reason, sizeof(rec.reason), "%s", reason && reason[0] ? reason : "listed by hand");
    struct store_event ev = {.when = now};
    snprintf(ev.kind, sizeof(ev.kind), "add");
    snprintf(ev.reporter, sizeof(ev.reporter), "%s", who);
    snprintf(ev.text, sizeof(ev.text), "%s", rec.reason);
    if ((rc = store_put(e->st, zone, &rec)) != 0 ||
        (rc = store_event_add(e->st, zone, key, &ev)) != 0)
        return rc;
    bool escalated;
    return engine_escalate(e, zone, key, now, &escalated);
}

/* End a listing in force; how is "deleted" or "removed". */
static int engine_end(struct engine *e, const char *zone, const struct netkey *key, const char *who,
                      time_t now, const char *how)
{
    struct store_listing rec;
    int rc = engine_get(e, zone, key, &rec, now);
    if (rc)
        return rc;
    if (!store_listed_now(&rec, now))
        return ERR_NOTFOUND;
    if ((rc = engine_close(e, zone, &rec, now, how)) != 0)
        return rc;
    if (!strcmp(how, "removed")) {
        rec.removals++;
        rec.last_removal = now;
    }
    struct store_event ev = {.when = now};
    snprintf(ev.kind, sizeof(ev.kind), "%s", !strcmp(how, "removed") ? "removal" : "del");
    snprintf(ev.reporter, sizeof(ev.reporter), "%s", who);
    if ((rc = store_put(e->st, zone, &rec)) != 0 ||
        (rc = store_event_add(e->st, zone, key, &ev)) != 0)
        return rc;
    bool escalated;
    return engine_escalate(e, zone, key, now, &escalated);
}

int engine_list_del(struct engine *e, const char *zone, const struct netkey *key, const char *who,
                    time_t now)
{
    return engine_end(e, zone, key, who, now, "deleted");
}

int engine_self_remove(struct engine *e, const char *zone, const struct netkey *key, time_t now,
                       char *why, size_t whysz)
{
    struct store_listing rec;
    char last[40], next[40];
    int rc = engine_get(e, zone, key, &rec, now);
    if (rc)
        return rc;
    if (!store_listed_now(&rec, now)) {
        snprintf(why, whysz, "not listed");
        return ERR_NOTFOUND;
    }
    if (rec.manual || key->bits < (key->family == 4 ? 32 : 64)) {
        snprintf(why, whysz, "listed by the list's operators, not by evidence: ask them");
        return ERR_LIMIT;
    }
    if (!policy_removal_allowed(&e->conf->policy, rec.last_removal, now)) {
        engine_time(rec.last_removal, last, sizeof(last));
        engine_time(rec.last_removal + (time_t)e->conf->policy.removal_interval, next,
                    sizeof(next));
        snprintf(why, whysz, "removed already on %s; the next removal is possible from %s", last,
                 next);
        return ERR_LIMIT;
    }
    return engine_end(e, zone, key, "self-service", now, "removed");
}

struct engine_keys {
    struct netkey *k;
    size_t n, cap;
    const struct netkey *inside; /* collect only keys inside this block */
    bool blocks24;               /* collect only evidence-made IPv4 /24s */
};

static int engine_keys_add(struct engine_keys *c, const struct netkey *k)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        struct netkey *p = realloc(c->k, cap * sizeof(*p));
        if (!p)
            return ERR_NOMEM;
        c->k = p;
        c->cap = cap;
    }
    c->k[c->n++] = *k;
    return 0;
}

static int engine_keys_cb(const struct store_listing *l, void *arg)
{
    struct engine_keys *c = arg;
    if (c->inside && !netkey_contains(c->inside, &l->key))
        return 0;
    if (c->blocks24 && (l->key.family != 4 || l->key.bits != 24 || l->manual))
        return 0;
    return engine_keys_add(c, &l->key);
}

int engine_allow_add(struct engine *e, const char *zone, const struct netkey *block,
                     const char *note, time_t now)
{
    /* Listings inside the block end first (collected before, as the walk
     * must not see its own writes), and the entry comes last: a follower
     * applies the change log in order, and the exclusion must be the last
     * word on a key the block shares with a listing. */
    struct engine_keys c = {.inside = block};
    int rc = store_foreach_listed(e->st, zone, now, engine_keys_cb, &c);
    for (size_t i = 0; rc == 0 && i < c.n; i++) {
        struct store_listing rec;
        if ((rc = engine_get(e, zone, &c.k[i], &rec, now)) == 0 && rec.code != 0 &&
            (rc = engine_close(e, zone, &rec, now, "allowed")) == 0)
            rc = store_put(e->st, zone, &rec);
    }
    free(c.k);
    return rc ? rc : store_allow_add(e->st, zone, block, now, note ? note : "");
}

int engine_allow_del(struct engine *e, const char *zone, const struct netkey *block)
{
    return store_allow_del(e->st, zone, block);
}

static int engine_expired_cb(const struct store_listing *l, void *arg)
{
    return engine_keys_add(arg, &l->key);
}

int engine_sweep(struct engine *e, const char *zone, time_t now, unsigned *ended)
{
    struct engine_keys c = {0}, b = {.blocks24 = true};
    *ended = 0;
    int rc = store_foreach_expired(e->st, zone, now, engine_expired_cb, &c);
    for (size_t i = 0; rc == 0 && i < c.n; i++) {
        struct store_listing rec;
        if ((rc = store_get(e->st, zone, &c.k[i], &rec)) != 0 || rec.code == 0 ||
            store_listed_now(&rec, now))
            continue;
        if ((rc = engine_close(e, zone, &rec, now, "expired")) == 0 &&
            (rc = store_put(e->st, zone, &rec)) == 0)
            (*ended)++;
    }
    /* An escalated /24 ends when its count falls below the threshold. */
    if (rc == 0)
        rc = store_foreach_listed_bits(e->st, zone, 4, 24, now, engine_keys_cb, &b);
    for (size_t i = 0; rc == 0 && i < b.n; i++) {
        bool listed;
        struct netkey host = b.k[i];
        host.bits = 32;
        rc = engine_escalate(e, zone, &host, now, &listed);
        if (rc == 0 && !listed)
            (*ended)++;
    }
    free(c.k);
    free(b.k);
    /* The logs the sweep keeps short: the change log (a server follows it
     * within a second; one stopped longer loads afresh) and events past
     * any use (the evidence window, and 30 days of `list show`). */
    time_t keep = (time_t)e->conf->policy.evidence_window;
    if (keep < 30 * 86400)
        keep = 30 * 86400;
    if (rc == 0)
        rc = store_prune_changes(e->st, now - 3600);
    if (rc == 0)
        rc = store_prune_events(e->st, now - keep);
    return rc;
}

struct engine_hist {
    unsigned count;
    int64_t secs;
};

static int engine_hist_cb(const struct store_past *p, void *arg)
{
    struct engine_hist *h = arg;
    h->count++;
    if (p->ended_at > p->listed_at)
        h->secs += p->ended_at - p->listed_at;
    return 0;
}

int engine_status(struct engine *e, const char *zone, const struct netkey *key, time_t now,
                  struct engine_status *out)
{
    memset(out, 0, sizeof(*out));
    int rc = store_get(e->st, zone, key, &out->rec);
    if (rc && rc != ERR_NOTFOUND)
        return rc;
    out->known = rc == 0;
    out->rec.key = *key;
    out->listed = out->known && store_listed_now(&out->rec, now);
    out->allowlisted = store_allow_find(e->st, zone, key, &out->allow_block) == 0;
    /* Not listed itself: the longest listed block around it answers, as
     * in DNS (an allowlist entry still wins). */
    unsigned min = key->family == 4 ? ENGINE_MIN_PREFIX4 : ENGINE_MIN_PREFIX6;
    for (unsigned b = key->bits; !out->listed && !out->allowlisted && !out->covered && b-- > min;) {
        struct netkey k = *key;
        k.bits = (uint8_t)b;
        if (k.family == 4)
            k.hi &= b ? (uint64_t)(UINT32_MAX << (32 - b)) : 0;
        else
            k.hi &= b ? UINT64_MAX << (64 - b) : 0;
        rc = store_get(e->st, zone, &k, &out->block);
        if (rc && rc != ERR_NOTFOUND)
            return rc;
        if (rc == 0 && store_listed_now(&out->block, now)) {
            out->covered = true;
            out->escalated = k.family == 4 && b == 24 && !out->block.manual;
        }
    }
    struct policy_evidence evd;
    if ((rc = engine_evidence(e, zone, key, now, &evd)) != 0)
        return rc;
    out->score = evd.score;
    out->reports = evd.reports;
    out->traps = evd.traps;
    struct engine_hist h = {0};
    rc = store_history(e->st, zone, key, now - 30 * 86400, engine_hist_cb, &h);
    out->history_count = h.count;
    out->history_secs = h.secs;
    return rc;
}
