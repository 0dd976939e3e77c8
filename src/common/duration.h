/* Durations in configuration files and options: "90", "90s", "15m",
 * "12h", "7d", "2w", and for short timeouts "500ms". */
#ifndef DBK_COMMON_DURATION_H
#define DBK_COMMON_DURATION_H

#include <stdint.h>

/* Seconds: decimal digits and at most one unit letter (s m h d w, lower
 * case; none means seconds). ERR_INVAL for anything else (signs, blanks,
 * fractions, two units); ERR_RANGE past UINT32_MAX seconds. *out is set
 * only on success. */
int duration_parse(const char *text, uint32_t *out);

/* Milliseconds: the same, or digits followed by "ms". ERR_RANGE past
 * UINT32_MAX milliseconds (about 49 days). */
int duration_parse_ms(const char *text, uint32_t *out);

#endif
