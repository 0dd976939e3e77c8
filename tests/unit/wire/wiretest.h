/* Helpers shared by the wire-layer unit tests: building DNS messages by
 * hand, byte by byte, in network order. Each test_*.c is its own binary,
 * so everything here is static inline. */
#ifndef DBK_TESTS_WIRETEST_H
#define DBK_TESTS_WIRETEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wire/wire.h"

/* A message under construction: `n` bytes of `b` written so far. */
struct pkt {
    uint8_t b[2048];
    size_t n;
};

/* Append one byte. */
static inline void put8(struct pkt *p, uint8_t v)
{
    p->b[p->n++] = v;
}

/* Append a 16-bit value in network order. */
static inline void put16(struct pkt *p, uint16_t v)
{
    wire_put16(p->b + p->n, v);
    p->n += 2;
}

/* Append a 32-bit value in network order. */
static inline void put32(struct pkt *p, uint32_t v)
{
    wire_put32(p->b + p->n, v);
    p->n += 4;
}

/* Append `n` bytes as they are. */
static inline void put_raw(struct pkt *p, const void *s, size_t n)
{
    memcpy(p->b + p->n, s, n);
    p->n += n;
}

/* The labels of "a.B.c" in wire form, letter case kept, without the root
 * label (so a compression pointer can follow); "" or "." writes nothing. */
static inline void put_labels(struct pkt *p, const char *text)
{
    while (*text && strcmp(text, ".") != 0) {
        const char *dot = strchr(text, '.');
        size_t l = dot ? (size_t)(dot - text) : strlen(text);
        put8(p, (uint8_t)l);
        put_raw(p, text, l);
        text += l;
        if (*text == '.')
            text++;
    }
}

/* "a.B.c" in wire form, letter case kept; "" or "." is the root. */
static inline void put_name(struct pkt *p, const char *text)
{
    put_labels(p, text);
    put8(p, 0);
}

/* Append a question: `name` (as put_name), `type`, class IN. */
static inline void put_question(struct pkt *p, const char *name, uint16_t type)
{
    put_name(p, name);
    put16(p, type);
    put16(p, 1);
}

/* Start the message over with a 12-byte header. */
static inline void put_header(struct pkt *p, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an,
                              uint16_t ns, uint16_t ar)
{
    p->n = 0;
    put16(p, id);
    put16(p, flags);
    put16(p, qd);
    put16(p, an);
    put16(p, ns);
    put16(p, ar);
}

/* Append an OPT record: root owner, no options. */
static inline void put_opt(struct pkt *p, uint16_t udp, uint8_t version, bool dnssec_ok)
{
    put8(p, 0);
    put16(p, 41);
    put16(p, udp);
    put32(p, (uint32_t)version << 16 | (dnssec_ok ? 0x8000u : 0));
    put16(p, 0);
}

#endif
