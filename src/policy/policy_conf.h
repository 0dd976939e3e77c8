/* The [policyd] section of dnsblkit.conf(5): where policyd listens, at
 * which protocol state it decides, the thresholds and reject text of
 * policy_decide, a static allowlist of client networks, and how many
 * Postfix connections it serves. The lists themselves come from [check]
 * (check_conf.h). */
#ifndef DBK_POLICY_POLICY_CONF_H
#define DBK_POLICY_POLICY_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/privdrop.h"
#include "policy/policy_decide.h"

#define POLICY_MAX_LISTEN 8
#define POLICY_MAX_ALLOW 64
#define POLICY_DEFAULT_PORT 10040

struct policy_listen {
    bool unix_socket;
    char path[108]; /* unix: the socket's path */
    char host[64];  /* TCP: the address */
    uint16_t port;
};

struct policy_conf {
    struct policy_listen listen[POLICY_MAX_LISTEN];
    unsigned nlisten;
    char state[16];    /* the protocol_state decided at; others get DUNNO */
    bool check_helo;   /* also the HELO name against the domain lists */
    bool check_sender; /* also the sender's domain against the domain lists */
    struct policy_decide_conf decide;
    struct addr_net allow[POLICY_MAX_ALLOW];
    unsigned nallow;
    unsigned max_connections;
    unsigned answer_timeout_ms; /* a request's checks longer than this: answered as blind */
    struct privdrop user;       /* who to become once listening */
    char chroot_dir[256];       /* "" = none */
};

/* Defaults: listen on 127.0.0.1/10040, decide at RCPT, reject at 1,
 * 256 connections, answers within 5 s. */
void policy_conf_init(struct policy_conf *c);

/* "127.0.0.1/10040", "[::1]/10040", "::1/10040" or "unix:/run/x.sock". */
int policy_listen_parse(const char *spec, struct policy_listen *out);

/* Read [policyd] from path; errors as "path:line: reason". */
int policy_conf_load(struct policy_conf *c, const char *path, char *err, size_t errsz);

/* Whether the client address (text, as Postfix sends it) is in the
 * allowlist. */
bool policy_conf_allowed(const struct policy_conf *c, const char *client_address);

#endif
