/* Reading the [policyd] section of dnsblkit.conf. */
#include "policy/policy_conf.h"
#include "common/duration.h"
#include "common/err.h"
#include "common/inifile.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void policy_conf_init(struct policy_conf *c)
{
    memset(c, 0, sizeof(*c));
    policy_listen_parse("127.0.0.1/10040", &c->listen[0]);
    c->nlisten = 1;
    snprintf(c->state, sizeof(c->state), "RCPT");
    policy_decide_conf_init(&c->decide);
    c->max_connections = 256;
    /* Below Postfix's smtpd_policy_service_timeout, which admins often
     * set to 10 s, and above the resolver's first two tries (1 s + 2 s). */
    c->answer_timeout_ms = 5000;
}

int policy_listen_parse(const char *spec, struct policy_listen *out)
{
    memset(out, 0, sizeof(*out));
    if (!strncmp(spec, "unix:", 5)) {
        size_t len = strlen(spec + 5);
        if (len == 0 || len >= sizeof(out->path) || spec[5] != '/')
            return ERR_INVAL;
        out->unix_socket = true;
        memcpy(out->path, spec + 5, len + 1);
        return 0;
    }
    struct addr_sock a;
    if (addr_sock_parse(spec, POLICY_DEFAULT_PORT, &a) < 0)
        return ERR_INVAL;
    const struct sockaddr *sa = (const struct sockaddr *)&a.ss;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &sin->sin_addr, out->host, sizeof(out->host));
        out->port = ntohs(sin->sin_port);
    } else {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)sa;
        inet_ntop(AF_INET6, &sin6->sin6_addr, out->host, sizeof(out->host));
        out->port = ntohs(sin6->sin6_port);
    }
    return out->port ? 0 : ERR_INVAL;
}

struct policy_ini {
    struct policy_conf *c;
    const char *path;
    char *err;
    size_t errsz;
    int line;
    bool listen_set; /* the first listen key replaces the default */
};

static int policy_fail(struct policy_ini *st, const char *key, const char *value, const char *want)
{
    snprintf(st->err, st->errsz, "%s:%d: bad %s '%s' (%s)", st->path, st->line, key, value, want);
    return 0;
}

static int policy_score(const char *v, int *out)
{
    char *end;
    long n = strtol(v, &end, 10);
    if (!*v || *end || n < 0 || n > 100000)
        return ERR_INVAL;
    *out = (int)n;
    return 0;
}

/* Each item of a blank- or comma-separated list. */
static int policy_items(struct policy_ini *st, const char *key, const char *value,
                        int (*take)(struct policy_ini *st, const char *key, const char *item))
{
    char buf[2048];
    if (strlen(value) >= sizeof(buf))
        return policy_fail(st, key, "...", "too long");
    memcpy(buf, value, strlen(value) + 1);
    for (char *save, *tok = strtok_r(buf, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save))
        if (!take(st, key, tok))
            return 0;
    return 1;
}

static int policy_take_listen(struct policy_ini *st, const char *key, const char *item)
{
    struct policy_conf *c = st->c;
    if (!st->listen_set) {
        c->nlisten = 0;
        st->listen_set = true;
    }
    if (c->nlisten == POLICY_MAX_LISTEN)
        return policy_fail(st, key, item, "at most 8 addresses");
    if (policy_listen_parse(item, &c->listen[c->nlisten]) < 0)
        return policy_fail(st, key, item, "addr/port, [v6addr]/port or unix:/path");
    c->nlisten++;
    return 1;
}

static int policy_take_allow(struct policy_ini *st, const char *key, const char *item)
{
    struct policy_conf *c = st->c;
    if (c->nallow == POLICY_MAX_ALLOW)
        return policy_fail(st, key, item, "at most 64 networks");
    if (addr_net_parse(item, &c->allow[c->nallow]) < 0)
        return policy_fail(st, key, item, "an address or addr/bits, IPv4 or IPv6");
    c->nallow++;
    return 1;
}

static int policy_handler(void *user, const char *section, const char *key, const char *value)
{
    struct policy_ini *st = user;
    struct policy_conf *c = st->c;
    if (strcmp(section, "policyd") != 0)
        return 1; /* other sections have their own readers */
    if (!strcmp(key, "listen"))
        return policy_items(st, key, value, policy_take_listen);
    if (!strcmp(key, "allow"))
        return policy_items(st, key, value, policy_take_allow);
    if (!strcmp(key, "state")) {
        static const char *const states[] = {"CONNECT", "EHLO", "HELO",          "MAIL",
                                             "RCPT",    "DATA", "END-OF-MESSAGE"};
        for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
            if (!strcmp(value, states[i])) {
                /* Postfix calls the state of HELO and EHLO alike HELO. */
                snprintf(c->state, sizeof(c->state), "%s", i == 1 ? "HELO" : value);
                return 1;
            }
        return policy_fail(st, key, value, "CONNECT, HELO, MAIL, RCPT, DATA or END-OF-MESSAGE");
    }
    if (!strcmp(key, "reject-score"))
        return policy_score(value, &c->decide.reject_score) < 0
                   ? policy_fail(st, key, value, "0..100000; 0 = never")
                   : 1;
    if (!strcmp(key, "mark-score"))
        return policy_score(value, &c->decide.mark_score) < 0
                   ? policy_fail(st, key, value, "0..100000; 0 = never")
                   : 1;
    if (!strcmp(key, "reject-text")) {
        const char *why;
        if (strlen(value) >= sizeof(c->decide.reject_text))
            return policy_fail(st, key, "...", "at most 511 characters");
        if (policy_decide_check_text(value, &why) < 0)
            return policy_fail(st, key, value, why);
        snprintf(c->decide.reject_text, sizeof(c->decide.reject_text), "%s", value);
        return 1;
    }
    if (!strcmp(key, "when-blind")) {
        if (!strcmp(value, "DUNNO"))
            c->decide.defer_when_blind = false;
        else if (!strcmp(value, "DEFER_IF_PERMIT"))
            c->decide.defer_when_blind = true;
        else
            return policy_fail(st, key, value, "DUNNO or DEFER_IF_PERMIT");
        return 1;
    }
    if (!strcmp(key, "answer-timeout")) {
        uint32_t ms;
        if (duration_parse_ms(value, &ms) < 0 || ms < 100 || ms > 60000)
            return policy_fail(st, key, value, "100ms..60s, such as 5s");
        c->answer_timeout_ms = ms;
        return 1;
    }
    if (!strcmp(key, "user")) {
        char why[160];
        return privdrop_parse(value, &c->user, why, sizeof(why)) < 0
                   ? policy_fail(st, key, value, "USER or USER:GROUP of this system")
                   : 1;
    }
    if (!strcmp(key, "chroot")) {
        if (value[0] != '/' || strlen(value) >= sizeof(c->chroot_dir))
            return policy_fail(st, key, value, "an absolute path");
        snprintf(c->chroot_dir, sizeof(c->chroot_dir), "%s", value);
        return 1;
    }
    if (!strcmp(key, "check-helo") || !strcmp(key, "check-sender")) {
        bool *b = key[6] == 'h' ? &c->check_helo : &c->check_sender;
        return inifile_bool(value, b) < 0 ? policy_fail(st, key, value, "yes or no") : 1;
    }
    if (!strcmp(key, "max-connections")) {
        char *end;
        unsigned long n = strtoul(value, &end, 10);
        if (*value < '1' || *value > '9' || *end || n > 65536)
            return policy_fail(st, key, value, "1..65536");
        c->max_connections = (unsigned)n;
        return 1;
    }
    snprintf(st->err, st->errsz, "%s:%d: unknown key '%s' in [policyd]", st->path, st->line, key);
    return 0;
}

int policy_conf_load(struct policy_conf *c, const char *path, char *err, size_t errsz)
{
    struct policy_ini st = {c, path, err, errsz, 0, false};
    err[0] = '\0';
    int rc = inifile_load(path, &st.line, policy_handler, &st, err, errsz);
    if (rc == 0 && c->decide.mark_score && c->decide.reject_score &&
        c->decide.mark_score >= c->decide.reject_score) {
        snprintf(err, errsz, "%s: mark-score %d is not below reject-score %d: it would never mark",
                 path, c->decide.mark_score, c->decide.reject_score);
        return ERR_INVAL;
    }
    return rc;
}

bool policy_conf_allowed(const struct policy_conf *c, const char *client_address)
{
    struct addr_net a;
    /* A bare address parses as a /32 or /128: its hi/lo are the address. */
    if (strchr(client_address, '/') || addr_net_parse(client_address, &a) < 0)
        return false;
    for (unsigned i = 0; i < c->nallow; i++)
        if (addr_net_has(&c->allow[i], a.hi, a.lo))
            return true;
    return false;
}
