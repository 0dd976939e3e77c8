/* Name compression for replies (RFC 1035 4.1.4): internal to the wire
 * layer, used by the reply writer for owner names and RDATA names. */
#ifndef DBK_WIRE_COMPRESS_H
#define DBK_WIRE_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "wire/wire.h"

/* Write the uncompressed wire name `name` (at most `namemax` readable
 * bytes) at r->buf[*pos], never at or past `end`, replacing its longest
 * suffix already present in the packet (names whose starts are recorded
 * in r->comp, looked up in r->buf[0..*pos)) with a pointer. Records where
 * the new name starts, when room remains in r->comp. On success advances
 * *pos and stores the input length in *consumed. Returns ERR_SPACE, or
 * ERR_INVAL for a malformed name. */
int wire_compress_name(struct wire_reply *r, size_t *pos, size_t end, const uint8_t *name,
                       size_t namemax, size_t *consumed);

#endif
