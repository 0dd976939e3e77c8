/* libdnsblkit's public (include/dnsblkit/dnsblkit.h) over the
 * checker and the [check] configuration. */
#include "dnsblkit/dnsblkit.h"
#include "client/check_conf.h"
#include "client/checker.h"
#include "common/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dnsblkit {
    struct check_conf conf;
    struct checker *ck; /* after dnsblkit_start */
    struct checker_list_info info;
};

struct dnsblkit_result {
    const struct checker_result *r;
};

dnsblkit *dnsblkit_new(const char *config, char *err, size_t errsz)
{
    dnsblkit *d = calloc(1, sizeof(*d));
    if (!d) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    check_conf_init(&d->conf);
    if (config && check_conf_load(&d->conf, config, err, errsz) < 0) {
        free(d);
        return NULL;
    }
    return d;
}

int dnsblkit_set(dnsblkit *d, const char *section, const char *key, const char *value, char *err,
                 size_t errsz)
{
    if (d->ck) {
        snprintf(err, errsz, "settings are read before dnsblkit_start");
        return ERR_INVAL;
    }
    return check_conf_set(&d->conf, section, key, value, err, errsz);
}

int dnsblkit_start(dnsblkit *d, char *err, size_t errsz)
{
    if (d->ck) {
        snprintf(err, errsz, "already started");
        return ERR_INVAL;
    }
    int rc = check_conf_finish(&d->conf, NULL, err, errsz);
    if (rc < 0)
        return rc;
    if (d->conf.nspecs == 0) {
        snprintf(err, errsz, "no lists: set [check] lists or domain-lists");
        return ERR_INVAL;
    }
    return check_conf_checker(&d->conf, &d->ck, err, errsz);
}

struct api_call {
    dnsblkit_done_fn done;
    void *arg;
};

static void api_done(void *arg, const struct checker_result *res)
{
    struct api_call *call = arg;
    struct dnsblkit_result r = {res};
    call->done(call->arg, &r);
    free(call);
}

int dnsblkit_check(dnsblkit *d, const char *subject, unsigned flags, dnsblkit_done_fn done,
                   void *arg)
{
    if (!d->ck)
        return ERR_INVAL;
    struct api_call *call = malloc(sizeof(*call));
    if (!call)
        return ERR_NOMEM;
    call->done = done;
    call->arg = arg;
    int rc = checker_check(d->ck, subject, flags & DNSBLKIT_TXT ? CHECKER_TXT : 0, api_done, call);
    if (rc < 0)
        free(call);
    return rc;
}

void dnsblkit_probe(dnsblkit *d)
{
    if (d->ck)
        checker_probe_all(d->ck);
}

void dnsblkit_set_periodic(dnsblkit *d, int on)
{
    if (d->ck)
        checker_set_periodic(d->ck, on != 0);
}

int dnsblkit_run(dnsblkit *d, int max_ms)
{
    return d->ck ? checker_run(d->ck, max_ms) : ERR_INVAL;
}

unsigned dnsblkit_pending(const dnsblkit *d)
{
    return d->ck ? checker_pending(d->ck) : 0;
}

void dnsblkit_free(dnsblkit *d)
{
    if (!d)
        return;
    checker_free(d->ck);
    free(d);
}

const char *dnsblkit_result_subject(const dnsblkit_result *r)
{
    return r->r->subject;
}

int dnsblkit_result_score(const dnsblkit_result *r)
{
    return r->r->score;
}

int dnsblkit_result_listed(const dnsblkit_result *r)
{
    return r->r->listed;
}

unsigned dnsblkit_result_nlists(const dnsblkit_result *r)
{
    return r->r->nlists;
}

static const struct checker_list_result *api_list(const dnsblkit_result *r, unsigned i)
{
    return i < r->r->nlists ? &r->r->lists[i] : NULL;
}

const char *dnsblkit_result_zone(const dnsblkit_result *r, unsigned i)
{
    const struct checker_list_result *l = api_list(r, i);
    return l ? l->zone : "";
}

const char *dnsblkit_result_outcome(const dnsblkit_result *r, unsigned i)
{
    static const char *const names[] = {"not_listed", "listed", "ignored", "error", "skipped"};
    const struct checker_list_result *l = api_list(r, i);
    return l ? names[l->outcome] : "";
}

const char *dnsblkit_result_health(const dnsblkit_result *r, unsigned i)
{
    const struct checker_list_result *l = api_list(r, i);
    return l ? health_state_name(l->health) : "";
}

int dnsblkit_result_list_score(const dnsblkit_result *r, unsigned i)
{
    const struct checker_list_result *l = api_list(r, i);
    return l && l->outcome == CHECKER_LISTED ? l->score : 0;
}

unsigned dnsblkit_result_codes(const dnsblkit_result *r, unsigned i, uint32_t *codes, unsigned max)
{
    const struct checker_list_result *l = api_list(r, i);
    if (!l)
        return 0;
    unsigned n = l->rep.na < max ? l->rep.na : max;
    if (n)
        memcpy(codes, l->rep.a, n * sizeof(*codes));
    return l->rep.na;
}

const char *dnsblkit_result_txt(const dnsblkit_result *r, unsigned i)
{
    const struct checker_list_result *l = api_list(r, i);
    return l ? l->txt : "";
}

const char *dnsblkit_result_why(const dnsblkit_result *r, unsigned i)
{
    const struct checker_list_result *l = api_list(r, i);
    return l ? l->why : "";
}

int dnsblkit_list(dnsblkit *d, unsigned i, const char **zone, const char **state, const char **why)
{
    if (!d->ck || i >= checker_nlists(d->ck))
        return ERR_NOTFOUND;
    checker_list_info(d->ck, i, &d->info);
    *zone = d->info.zone;
    *state = health_state_name(d->info.health.state);
    *why = d->info.health.why;
    return 0;
}

const char *dnsblkit_strerror(int code)
{
    return err_str(code);
}
