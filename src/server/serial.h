/* SOA serials that only go up. A secondary transfers a zone only when
 * its serial is newer (RFC 1982), so a serial that stands still while
 * the data changes, or goes back, leaves every secondary serving old
 * data. The data's own serial (a $SOA serial, or the time of its newest
 * part) is taken when it is newer than the last one served; otherwise
 * the last one plus one. Two listings within a second, a file put back
 * with an older time, an operator's $SOA serial that went down: each new
 * version still gets a higher serial.
 *
 * The book remembers each zone's last serial, what its data said then
 * and a fingerprint of the data (dataset_fingerprint), in DIR/serials
 * when a state directory is given, so that a restart neither goes back
 * nor, with the same data, moves on. */
#ifndef DBK_SERVER_SERIAL_H
#define DBK_SERVER_SERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/snapshot.h"

#define SERIAL_FILE "serials"

struct serial_book;

/* Open the book of dir (NULL: kept in memory only), reading dir/serials
 * when it exists. Fails, with the reason in err, when dir cannot be
 * written: a book that cannot be saved would let serials go back after
 * a restart without anyone noticing. A bad line is logged and skipped. */
int serial_book_open(const char *dir, struct serial_book **out, char *err, size_t errsz);

/* Settle the serials of the zones of next, not yet published: a zone
 * whose datasets are those of its version in prev keeps its serial; a
 * changed one gets serial_next of the last serial. Zones that are new
 * in next (prev NULL at startup) continue from the book. Returns how
 * many zones have a serial they did not have in prev. */
unsigned serial_book_settle(struct serial_book *b, const struct snapshot *prev,
                            struct snapshot *next);

/* Whether the book has serials it has not saved yet. */
bool serial_book_dirty(const struct serial_book *b);

/* Write the book (atomically: a new file renamed over the old, synced).
 * Nothing to do without a directory or when nothing changed. */
int serial_book_save(struct serial_book *b, char *err, size_t errsz);

void serial_book_free(struct serial_book *b);

/* The zone's data as the book tells it apart: its datasets' fingerprints
 * (dataset_fingerprint: files, entries, TTL, a live dataset's place in
 * its change log and its configuration's part) in order, and the
 * version of how records are made of them (ZREC_FORMAT). */
uint64_t serial_fingerprint(const struct zone *z);

/* The serial after last for data that says data_serial: data_serial when
 * it is newer (RFC 1982), else last + 1. */
uint32_t serial_next(uint32_t last, uint32_t data_serial);

/* Whether a is newer than b (RFC 1982), and whether it is not older. */
bool serial_gt(uint32_t a, uint32_t b);
bool serial_ge(uint32_t a, uint32_t b);

#endif
