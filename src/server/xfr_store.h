/* A zone's IXFR history on disk, in state-dir, so that a restart on the
 * same data answers IXFR from the serials the secondaries hold instead
 * of sending each of them the whole zone (Knot and BIND keep journals
 * for the same reason).
 *
 * One file per zone, `ixfr-ZONE`, written whole after each difference
 * (a new file renamed over the old, synced), its size bounded by the
 * history's own (xfr_journal.h). It holds the differences, the data
 * fingerprint of the version the newest leads to (serial_fingerprint)
 * and a digest of what shapes the records besides the data (the NS set,
 * the TTL clamps), and ends in a CRC-32. A history is used only for a
 * zone that comes back as that version: the same serial, SOA and data
 * fingerprint, the same digest; anything else (data changed while the
 * server was down, a torn or foreign file) starts the history again,
 * and an IXFR gets the whole zone as it would without the file. */
#ifndef DBK_SERVER_XFR_STORE_H
#define DBK_SERVER_XFR_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "server/xfr_delta.h"
#include "server/zone.h"

/* The file of zone z in dir; ERR_INVAL for a zone name that is no safe
 * file name (then its history is not kept on disk). */
int xfr_store_path(const char *dir, const struct zone *z, char *out, size_t outsz);

/* What shapes z's records besides its data: its NS set and TTLs, the TTL
 * clamps (-t). */
uint64_t xfr_store_zone_digest(const struct zone *z, uint32_t ttl_min, uint32_t ttl_max);

/* Write the history d[0..n) of z (the newest leading to z) to path. */
int xfr_store_save(const char *path, const struct zone *z, uint64_t digest,
                   struct xfr_delta *const *d, unsigned n, char *why, size_t whysz);

/* Read path's history for z as it loaded now: the differences, oldest
 * first (references, free with xfr_journal_chain_free), in *out, *n.
 * ERR_NOTFOUND without a file; ERR_FORMAT for a damaged one and
 * ERR_EXISTS for one of other data than z's (another serial, SOA or
 * data fingerprint, another digest), the reason in why. */
int xfr_store_load(const char *path, const struct zone *z, uint64_t digest, struct xfr_delta ***out,
                   unsigned *n, char *why, size_t whysz);

/* The parsing of xfr_store_load, from memory (fuzzing). z NULL: only
 * the file's own consistency is checked. */
int xfr_store_parse(const uint8_t *buf, size_t len, const struct zone *z, uint64_t digest,
                    struct xfr_delta ***out, unsigned *n, char *why, size_t whysz);

#endif
