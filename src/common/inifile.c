/* inih over a file, counting lines for error messages. */
#include "common/inifile.h"
#include "common/err.h"

#include <ini.h>
#include <stdbool.h>
#include <stdio.h>
#include <strings.h>

struct inifile_stream {
    FILE *f;
    int *line;
    int max;       /* the longest line inih takes whole (INI_MAX_LINE - 1: 199) */
    bool too_long; /* reading stopped at a line longer than max */
    bool nul;      /* ... at a NUL byte */
};

/* inih reads through a buffer of INI_MAX_LINE (200) bytes and takes the
 * rest of a longer line for a line of its own: a continuation when it
 * starts with a blank (the key's handler called again with only the
 * tail), a syntax error or even a key of its own otherwise, with every
 * later line number off. It also stops at a NUL byte and drops the rest
 * of that line. So both end the reading here, and inifile_load says so
 * with the line's number. */
static char *inifile_reader(char *buf, int size, void *stream)
{
    struct inifile_stream *s = stream;
    int n = 0, ch = EOF;
    s->max = size - 1;
    while (n < size - 1 && (ch = getc(s->f)) != EOF) {
        if (ch == '\0') {
            s->nul = true;
            return NULL;
        }
        buf[n++] = (char)ch;
        if (ch == '\n')
            break;
    }
    if (n == 0)
        return NULL;
    buf[n] = '\0';
    if (ch != '\n' && ch != EOF) {
        /* The buffer is full: only the line's end may follow. */
        ch = getc(s->f);
        if (ch != '\n' && ch != EOF) {
            s->too_long = true;
            return NULL;
        }
    }
    (*s->line)++;
    return buf;
}

/* Debian's inih reads on after a handler refused a line; the first
 * refusal is the one reported (its handler wrote err), so no handler is
 * called after it. */
struct inifile_call {
    int (*handler)(void *user, const char *section, const char *key, const char *value);
    void *user;
    int failed;
};

static int inifile_handler(void *arg, const char *section, const char *key, const char *value)
{
    struct inifile_call *c = arg;
    if (c->failed)
        return 1;
    if (!c->handler(c->user, section, key, value)) {
        c->failed = 1;
        return 0;
    }
    return 1;
}

int inifile_load(const char *path, int *line,
                 int (*handler)(void *user, const char *section, const char *key,
                                const char *value),
                 void *user, char *err, size_t errsz)
{
    struct inifile_stream s = {fopen(path, "r"), line, 0, false, false};
    err[0] = '\0';
    *line = 0;
    if (!s.f) {
        snprintf(err, errsz, "%s: cannot open: %m", path);
        return ERR_IO;
    }
    struct inifile_call call = {handler, user, 0};
    int rc = ini_parse_stream(inifile_reader, &s, inifile_handler, &call);
    fclose(s.f);
    if (rc == -2) {
        snprintf(err, errsz, "%s: out of memory", path);
        return ERR_NOMEM;
    }
    if (rc != 0) {
        if (!err[0])
            snprintf(err, errsz, "%s:%d: syntax error", path, rc);
        return ERR_INVAL;
    }
    if (s.too_long || s.nul) {
        if (s.too_long)
            snprintf(err, errsz, "%s:%d: line longer than %d characters", path, *line + 1, s.max);
        else
            snprintf(err, errsz, "%s:%d: NUL byte in the line", path, *line + 1);
        return ERR_INVAL;
    }
    return 0;
}

int inifile_bool(const char *value, bool *out)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (!strcasecmp(value, yes[i])) {
            *out = true;
            return 0;
        }
        if (!strcasecmp(value, no[i])) {
            *out = false;
            return 0;
        }
    }
    return ERR_INVAL;
}
