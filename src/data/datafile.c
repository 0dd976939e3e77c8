/* Reading rbldnsd data files: lines, comments, directives and values. */
#include "data/datafile.h"
#include "common/err.h"
#include "common/log.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

/* Longest data line accepted; rbldnsd silently truncates at 512 bytes, we
 * refuse longer lines instead of loading something else than was meant. */
#define DATAFILE_MAXLINE 4096
/* A TXT character-string holds 255 bytes; rbldnsd cuts templates there. */
#define DATAFILE_MAXTXT 255

/* datafile_value returns text in this buffer: the header promises storage
 * valid until the next call, and one buffer per thread keeps parallel
 * loads of different datasets apart without a field in struct datafile. */
static _Thread_local char value_scratch[DATAFILE_MAXLINE * 4];

/* A file with a systematic problem would otherwise log one warning per
 * line; like rbldnsd we log the first few and count the rest. Per thread
 * for the same reason as value_scratch. */
#define DATAFILE_MAXWARN 10
static _Thread_local unsigned warn_count;

void datafile_init(struct datafile *df, struct dataset *ds, const char *path)
{
    warn_count = 0;
    memset(df, 0, sizeof(*df));
    df->path = path;
    df->ds = ds;
    df->defval.a[0] = 127;
    df->defval.a[3] = 2;
}

void datafile_cleanup(struct datafile *df)
{
    free(df->defval_txt);
    df->defval_txt = NULL;
    for (int i = 0; i < DATAFILE_MAXVARS; i++) {
        free(df->vars[i]);
        df->vars[i] = NULL;
    }
    free(df->base_template);
    df->base_template = NULL;
}

static void vformat(struct datafile *df, char *out, size_t outsz, const char *fmt, va_list ap)
{
    int n;
    if (df->lineno)
        n = snprintf(out, outsz, "%s:%u: ", df->path ? df->path : "-", df->lineno);
    else
        n = snprintf(out, outsz, "%s: ", df->path ? df->path : "-");
    if (n < 0 || (size_t)n >= outsz)
        return;
    vsnprintf(out + n, outsz - (size_t)n, fmt, ap);
}

int datafile_error(struct datafile *df, const char *fmt, ...)
{
    if (df->err[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vformat(df, df->err, sizeof(df->err), fmt, ap);
        va_end(ap);
    }
    return ERR_INVAL;
}

void datafile_warn(struct datafile *df, const char *fmt, ...)
{
    char buf[DATAFILE_ERRLEN];
    if (++warn_count > DATAFILE_MAXWARN)
        return;
    va_list ap;
    va_start(ap, fmt);
    vformat(df, buf, sizeof(buf), fmt, ap);
    va_end(ap);
    log_warning("%s", buf);
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static char *skip_blanks(char *s)
{
    while (is_blank(*s))
        s++;
    return s;
}

/* Cut the next blank-separated word off *sp; NULL when there is none. */
static char *next_word(char **sp)
{
    char *s = skip_blanks(*sp);
    if (*s == '\0')
        return NULL;
    char *w = s;
    while (*s && !is_blank(*s))
        s++;
    if (*s)
        *s++ = '\0';
    *sp = s;
    return w;
}

/* The decimal number at *sp, at least one digit and at most UINT32_MAX;
 * *sp moves past it. */
static int scan_u32(const char **sp, uint32_t *out)
{
    const char *s = *sp;
    uint64_t v = 0;
    if (!isdigit((unsigned char)*s))
        return ERR_INVAL;
    while (isdigit((unsigned char)*s)) {
        v = v * 10 + (uint64_t)(*s++ - '0');
        if (v > UINT32_MAX)
            return ERR_RANGE;
    }
    *sp = s;
    *out = (uint32_t)v;
    return 0;
}

/* A time in rbldnsd's units: digits with an optional s/m/h/d/w suffix,
 * possibly repeated ("1h30m"). */
static int parse_time(const char *s, uint32_t *out)
{
    uint64_t total = 0;
    do {
        uint32_t n;
        int rc = scan_u32(&s, &n);
        if (rc)
            return rc;
        uint64_t v = n;
        switch (tolower((unsigned char)*s)) {
        case 's':
            s++;
            break;
        case 'm':
            v *= 60;
            s++;
            break;
        case 'h':
            v *= 3600;
            s++;
            break;
        case 'd':
            v *= 86400;
            s++;
            break;
        case 'w':
            v *= 604800;
            s++;
            break;
        case '\0':
            break;
        default:
            return ERR_INVAL;
        }
        total += v;
        if (total > UINT32_MAX)
            return ERR_RANGE;
    } while (*s);
    *out = (uint32_t)total;
    return 0;
}

/* A whole string of digits, at most UINT32_MAX. */
static int parse_u32(const char *s, uint32_t *out)
{
    uint32_t v;
    int rc = scan_u32(&s, &v);
    if (rc)
        return rc;
    if (*s)
        return ERR_INVAL;
    *out = v;
    return 0;
}

static int directive_soa(struct datafile *df, char *args)
{
    struct ds_soa soa;
    size_t len;
    char *w[8];
    memset(&soa, 0, sizeof(soa));
    for (int i = 0; i < 8; i++)
        if (!(w[i] = next_word(&args)))
            return datafile_error(df, "$SOA needs ttl origin person serial refresh retry "
                                      "expire minimum");
    if (next_word(&args))
        return datafile_error(df, "$SOA: too many fields");
    if (parse_time(w[0], &soa.ttl))
        return datafile_error(df, "$SOA: invalid ttl '%s'", w[0]);
    if (name_from_text(w[1], soa.mname, &len))
        return datafile_error(df, "$SOA: invalid origin name '%s'", w[1]);
    if (name_from_text(w[2], soa.rname, &len))
        return datafile_error(df, "$SOA: invalid person name '%s'", w[2]);
    if (parse_u32(w[3], &soa.serial))
        return datafile_error(df, "$SOA: invalid serial '%s'", w[3]);
    uint32_t *t[4] = {&soa.refresh, &soa.retry, &soa.expire, &soa.minimum};
    for (int i = 0; i < 4; i++)
        if (parse_time(w[4 + i], t[i]))
            return datafile_error(df, "$SOA: invalid time '%s'", w[4 + i]);
    soa.present = true;
    /* Only the first $SOA of a dataset counts, so a small local file listed
     * first can override the SOA of third-party data. */
    if (!df->ds->soa.present)
        df->ds->soa = soa;
    return 0;
}

static int directive_ns(struct datafile *df, char *args)
{
    struct ds_ns ns;
    char *w = next_word(&args);
    memset(&ns, 0, sizeof(ns));
    if (!w || parse_time(w, &ns.ttl))
        return datafile_error(df, "$NS needs a ttl and name servers");
    while ((w = next_word(&args))) {
        size_t len;
        if (w[0] == '-') /* commented-out name server */
            continue;
        if (ns.count == DS_MAX_NS) {
            datafile_warn(df, "$NS: more than %d name servers, ignoring '%s' and later ones",
                          DS_MAX_NS, w);
            break;
        }
        if (name_from_text(w, ns.name[ns.count], &len))
            return datafile_error(df, "$NS: invalid name '%s'", w);
        ns.count++;
    }
    if (ns.count == 0)
        return datafile_error(df, "$NS: no name servers");
    if (df->ds->ns.count == 0)
        df->ds->ns = ns;
    return 0;
}

/* "yyyy[:-]mm[:-]dd[[:-]hh[[:-]mi[[:-]ss]]]" in UTC, or "0"/"-" for none. */
static int parse_stamp(const char *s, time_t *out)
{
    int f[6] = {0, 1, 1, 0, 0, 0};
    const int width[6] = {4, 2, 2, 2, 2, 2};
    if (strcmp(s, "0") == 0 || strcmp(s, "-") == 0) {
        *out = 0;
        return 0;
    }
    int i;
    for (i = 0; i < 6 && *s; i++) {
        if (i > 0 && (*s == ':' || *s == '-'))
            s++;
        int v = 0;
        for (int d = 0; d < width[i]; d++) {
            if (!isdigit((unsigned char)*s))
                return ERR_INVAL;
            v = v * 10 + (*s++ - '0');
        }
        f[i] = v;
    }
    if (*s || i < 3 || f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 || f[4] > 59 ||
        f[5] > 59)
        return ERR_INVAL;
    struct tm tm = {0};
    tm.tm_year = f[0] - 1900;
    tm.tm_mon = f[1] - 1;
    tm.tm_mday = f[2];
    tm.tm_hour = f[3];
    tm.tm_min = f[4];
    tm.tm_sec = f[5];
    *out = timegm(&tm);
    return 0;
}

static int directive_timestamp(struct datafile *df, char *args)
{
    char *ws = next_word(&args), *we = next_word(&args);
    time_t stamp, expires = 0, now = time(NULL);
    if (!ws || next_word(&args))
        return datafile_error(df, "$TIMESTAMP needs a timestamp and an optional expiry");
    if (parse_stamp(ws, &stamp))
        return datafile_error(df, "$TIMESTAMP: invalid timestamp '%s'", ws);
    if (we && we[0] == '+') {
        uint32_t rel;
        if (parse_time(we + 1, &rel) || stamp == 0)
            return datafile_error(df, "$TIMESTAMP: invalid expiry '%s'", we);
        expires = stamp + (time_t)rel;
    } else if (we && parse_stamp(we, &expires)) {
        return datafile_error(df, "$TIMESTAMP: invalid expiry '%s'", we);
    }
    if (stamp > now)
        return datafile_error(df, "$TIMESTAMP %s is in the future", ws);
    if (expires && expires <= now) {
        char when[32];
        struct tm tm;
        gmtime_r(&expires, &tm);
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
        return datafile_error(df, "data expired (by $TIMESTAMP) at %s", when);
    }
    if (stamp)
        df->ds->timestamp = stamp;
    if (expires && (df->ds->expires == 0 || expires < df->ds->expires))
        df->ds->expires = expires;
    return 0;
}

static int directive_maxrange4(struct datafile *df, char *args)
{
    char *w = next_word(&args);
    uint32_t n;
    if (!w || next_word(&args))
        return datafile_error(df, "$MAXRANGE4 needs one size");
    if (w[0] == '/') {
        uint32_t bits;
        if (parse_u32(w + 1, &bits) || bits > 32)
            return datafile_error(df, "$MAXRANGE4: invalid prefix length '%s'", w);
        /* /0 would be 2^32 addresses; the largest count we can hold says the
         * same thing for every range there is. */
        n = bits == 0 ? UINT32_MAX : (uint32_t)1 << (32 - bits);
    } else if (parse_u32(w, &n) || n == 0) {
        return datafile_error(df, "$MAXRANGE4: invalid size '%s'", w);
    }
    /* The limit may shrink, never grow. */
    if (df->maxrange4 == 0 || n < df->maxrange4)
        df->maxrange4 = n;
    return 0;
}

static int set_string(char **slot, const char *s)
{
    char *c = strdup(s);
    if (!c)
        return ERR_NOMEM;
    free(*slot);
    *slot = c;
    return 0;
}

/* A line starting with "$", "#$" or ":$"; s points past the '$'. */
static int directive(struct datafile *df, char *line, char *s)
{
    char *kw = s;
    while (*s && !is_blank(*s))
        s++;
    size_t kwlen = (size_t)(s - kw);
    char *args = skip_blanks(s);

    if (kwlen == 1 && isdigit((unsigned char)kw[0])) {
        int n = kw[0] - '0';
        if (*args == '\0')
            return datafile_error(df, "$%d needs a value", n);
        /* As in rbldnsd the first assignment of a variable wins. */
        if (df->vars[n])
            return 0;
        return set_string(&df->vars[n], args);
    }
    if (kwlen == 1 && kw[0] == '=') {
        if (*args == '\0')
            return datafile_error(df, "$= needs a template");
        return set_string(&df->base_template, args);
    }
    if (kwlen < 16) {
        char up[16];
        for (size_t i = 0; i < kwlen; i++)
            up[i] = (char)toupper((unsigned char)kw[i]);
        up[kwlen] = '\0';
        if (strcmp(up, "SOA") == 0)
            return directive_soa(df, args);
        if (strcmp(up, "NS") == 0)
            return directive_ns(df, args);
        if (strcmp(up, "TTL") == 0) {
            uint32_t ttl;
            char *w = next_word(&args);
            if (!w || next_word(&args) || parse_time(w, &ttl))
                return datafile_error(df, "$TTL needs one time value");
            df->ds->ttl = ttl ? ttl : df->ds->ctx->default_ttl;
            return 0;
        }
        if (strcmp(up, "TIMESTAMP") == 0)
            return directive_timestamp(df, args);
        if (strcmp(up, "MAXRANGE4") == 0)
            return directive_maxrange4(df, args);
    }
    /* Container and acl types (no query family of their own) have
     * directives of their own, such as combined's $DATASET. */
    if (df->ds->ops->family == 0 && df->ds->ops->line)
        return df->ds->ops->line(df->ds, df, line);
    return datafile_error(df, "unknown directive '$%.*s'", (int)(kwlen > 40 ? 40 : kwlen), kw);
}

/* Parse the A part of a value: "5" means 127.0.0.5, else a dotted quad. */
static int parse_value_a(const char **sp, uint8_t a[4])
{
    const char *s = *sp;
    uint32_t parts[4];
    int n = 0;
    for (;;) {
        uint32_t v = 0;
        int digits = 0;
        while (isdigit((unsigned char)*s)) {
            v = v * 10 + (uint32_t)(*s++ - '0');
            if (++digits > 3 || v > 255)
                return ERR_INVAL;
        }
        if (digits == 0)
            return ERR_INVAL;
        parts[n++] = v;
        if (*s != '.' || n == 4)
            break;
        s++;
    }
    if (n == 1) {
        a[0] = 127;
        a[1] = 0;
        a[2] = 0;
        a[3] = (uint8_t)parts[0];
    } else if (n == 4) {
        for (int i = 0; i < 4; i++)
            a[i] = (uint8_t)parts[i];
    } else {
        return ERR_INVAL;
    }
    if ((a[0] | a[1] | a[2] | a[3]) == 0 || a[3] == 0)
        return ERR_INVAL;
    *sp = s;
    return 0;
}

/* Append `len` bytes to out[*pos], failing when the buffer is full. */
static bool put(char *out, size_t outsz, size_t *pos, const char *s, size_t len)
{
    if (*pos + len >= outsz)
        return false;
    memcpy(out + *pos, s, len);
    *pos += len;
    return true;
}

/* Append text that must come out exactly as written: each '$' doubled, so
 * the server's per-query expansion leaves it alone. rbldnsd inserts the
 * value of $n and an entry's text inside "$=" this way, unexpanded. */
static bool put_literal(char *out, size_t outsz, size_t *pos, const char *s)
{
    for (; *s; s++)
        if (!put(out, outsz, pos, s, 1) || (*s == '$' && !put(out, outsz, pos, s, 1)))
            return false;
    return true;
}

/* Expand $0..$9 in tmpl and, when `base` is set, "$=" to `entry` (or to
 * the query subject when entry is NULL); '$' and "$$" are kept for the
 * server. */
static bool expand(const struct datafile *df, const char *tmpl, bool base, const char *entry,
                   char *out, size_t outsz, size_t *pos)
{
    for (const char *s = tmpl; *s; s++) {
        bool ok;
        if (s[0] == '$' && s[1] == '$') {
            ok = put(out, outsz, pos, "$$", 2);
            s++;
        } else if (s[0] == '$' && isdigit((unsigned char)s[1])) {
            const char *v = df->vars[s[1] - '0'];
            ok = !v || put_literal(out, outsz, pos, v);
            s++;
        } else if (s[0] == '$' && s[1] == '=' && base) {
            ok = entry ? put_literal(out, outsz, pos, entry) : put(out, outsz, pos, "$", 1);
            s++;
        } else {
            ok = put(out, outsz, pos, s, 1);
        }
        if (!ok)
            return false;
    }
    return true;
}

/* The pieces of a value as written: the A (already defaulted), and the
 * entry's own text, or none. */
struct value_parts {
    uint8_t a[4];
    const char *text; /* own TXT template as written, NULL = none given */
    bool no_txt;      /* ":a:" form: explicitly no TXT */
    bool bypass;      /* "=text": not through the $= base template */
};

static int parse_value(struct datafile *df, const char *s, struct value_parts *p)
{
    memcpy(p->a, df->defval.a, 4);
    p->text = NULL;
    p->no_txt = false;
    p->bypass = false;
    while (is_blank(*s))
        s++;
    if (*s == ':') {
        s++;
        while (is_blank(*s))
            s++;
        if (parse_value_a(&s, p->a))
            return datafile_error(df, "invalid A value in '%.40s'", s);
        while (is_blank(*s))
            s++;
        if (*s == ':') {
            s++;
            while (is_blank(*s))
                s++;
            if (*s)
                p->text = s;
            else
                p->no_txt = true;
        } else if (*s != '\0' && *s != '#' && *s != ';') {
            return datafile_error(df, "invalid value: expected ':' after the A value");
        }
    } else if (*s != '\0' && *s != '#' && *s != ';') {
        p->text = s;
    }
    if (p->text && p->text[0] == '=') {
        p->bypass = true;
        p->text++;
        if (p->text[0] == '\0') {
            p->text = NULL;
            p->no_txt = true;
        }
    }
    return 0;
}

int datafile_value(struct datafile *df, const char *s, struct ds_value *out)
{
    struct value_parts p;
    int rc = parse_value(df, s, &p);
    if (rc)
        return rc;

    /* The text as written that this entry answers with: its own, or the
     * default one (kept unexpanded, as rbldnsd expands it per use). */
    const char *written = p.text;
    if (!written && !p.no_txt && df->defval.has_txt)
        written = df->defval.txt;

    struct ds_value v = {.has_txt = true};
    memcpy(v.a, p.a, 4);
    char *buf = value_scratch;
    size_t pos = 0;
    bool ok;
    if (df->base_template && !p.bypass)
        /* With a base template every entry answers a TXT: its text goes
         * where "$=" is, verbatim, or the query subject when it has none. */
        ok = expand(df, df->base_template, true, written, buf, sizeof(value_scratch), &pos);
    else if (written)
        ok = expand(df, written, false, NULL, buf, sizeof(value_scratch), &pos);
    else {
        ok = true;
        v.has_txt = false;
    }
    if (!ok)
        return datafile_error(df, "TXT template too long");
    while (pos > 0 && is_blank(buf[pos - 1]))
        pos--;
    if (pos > DATAFILE_MAXTXT) {
        datafile_warn(df, "TXT template longer than %d bytes, truncated", DATAFILE_MAXTXT);
        /* Do not cut a "$$" pair in half: the lone '$' would change meaning. */
        size_t cut = DATAFILE_MAXTXT;
        for (size_t i = 0; i < cut; i++) {
            if (buf[i] == '$' && buf[i + 1] == '$') {
                if (i + 1 == cut)
                    cut = i;
                i++;
            }
        }
        pos = cut;
    }
    buf[pos] = '\0';
    v.txt = v.has_txt ? buf : NULL;
    v.txtlen = v.has_txt ? (uint16_t)pos : 0;
    *out = v;
    return 0;
}

int datafile_intern_value(struct datafile *df, const char *s, struct vtab *vt, uint32_t *idx)
{
    struct ds_value v;
    int rc = datafile_value(df, s, &v);
    return rc ? rc : vtab_intern(vt, &v, idx);
}

bool datafile_exclusion(char **line)
{
    if (**line != '!')
        return false;
    *line = skip_blanks(*line + 1);
    return true;
}

/* The text of a default is kept as written and expanded where an entry
 * uses it, as rbldnsd expands it per answer. */
int datafile_default_value(struct datafile *df, const char *line)
{
    struct value_parts p;
    int rc = parse_value(df, line, &p);
    if (rc)
        return rc;
    memcpy(df->defval.a, p.a, 4);
    if (p.text) {
        char *txt = strdup(p.text);
        if (!txt)
            return ERR_NOMEM;
        free(df->defval_txt);
        df->defval_txt = txt;
        df->defval.has_txt = true;
        df->defval.txt = txt;
        df->defval.txtlen = (uint16_t)(strlen(txt) > UINT16_MAX ? UINT16_MAX : strlen(txt));
    } else if (p.no_txt) {
        free(df->defval_txt);
        df->defval_txt = NULL;
        df->defval.has_txt = false;
        df->defval.txt = NULL;
        df->defval.txtlen = 0;
    }
    /* ":a" alone keeps the TXT of the previous default. */
    return 0;
}

/* Whether the dataset's entries are IPv6 addresses: there a line starting
 * with "::" is an entry ("::1"), not a default value with an empty A, as
 * in rbldnsd's ip6trie and acl. Other types refuse it as a bad default,
 * as rbldnsd does ("invalid A RR"). */
static bool ip6_entries(const struct datafile *df)
{
    return df->ds->ops->family & DS_FAM_IP6;
}

/* datafile_feed for a line whose length is known (the reader's case). */
static int datafile_feed_len(struct datafile *df, char *line, size_t linelen)
{
    df->lineno++;
    char *s = skip_blanks(line);
    size_t len = linelen - (size_t)(s - line);
    while (len > 0 && (is_blank(s[len - 1]) || s[len - 1] == '\r' || s[len - 1] == '\n'))
        s[--len] = '\0';

    if (s[0] == '$')
        return directive(df, s, s + 1);
    if ((s[0] == '#' || s[0] == ':') && s[1] == '$')
        return directive(df, s, s + 2);
    if (s[0] == '\0' || s[0] == '#' || s[0] == ';')
        return 0;
    if (s[0] == ':' && df->ds->ops->uses_values && !(s[1] == ':' && ip6_entries(df)))
        return datafile_default_value(df, s);
    if (!df->ds->ops->line)
        return datafile_error(df, "dataset type %s takes no data lines", df->ds->ops->name);
    int rc = df->ds->ops->line(df->ds, df, s);
    if (rc && df->err[0] == '\0')
        datafile_error(df, "%s", err_str(rc));
    return rc;
}

int datafile_feed(struct datafile *df, char *line)
{
    return datafile_feed_len(df, line, strlen(line));
}

/* Bytes read from the file at a time; lines are cut out of this buffer
 * in place, so a line costs one memchr and no copy. */
#define DATAFILE_CHUNK (256 * 1024)

int datafile_read(struct datafile *df)
{
    int rc = 0;
    char *buf = NULL;
    gzFile gz = NULL;

    errno = 0;
    gz = gzopen(df->path, "rb");
    if (!gz) {
        datafile_error(df, "cannot open: %s", errno ? strerror(errno) : "out of memory");
        rc = ERR_IO;
        goto out;
    }
    /* One extra byte for the NUL after an unterminated last line. */
    size_t cap = DATAFILE_CHUNK + DATAFILE_MAXLINE + 2;
    buf = malloc(cap);
    if (!buf) {
        rc = ERR_NOMEM;
        datafile_error(df, "out of memory");
        goto out;
    }
    size_t have = 0; /* bytes in buf not yet fed */
    bool eof = false;
    while (!eof || have > 0) {
        if (!eof) {
            int n = gzread(gz, buf + have, (unsigned)(cap - 1 - have));
            if (n < 0)
                break; /* reported by gzerror below */
            if (n == 0)
                eof = true;
            have += (size_t)n;
        }
        char *p = buf, *end = buf + have;
        for (;;) {
            char *nl = memchr(p, '\n', (size_t)(end - p));
            if ((size_t)((nl ? nl : end) - p) > DATAFILE_MAXLINE) {
                df->lineno++;
                rc = datafile_error(df, "line too long (more than %d bytes)", DATAFILE_MAXLINE);
                goto out;
            }
            if (!nl) {
                if (!eof || p == end)
                    break;
                nl = end; /* the last line has no newline */
            }
            *nl = '\0';
            rc = datafile_feed_len(df, p, (size_t)(nl - p));
            if (rc)
                goto out;
            p = nl + (nl < end);
            if (p >= end)
                break;
        }
        have = (size_t)(end - p);
        if (have == 0 && eof)
            break;
        memmove(buf, p, have);
    }
    int zerr;
    const char *msg = gzerror(gz, &zerr);
    if (zerr != Z_OK && zerr != Z_STREAM_END) {
        df->lineno++;
        rc = ERR_IO;
        datafile_error(df, "read error: %s", zerr == Z_ERRNO ? strerror(errno) : msg);
        goto out;
    }
out:
    if (warn_count > DATAFILE_MAXWARN)
        log_warning("%s: %u more warnings suppressed", df->path, warn_count - DATAFILE_MAXWARN);
    warn_count = 0;
    free(buf);
    if (gz)
        gzclose(gz);
    return rc;
}
