/* Wire-format domain name helpers. */
#include "common/name.h"
#include "common/err.h"

#include <stdio.h>
#include <string.h>

static uint8_t name_fold(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

int name_from_text(const char *text, uint8_t out[NAME_MAXWIRE], size_t *outlen)
{
    size_t pos = 0;
    if (text[0] == '.' && text[1] == '\0') {
        out[0] = 0;
        *outlen = 1;
        return 0;
    }
    const char *s = text;
    while (*s) {
        size_t lenpos = pos++;
        size_t label = 0;
        while (*s && *s != '.') {
            unsigned c = (unsigned char)*s++;
            if (c == '\\') {
                if (s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' &&
                    s[2] <= '9') {
                    c = (unsigned)((s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0'));
                    if (c > 255)
                        return ERR_INVAL;
                    s += 3;
                } else if (*s) {
                    c = (unsigned char)*s++;
                } else {
                    return ERR_INVAL;
                }
            }
            if (++label > NAME_MAXLABEL || pos >= NAME_MAXWIRE - 1)
                return ERR_INVAL;
            out[pos++] = name_fold((uint8_t)c);
        }
        if (label == 0)
            return ERR_INVAL; /* empty label: "a..b" or leading dot */
        out[lenpos] = (uint8_t)label;
        if (*s == '.')
            s++;
    }
    if (pos >= NAME_MAXWIRE)
        return ERR_INVAL;
    out[pos++] = 0;
    *outlen = pos;
    return 0;
}

int name_to_text(const uint8_t *wire, char *out, size_t outsz)
{
    size_t pos = 0;
    if (outsz == 0)
        return ERR_SPACE;
    if (wire[0] == 0) {
        if (outsz < 2)
            return ERR_SPACE;
        out[0] = '.';
        out[1] = '\0';
        return 1;
    }
    while (*wire) {
        unsigned len = *wire++;
        if (pos > 0) {
            if (pos + 1 >= outsz)
                return ERR_SPACE;
            out[pos++] = '.';
        }
        for (unsigned i = 0; i < len; i++) {
            uint8_t c = wire[i];
            if (c == '.' || c == '\\') {
                if (pos + 2 >= outsz)
                    return ERR_SPACE;
                out[pos++] = '\\';
                out[pos++] = (char)c;
            } else if (c <= ' ' || c >= 127) {
                if (pos + 4 >= outsz)
                    return ERR_SPACE;
                snprintf(out + pos, 5, "\\%03u", c);
                pos += 4;
            } else {
                if (pos + 1 >= outsz)
                    return ERR_SPACE;
                out[pos++] = (char)c;
            }
        }
        wire += len;
    }
    out[pos] = '\0';
    return (int)pos;
}

size_t name_wire_len(const uint8_t *wire)
{
    const uint8_t *p = wire;
    while (*p)
        p += *p + 1;
    return (size_t)(p - wire) + 1;
}

unsigned name_label_count(const uint8_t *wire)
{
    unsigned n = 0;
    while (*wire) {
        wire += *wire + 1;
        n++;
    }
    return n;
}

void name_lower(uint8_t *wire)
{
    while (*wire) {
        unsigned len = *wire++;
        for (unsigned i = 0; i < len; i++)
            wire[i] = name_fold(wire[i]);
        wire += len;
    }
}

bool name_equal(const uint8_t *a, const uint8_t *b)
{
    size_t la = name_wire_len(a);
    if (la != name_wire_len(b))
        return false;
    for (size_t i = 0; i < la; i++)
        if (name_fold(a[i]) != name_fold(b[i]))
            return false;
    return true;
}

int name_suffix_offset(const uint8_t *name, const uint8_t *suffix)
{
    size_t nl = name_wire_len(name), sl = name_wire_len(suffix);
    if (sl > nl)
        return -1;
    /* Walk labels until the remainder has the suffix's length; only a
     * label boundary can start the suffix. */
    const uint8_t *p = name;
    while ((size_t)(p - name) + sl < nl)
        p += *p + 1;
    if ((size_t)(p - name) + sl != nl || !name_equal(p, suffix))
        return -1;
    return (int)(p - name);
}
