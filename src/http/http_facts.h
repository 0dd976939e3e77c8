/* What the lookup page and the JSON API say about one subject: for each
 * zone, what DNS answers, and for zones served from the listing database
 * the facts behind it — never the evidence itself or who reported it. */
#ifndef DBK_HTTP_HTTP_FACTS_H
#define DBK_HTTP_HTTP_FACTS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "server/server_lookup.h"

struct http_zone_facts {
    struct server_zone_answer dns; /* zone name, listed, codes, TXT */
    bool live;                     /* a listing zone: the fields below are set */
    bool unavailable;              /* ... unless its database cannot be opened */
    bool known;                    /* the database has a record of the subject */
    bool listed_itself;            /* listed as the address itself */
    bool covered;                  /* listed as part of a wider block ... */
    bool escalated;                /* ... its /24 for the addresses listed in it */
    char covered_by[64];           /* that block, "198.51.100.0/24" */
    bool manual;                   /* listed by the list's operators */
    char reason[160];
    time_t listed_at;  /* 0 = not listed */
    time_t expires_at; /* 0 = no end (or not listed) */
    bool allowlisted;
    char allow_block[64];
    unsigned reports, traps; /* counted in the evidence window */
    unsigned evidence_days;  /* the window, in days */
    unsigned history_count;  /* listings ended in the last 30 days */
    int64_t history_secs;    /* their total length */
    bool removable;          /* the owner may remove the listing now */
    char removal_note[200];  /* why not, when listed and not removable */
};

struct http_facts {
    char subject[256]; /* as asked, normalised ("2001:db8::1", "example.com") */
    time_t now;
    unsigned n;
    struct http_zone_facts z[SERVER_LOOKUP_MAX_ZONES];
};

#endif
