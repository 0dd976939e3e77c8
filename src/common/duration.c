/* Parsing durations with a unit suffix. */
#include "common/duration.h"
#include "common/err.h"

#include <stdbool.h>
#include <string.h>

/* The digits at text, saturated at UINT32_MAX + 1; *end after them. */
static int duration_digits(const char *text, uint64_t *v, const char **end)
{
    if (!text || *text < '0' || *text > '9')
        return ERR_INVAL; /* empty, signed, or junk first */
    uint64_t n = 0;
    const char *s = text;
    /* Saturate rather than stop: "99999999999x" is junk, not a range
     * error, and that needs the suffix read first. */
    for (; *s >= '0' && *s <= '9'; s++) {
        n = n * 10 + (uint64_t)(*s - '0');
        if (n > UINT32_MAX)
            n = (uint64_t)UINT32_MAX + 1;
    }
    *v = n;
    *end = s;
    return 0;
}

static int duration_unit(const char *s, uint64_t *unit)
{
    static const struct {
        char c;
        uint64_t seconds;
    } units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 7 * 86400}};
    if (*s == '\0') {
        *unit = 1;
        return 0;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (*s == units[i].c && s[1] == '\0') {
            *unit = units[i].seconds;
            return 0;
        }
    return ERR_INVAL;
}

int duration_parse(const char *text, uint32_t *out)
{
    uint64_t v, unit;
    const char *s;
    if (duration_digits(text, &v, &s) < 0 || duration_unit(s, &unit) < 0)
        return ERR_INVAL;
    if (v * unit > UINT32_MAX)
        return ERR_RANGE;
    *out = (uint32_t)(v * unit);
    return 0;
}

int duration_parse_ms(const char *text, uint32_t *out)
{
    uint64_t v, unit;
    const char *s;
    if (duration_digits(text, &v, &s) < 0)
        return ERR_INVAL;
    if (!strcmp(s, "ms"))
        unit = 1;
    else if (duration_unit(s, &unit) == 0)
        unit *= 1000;
    else
        return ERR_INVAL;
    if (v * unit > UINT32_MAX)
        return ERR_RANGE;
    *out = (uint32_t)(v * unit);
    return 0;
}
