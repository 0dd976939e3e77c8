/* libdnsblkit: check addresses and domains against DNS blocklists from
 * a mail host, safely. Every list is asked at once; answers outside
 * 127/8 and the error codes 127.255.255.252..255 never count; each list
 * is probed (RFC 5782 test entries, a random address and name, the SOA)
 * and a list that answers everything contributes nothing until it is
 * healthy again; a listing from a list not probed in the last seconds is
 * confirmed by a probe round before it counts.
 *
 * Single-threaded and non-blocking: the caller drives the work with
 * dnsblkit_run. Settings are those of the [check] and [list ZONE]
 * sections of dnsblkit.conf(5). All functions return 0 or a negative
 * error code unless they say otherwise; text errors go to err.
 *
 *   dnsblkit *d = dnsblkit_new(NULL, err, sizeof(err));
 *   dnsblkit_set(d, "check", "lists", "zen.example=127.0.0.[2..11]*3", err, sizeof(err));
 *   dnsblkit_start(d, err, sizeof(err));
 *   dnsblkit_check(d, "192.0.2.99", DNSBLKIT_TXT, done, NULL);
 *   while (dnsblkit_pending(d))
 *       dnsblkit_run(d, 100);
 *   dnsblkit_free(d);
 */
#ifndef DNSBLKIT_DNSBLKIT_H
#define DNSBLKIT_DNSBLKIT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DNSBLKIT_API_VERSION 1

typedef struct dnsblkit dnsblkit;
typedef struct dnsblkit_result dnsblkit_result;

/* A checker, with the [check] and [list ZONE] sections of `config` (a
 * dnsblkit.conf(5) file; NULL for none). NULL on error (err says why). */
dnsblkit *dnsblkit_new(const char *config, char *err, size_t errsz);

/* One setting, as a line of the file: section "check" or "list ZONE",
 * e.g. ("check", "lists", "bl.example*2") (lists add up), ("check",
 * "resolver", "127.0.0.1/53"), ("list bl.example", "enabled", "no").
 * Before dnsblkit_start only. */
int dnsblkit_set(dnsblkit *d, const char *section, const char *key, const char *value, char *err,
                 size_t errsz);

/* Check the settings and start the resolver. */
int dnsblkit_start(dnsblkit *d, char *err, size_t errsz);

#define DNSBLKIT_TXT 1u /* also fetch the TXT answer of lists that list the subject */

/* The result of one check, valid during the callback only. */
typedef void (*dnsblkit_done_fn)(void *arg, const dnsblkit_result *r);

/* Check an IPv4 or IPv6 address or a domain against every list; `done`
 * runs once, from dnsblkit_run (or from this call). A negative error
 * code for a subject that is none of those, or before dnsblkit_start. */
int dnsblkit_check(dnsblkit *d, const char *subject, unsigned flags, dnsblkit_done_fn done,
                   void *arg);

/* Probe every list now (its state shows in dnsblkit_list). */
void dnsblkit_probe(dnsblkit *d);

/* Probe each list every probe-interval from dnsblkit_run, as a daemon
 * should (on = 1), or only when a listing needs it (on = 0, the start). */
void dnsblkit_set_periodic(dnsblkit *d, int on);

/* Process answers and timers for at most max_ms; returns early when
 * nothing is pending and periodic probing is off. */
int dnsblkit_run(dnsblkit *d, int max_ms);

/* Checks and probe rounds not finished. */
unsigned dnsblkit_pending(const dnsblkit *d);

void dnsblkit_free(dnsblkit *d);

/* The subject as given, its score (the weights of the specs that list
 * it, from lists that may count), and whether that reaches the
 * threshold. */
const char *dnsblkit_result_subject(const dnsblkit_result *r);
int dnsblkit_result_score(const dnsblkit_result *r);
int dnsblkit_result_listed(const dnsblkit_result *r);

/* Per list, in order: its zone; "listed", "not_listed", "ignored" (sick,
 * disabled, unconfirmed or a bogus answer: counts nothing), "error" (no
 * usable answer) or "skipped" (a list for other subjects); its health
 * ("unknown", "healthy", "sick", "disabled"); its part of the score; the
 * A codes it answered (host order, up to max; returns how many); the TXT
 * (with DNSBLKIT_TXT, "" otherwise); why it counts nothing, or "". */
unsigned dnsblkit_result_nlists(const dnsblkit_result *r);
const char *dnsblkit_result_zone(const dnsblkit_result *r, unsigned i);
const char *dnsblkit_result_outcome(const dnsblkit_result *r, unsigned i);
const char *dnsblkit_result_health(const dnsblkit_result *r, unsigned i);
int dnsblkit_result_list_score(const dnsblkit_result *r, unsigned i);
unsigned dnsblkit_result_codes(const dnsblkit_result *r, unsigned i, uint32_t *codes, unsigned max);
const char *dnsblkit_result_txt(const dnsblkit_result *r, unsigned i);
const char *dnsblkit_result_why(const dnsblkit_result *r, unsigned i);

/* A list's zone, state and the reason of its last bad round ("" when
 * none), valid until the next call; a negative code past the last list. */
int dnsblkit_list(dnsblkit *d, unsigned i, const char **zone, const char **state, const char **why);

/* A short English text for an error code of this library. */
const char *dnsblkit_strerror(int code);

#ifdef __cplusplus
}
#endif

#endif
