/* A growable byte array in its own anonymous mapping, for the big
 * staging arrays of a load. It grows with mremap, so growing never holds
 * an old and a new copy at once; and a sweep that reads it front to back
 * can give the pages behind it back to the system, so the structure the
 * sweep builds grows into the memory the staging array frees. Together
 * they keep a load's peak near the size of what it builds, which is what
 * keeps a reload under twice the steady memory. */
#ifndef DBK_DATA_PAGEBUF_H
#define DBK_DATA_PAGEBUF_H

#include <stddef.h>

struct pagebuf {
    unsigned char *base; /* NULL until the first reserve */
    size_t cap;          /* bytes mapped */
    size_t dropped;      /* bytes at the front already given back */
};

void pagebuf_init(struct pagebuf *pb);

/* Make the buffer hold at least `bytes` bytes; the capacity doubles.
 * Contents are kept. Returns 0, or ERR_NOMEM with the buffer unchanged. */
int pagebuf_reserve(struct pagebuf *pb, size_t bytes);

/* Give back the whole pages within the first `bytes` bytes: the caller
 * will not read them again (they would read as zeros). */
void pagebuf_drop_head(struct pagebuf *pb, size_t bytes);

void pagebuf_free(struct pagebuf *pb);

#endif
