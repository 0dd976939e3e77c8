/* The listing policy: scoring evidence, listing and expiry rules, durations. */
#include "listing/policy.h"
#include "common/duration.h"
#include "common/err.h"

void policy_defaults(struct policy_params *p)
{
    *p = (struct policy_params){
        .report_fresh = 4,
        .report_floor = 1,
        .report_decay = 48 * 3600,
        .evidence_window = 7 * 86400,
        .trap_each = 5,
        .trap_square = 6,
        .threshold = 5,
        .min_reports = 2,
        .min_traps = 1,
        .expiry = 24 * 3600,
        .expiry_two_reports = 12 * 3600,
        .escalate_above = 4,
        .escalate_window = 7 * 86400,
        .removal_interval = 7 * 86400,
        .max_report_age = 48 * 3600,
        .code = 2,
        .escalate_code = 3,
    };
}

/* The weight of a report `age` seconds old, inside the window. */
static double policy_report_weight(const struct policy_params *p, int64_t age)
{
    if (age >= (int64_t)p->report_decay)
        return age == 0 ? p->report_fresh : p->report_floor; /* decay 0: a step */
    return p->report_fresh -
           (p->report_fresh - p->report_floor) * (double)age / (double)p->report_decay;
}

void policy_score(const struct policy_params *p, const struct policy_event *ev, size_t n,
                  time_t now, struct policy_evidence *out)
{
    *out = (struct policy_evidence){0};
    double reports = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t age = (int64_t)now - (int64_t)ev[i].when;
        /* A future event (a skewed reporter clock) counts as happening
         * now: fresh, and it cannot push the expiry past now + expiry. */
        time_t when = ev[i].when;
        if (age < 0) {
            age = 0;
            when = now;
        }
        if (age > (int64_t)p->evidence_window)
            continue;
        if (ev[i].kind == POLICY_REPORT) {
            out->reports++;
            reports += policy_report_weight(p, age);
        } else if (ev[i].kind == POLICY_TRAP) {
            out->traps++;
        } else {
            continue;
        }
        if (when > out->last)
            out->last = when;
    }
    double traps = out->traps < p->trap_square ? p->trap_each * (double)out->traps
                                               : (double)out->traps * (double)out->traps;
    out->score = reports + traps;
}

bool policy_should_list(const struct policy_params *p, const struct policy_evidence *e)
{
    return e->score >= p->threshold && (e->reports >= p->min_reports || e->traps >= p->min_traps);
}

time_t policy_expires(const struct policy_params *p, const struct policy_evidence *e)
{
    uint32_t span = e->traps == 0 && e->reports == 2 ? p->expiry_two_reports : p->expiry;
    return e->last + (time_t)span;
}

bool policy_escalates(const struct policy_params *p, unsigned listed)
{
    return listed > p->escalate_above;
}

bool policy_removal_allowed(const struct policy_params *p, time_t last_removal, time_t now)
{
    return last_removal == 0 ||
           (int64_t)now - (int64_t)last_removal >= (int64_t)p->removal_interval;
}

int policy_parse_duration(const char *text, uint32_t *out)
{
    return duration_parse(text, out);
}
