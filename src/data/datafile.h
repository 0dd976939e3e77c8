/* Reading rbldnsd data files: gzip or plain text, comments, the directives
 * common to every type ($SOA, $NS, $TTL, $TIMESTAMP, $MAXRANGE4, $n, $=),
 * default-value lines (":127.0.0.2:text"), and the value syntax of
 * entries. Type-specific lines are handed to the dataset's ops->line. */
#ifndef DBK_DATA_DATAFILE_H
#define DBK_DATA_DATAFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/dataset.h"
#include "data/value.h"

#define DATAFILE_MAXVARS 10
#define DATAFILE_ERRLEN 512

/* Reader state for one file. Types see it in ops->line to parse values
 * and report errors. */
struct datafile {
    const char *path;
    unsigned lineno;
    struct dataset *ds;           /* the dataset lines are fed to */
    struct ds_value defval;       /* current default value (":a:txt" line) */
    char *defval_txt;             /* storage for defval.txt */
    char *vars[DATAFILE_MAXVARS]; /* $0..$9 substitution variables */
    char *base_template;          /* $= base template, NULL if none */
    uint32_t maxrange4;           /* $MAXRANGE4: largest IPv4 range allowed, 0 = none */
    char err[DATAFILE_ERRLEN];    /* "path:line: reason" of the first error */
};

/* Set up reader state (defaults: A 127.0.0.2, no TXT) for a dataset. */
void datafile_init(struct datafile *df, struct dataset *ds, const char *path);
void datafile_cleanup(struct datafile *df);

/* Read a whole file (gzip-compressed or plain) into df->ds. Returns 0, or
 * a negative error with df->err set to "path:line: reason". */
int datafile_read(struct datafile *df);

/* Process one line exactly as datafile_read does (comments, directives,
 * default values, then ops->line). `line` is modified. Used by container
 * types and by the fuzz harness. */
int datafile_feed(struct datafile *df, char *line);

/* Record an error for the current line in df->err ("path:line: reason")
 * and return ERR_INVAL, so a type can `return datafile_error(df, ...)`. */
int datafile_error(struct datafile *df, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Log a warning for the current line, in the same form. */
void datafile_warn(struct datafile *df, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse the value part of an entry (what follows the key, leading blanks
 * skipped) in rbldnsd syntax, applying the default value, $n variables and
 * the $= base template:
 *   ""          default A, default TXT
 *   ":5"        A 127.0.0.5, default TXT      (":127.0.0.5" likewise)
 *   ":5:"       A 127.0.0.5, no TXT
 *   ":5:text"   A 127.0.0.5, TXT text
 *   "text"      default A, TXT text
 *   "=text"     as "text" but bypassing the $= base template
 * The result's txt points into df-owned scratch storage valid until the
 * next call; intern it with vtab_intern to keep it. */
int datafile_value(struct datafile *df, const char *s, struct ds_value *out);

/* datafile_value, then store the value in vt: *idx gets its index. */
int datafile_intern_value(struct datafile *df, const char *s, struct vtab *vt, uint32_t *idx);

/* A default-value line (":a:txt", see datafile_value) sets the default for
 * the rest of the file: datafile_feed applies it for the types with
 * uses_values; the types that read their ':' lines themselves (acl) call
 * this for those that are default values. */
int datafile_default_value(struct datafile *df, const char *line);

/* Whether an entry is an exclusion ("!1.2.3.4"); if it is, *line moves
 * past the '!' and the blanks after it. */
bool datafile_exclusion(char **line);

#endif
