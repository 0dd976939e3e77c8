/* Domain names in DNS wire format (length-prefixed labels ending with the
 * root label), the form every layer stores and compares. */
#ifndef DBK_COMMON_NAME_H
#define DBK_COMMON_NAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NAME_MAXWIRE 255 /* longest name in wire form, root label included */
#define NAME_MAXLABEL 63
#define NAME_MAXLABELS 127
#define NAME_MAXTEXT 1024 /* buffer for the text form, escapes included */

/* Convert "a.b.example" or "a.b.example." (or "." for the root) to wire
 * form, folded to lower case. Backslash escapes (\. and \DDD) are accepted.
 * Writes at most NAME_MAXWIRE bytes; *outlen gets the wire length. */
int name_from_text(const char *text, uint8_t out[NAME_MAXWIRE], size_t *outlen);

/* Convert wire form to text without the trailing dot ("." for the root);
 * dots and unprintable bytes inside labels are escaped. Returns the text
 * length or ERR_SPACE. */
int name_to_text(const uint8_t *wire, char *out, size_t outsz);

/* Length in bytes of a well-formed wire name, root label included. */
size_t name_wire_len(const uint8_t *wire);

/* Number of labels, not counting the root. */
unsigned name_label_count(const uint8_t *wire);

/* Fold ASCII letters to lower case in place. */
void name_lower(uint8_t *wire);

/* Case-insensitive equality of two wire names. */
bool name_equal(const uint8_t *a, const uint8_t *b);

/* If `name` is `suffix` or lies below it (label-aligned, case-insensitive),
 * return the number of bytes of `name` before the suffix (0 when equal);
 * otherwise return -1. */
int name_suffix_offset(const uint8_t *name, const uint8_t *suffix);

#endif
