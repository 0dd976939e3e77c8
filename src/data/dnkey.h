/* Domain names as sort keys (dnset, generic): the wire labels of a name
 * relative to the zone, in reverse order ("\3com\7example" for
 * example.com), so that in a sorted array a name's subdomains follow it
 * and every ancestor of a name is a prefix of its key. Inline, since
 * queries compare keys while bisecting. */
#ifndef DBK_DATA_DNKEY_H
#define DBK_DATA_DNKEY_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Write the labels of the wire name w (len bytes, no root label) to out
 * in reverse order; returns the key length, which is len. */
static inline size_t dnkey_from_name(const uint8_t *w, size_t len, uint8_t *out)
{
    size_t pos = 0, o = len;
    while (pos < len) {
        size_t l = (size_t)w[pos] + 1;
        o -= l;
        memcpy(out + o, w + pos, l);
        pos += l;
    }
    return len;
}

/* Order two keys byte by byte, a key right before its extensions; <0, 0
 * or >0 as memcmp. */
static inline int dnkey_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    size_t m = alen < blen ? alen : blen;
    int r = m ? memcmp(a, b, m) : 0;
    if (r)
        return r;
    return alen < blen ? -1 : alen > blen;
}

#endif
