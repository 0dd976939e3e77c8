/* Name compression for replies: each name written is matched, longest
 * suffix first, against the names already in the packet. */
#include "wire/compress.h"

#include <stdbool.h>
#include <string.h>

#include "common/err.h"

#define PTR_MAX 0x3fffu /* a pointer holds a 14-bit offset */
#define COMP_SLOTS (sizeof(((struct wire_reply *)0)->comp) / sizeof(uint16_t))

static uint8_t fold(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

static bool label_equal(const uint8_t *a, const uint8_t *b)
{
    if (a[0] != b[0])
        return false;
    for (unsigned i = 1; i <= a[0]; i++)
        if (fold(a[i]) != fold(b[i]))
            return false;
    return true;
}

/* Label start offsets of the name at pkt[off], following pointers. We only
 * ever point backwards, so a pointer that does not is garbage; the bounds
 * make even garbage harmless. Returns the label count or -1. */
static int packet_labels(const uint8_t *pkt, size_t end, size_t off, uint16_t *offs)
{
    int n = 0;
    for (;;) {
        if (off >= end)
            return -1;
        uint8_t l = pkt[off];
        if ((l & 0xc0) == 0xc0) {
            if (off + 1 >= end)
                return -1;
            size_t to = (size_t)(l & 0x3f) << 8 | pkt[off + 1];
            if (to >= off)
                return -1;
            off = to;
            continue;
        }
        if (l > NAME_MAXLABEL || off + 1u + l > end)
            return -1;
        if (l == 0)
            return n;
        if (n >= NAME_MAXLABELS)
            return -1;
        offs[n++] = (uint16_t)off;
        off += 1u + l;
    }
}

/* Label start offsets of an uncompressed name; -1 if malformed. *len gets
 * its length, root label included. */
static int name_labels(const uint8_t *name, size_t namemax, uint16_t *offs, size_t *len)
{
    size_t off = 0;
    int n = 0;
    for (;;) {
        if (off >= namemax)
            return -1;
        uint8_t l = name[off];
        if (l > NAME_MAXLABEL || off + 1u + l > NAME_MAXWIRE || off + 1u + l > namemax)
            return -1;
        if (l == 0) {
            *len = off + 1;
            return n;
        }
        offs[n++] = (uint16_t)off;
        off += 1u + l;
    }
}

int wire_compress_name(struct wire_reply *r, size_t *pos, size_t end, const uint8_t *name,
                       size_t namemax, size_t *consumed)
{
    uint16_t noffs[NAME_MAXLABELS + 1], poffs[NAME_MAXLABELS + 1];
    size_t nlen;
    int k = name_labels(name, namemax, noffs, &nlen);
    if (k < 0)
        return ERR_INVAL;

    /* Compare from the last label backwards: the matching tail of each
     * recorded name is the suffix a pointer could replace. */
    int best = 0;
    size_t best_off = 0;
    for (unsigned c = 0; c < r->ncomp && best < k; c++) {
        int t = packet_labels(r->buf, *pos, r->comp[c], poffs);
        if (t <= 0)
            continue;
        int m = 0;
        while (m < k && m < t && label_equal(name + noffs[k - 1 - m], r->buf + poffs[t - 1 - m]))
            m++;
        /* Labels reached through pointers can sit anywhere, so check the
         * chosen start is addressable. */
        while (m > best && poffs[t - m] > PTR_MAX)
            m--;
        if (m > best) {
            best = m;
            best_off = poffs[t - m];
        }
    }

    size_t plain = best > 0 ? noffs[k - best] : nlen;
    size_t need = plain + (best > 0 ? 2 : 0);
    if (*pos > end || end - *pos < need)
        return ERR_SPACE;
    size_t start = *pos;
    memcpy(r->buf + start, name, plain);
    if (best > 0)
        wire_put16(r->buf + start + plain, (uint16_t)(0xc000u | best_off));
    if (best < k && start <= PTR_MAX && r->ncomp < COMP_SLOTS)
        r->comp[r->ncomp++] = (uint16_t)start;
    *pos = start + need;
    *consumed = nlen;
    return 0;
}
