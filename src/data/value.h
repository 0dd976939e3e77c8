/* Answer values (an A code and a TXT template) stored once per dataset and
 * referred to by a 32-bit index, so a million entries with one reason cost
 * one copy of the text. */
#ifndef DBK_DATA_VALUE_H
#define DBK_DATA_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/dataset.h"

struct ds_value {
    uint8_t a[4]; /* A record, network order (127.0.0.2 = 7f 00 00 02) */
    bool has_txt; /* false: answer without TXT (":5:" form) */
    uint16_t txtlen;
    const char *txt; /* template: '$' = query subject, "$$" = '$' */
};

struct vtab;

/* Create and free a value table. */
int vtab_new(struct vtab **out);
void vtab_free(struct vtab *vt);

/* Store a value (deduplicated) and return its index. */
int vtab_intern(struct vtab *vt, const struct ds_value *v, uint32_t *idx);

/* The value at an index (valid until vtab_free). */
const struct ds_value *vtab_get(const struct vtab *vt, uint32_t idx);

/* Number of distinct values and bytes held, for memory accounting. */
size_t vtab_count(const struct vtab *vt);
size_t vtab_bytes(const struct vtab *vt);

/* Append the A and (if any) TXT record of a value to a query result. */
int vtab_emit(const struct vtab *vt, uint32_t idx, uint32_t ttl, struct ds_result *res);

/* The same for a value held outside a table. */
int ds_value_emit(const struct ds_value *v, uint32_t ttl, struct ds_result *res);

#endif
