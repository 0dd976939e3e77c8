/* The health state machine of one DNS list: probe rounds in, HEALTHY or
 * SICK out, with hysteresis so one lost packet does not flap a list. */
#include "client/health.h"

#include <string.h>

void health_conf_init(struct health_conf *c)
{
    c->sick_after = HEALTH_DEFAULT_SICK_AFTER;
    c->healthy_after = HEALTH_DEFAULT_HEALTHY_AFTER;
}

void health_init(struct health *h, bool enabled, int64_t now_ms)
{
    memset(h, 0, sizeof(*h));
    h->state = enabled ? HEALTH_UNKNOWN : HEALTH_DISABLED;
    h->since_ms = now_ms;
}

/* Copy why into h->why, cut at a UTF-8 character boundary when it does
 * not fit: the reason ends up in logs and JSON, where half a character
 * is an encoding error. */
static void health_set_why(struct health *h, const char *why)
{
    if (!why || !*why)
        why = "no reason given";
    size_t len = strlen(why);
    if (len >= sizeof(h->why)) {
        len = sizeof(h->why) - 1;
        /* why[len] is the first byte left out: while it continues a
         * character, the cut is inside one; back up to its lead byte and
         * leave the whole character out. */
        while (len > 0 && ((unsigned char)why[len] & 0xc0) == 0x80)
            len--;
    }
    memcpy(h->why, why, len);
    h->why[len] = '\0';
}

/* A threshold of 0 would mean "change state without any round"; a
 * configuration that says 0 gets the strictest meaningful value. */
static unsigned health_at_least_one(unsigned n)
{
    return n ? n : 1;
}

bool health_round(struct health *h, const struct health_conf *c, enum health_outcome o,
                  const char *why, int64_t now_ms)
{
    if (h->state == HEALTH_DISABLED)
        return false;
    struct health_conf defaults;
    if (!c) {
        health_conf_init(&defaults);
        c = &defaults;
    }
    h->rounds++;
    h->last_round_ms = now_ms;
    if (o == HEALTH_GOOD) {
        h->good_streak++;
        h->bad_streak = 0;
        h->last_good_ms = now_ms;
        h->why[0] = '\0';
    } else {
        /* A FATAL round also breaks a GOOD streak and counts as a bad
         * one: it is at least as bad as BAD. */
        h->bad_streak++;
        h->good_streak = 0;
        health_set_why(h, why);
    }

    enum health_state next = h->state;
    switch (h->state) {
    case HEALTH_UNKNOWN:
    case HEALTH_HEALTHY:
        if (o == HEALTH_FATAL ||
            (o == HEALTH_BAD && h->bad_streak >= health_at_least_one(c->sick_after)))
            next = HEALTH_SICK;
        else if (o == HEALTH_GOOD)
            next = HEALTH_HEALTHY;
        break;
    case HEALTH_SICK:
        if (o == HEALTH_GOOD && h->good_streak >= health_at_least_one(c->healthy_after))
            next = HEALTH_HEALTHY;
        break;
    case HEALTH_DISABLED:
        break;
    }
    if (next == h->state)
        return false;
    h->state = next;
    h->since_ms = now_ms;
    h->changes++;
    return true;
}

bool health_usable(const struct health *h)
{
    return h->state == HEALTH_HEALTHY;
}

bool health_fresh(const struct health *h, int64_t now_ms, int64_t fresh_ms)
{
    if (h->last_good_ms == 0)
        return false;
    return now_ms - h->last_good_ms <= fresh_ms;
}

const char *health_state_name(enum health_state s)
{
    switch (s) {
    case HEALTH_UNKNOWN:
        return "unknown";
    case HEALTH_HEALTHY:
        return "healthy";
    case HEALTH_SICK:
        return "sick";
    case HEALTH_DISABLED:
        return "disabled";
    }
    return "invalid";
}
