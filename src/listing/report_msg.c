/* Reading a reported message with GMime: a raw message or an ARF report,
 * reduced to what the listing engine decides on. */
#include "listing/report_msg.h"
/* Built as the module dnsblkit-mail.so, which report_load.c opens: its
 * entry points carry names of their own, so that nothing in the module
 * can bind to the loader's functions of the same purpose. */
#ifdef DBK_MAIL_MODULE
#define report_msg_parse report_msg_module_parse
#define report_msg_free report_msg_module_free
int report_msg_module_parse(const char *buf, size_t len, unsigned flags, struct report_msg *out,
                            char *why, size_t whysz);
void report_msg_module_free(struct report_msg *m);
#endif
#include "common/addr.h"
#include "common/err.h"

#include <gmime/gmime.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Room for the decoded Subject in the excerpt, so a long one still
 * leaves the From visible. */
#define REPORT_SUBJECT_MAX 110

static pthread_once_t report_once = PTHREAD_ONCE_INIT;

static void report_gmime_init(void)
{
    g_mime_init();
}

static bool report_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A header value on one line: every whitespace run (folding included)
 * as one space, none at either end. NULL on allocation failure. */
static char *report_unfold(const char *raw)
{
    if (!raw)
        raw = "";
    char *out = malloc(strlen(raw) + 1);
    if (!out)
        return NULL;
    size_t n = 0;
    bool space = false;
    for (const char *p = raw; *p; p++) {
        if (report_is_space(*p)) {
            space = n > 0;
            continue;
        }
        if (space)
            out[n++] = ' ';
        space = false;
        out[n++] = *p;
    }
    out[n] = '\0';
    return out;
}

static GMimeMessage *report_parse_bytes(const char *buf, size_t len)
{
    GMimeStream *stream = g_mime_stream_mem_new_with_buffer(buf, len);
    GMimeParser *parser = g_mime_parser_new_with_stream(stream);
    g_object_unref(stream);
    GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
    g_object_unref(parser);
    return msg;
}

/* GMime keeps the Content-* fields with the top part, the rest with
 * the message: count both. */
static int report_header_count(GMimeMessage *msg)
{
    GMimeObject *objs[2] = {GMIME_OBJECT(msg), g_mime_message_get_mime_part(msg)};
    int n = 0;
    for (int i = 0; i < 2; i++) {
        GMimeHeaderList *hl = objs[i] ? g_mime_object_get_header_list(objs[i]) : NULL;
        n += hl ? g_mime_header_list_get_count(hl) : 0;
    }
    return n;
}

/* The first header called name, unfolded, or NULL when there is none
 * (or no memory: the caller then sees the header as absent). */
static char *report_header(GMimeMessage *msg, const char *name)
{
    GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(msg));
    int n = hl ? g_mime_header_list_get_count(hl) : 0;
    for (int i = 0; i < n; i++) {
        GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
        const char *hname = h ? g_mime_header_get_name(h) : NULL;
        if (hname && g_ascii_strcasecmp(hname, name) == 0) {
            const char *raw = g_mime_header_get_raw_value(h);
            return report_unfold(raw ? raw : g_mime_header_get_value(h));
        }
    }
    return NULL;
}

/* The decoded content of a leaf part, or the text of an embedded
 * message. NULL when there is none. */
static GByteArray *report_part_bytes(GMimeObject *part)
{
    GMimeStream *mem = g_mime_stream_mem_new();
    if (GMIME_IS_MESSAGE_PART(part)) {
        GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(part));
        if (m)
            g_mime_object_write_to_stream(GMIME_OBJECT(m), NULL, mem);
    } else if (GMIME_IS_PART(part)) {
        GMimeDataWrapper *w = g_mime_part_get_content(GMIME_PART(part));
        if (w)
            g_mime_data_wrapper_write_to_stream(w, mem);
    }
    /* Keep the bytes past the stream's life. */
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(mem), FALSE);
    GByteArray *bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
    g_object_unref(mem);
    if (bytes && bytes->len == 0) {
        g_byte_array_free(bytes, TRUE);
        bytes = NULL;
    }
    return bytes;
}

static bool report_type_is(GMimeObject *o, const char *type, const char *subtype)
{
    GMimeContentType *ct = o ? g_mime_object_get_content_type(o) : NULL;
    return ct && g_mime_content_type_is_type(ct, type, subtype);
}

/* Whether o is multipart/report with this report-type. */
static bool report_is_report(GMimeObject *o, const char *report_type)
{
    if (!report_type_is(o, "multipart", "report"))
        return false;
    const char *rt =
        g_mime_content_type_get_parameter(g_mime_object_get_content_type(o), "report-type");
    return rt && g_ascii_strcasecmp(rt, report_type) == 0;
}

/* An address literal, as ARF's Source-IP gives it; IPv4-mapped IPv6
 * becomes IPv4. */
static bool report_ip(const char *text, int *family, uint8_t addr[16])
{
    char buf[ADDR_IP6_STRLEN + 8];
    size_t len = strlen(text);
    if (len >= 2 && text[0] == '[' && text[len - 1] == ']') {
        text++;
        len -= 2;
    }
    if (len >= 5 && strncasecmp(text, "IPv6:", 5) == 0) {
        text += 5;
        len -= 5;
    }
    if (len == 0 || len >= sizeof(buf))
        return false;
    memcpy(buf, text, len);
    buf[len] = '\0';
    memset(addr, 0, 16);
    uint32_t a4;
    if (addr_ip4_parse(buf, &a4) == 0) {
        *family = 4;
    } else if (addr_ip6_parse(buf, addr) == 0) {
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        *family = 6;
        if (memcmp(addr, mapped, sizeof(mapped)) != 0)
            return true;
        a4 = (uint32_t)addr[12] << 24 | (uint32_t)addr[13] << 16 | (uint32_t)addr[14] << 8 |
             addr[15];
        *family = 4;
    } else {
        return false;
    }
    memset(addr, 0, 16);
    addr[0] = (uint8_t)(a4 >> 24);
    addr[1] = (uint8_t)(a4 >> 16);
    addr[2] = (uint8_t)(a4 >> 8);
    addr[3] = (uint8_t)a4;
    return true;
}

static time_t report_date(const char *text)
{
    if (!text || !*text)
        return 0;
    GDateTime *dt = g_mime_utils_header_decode_date(text);
    if (!dt)
        return 0;
    gint64 t = g_date_time_to_unix(dt);
    g_date_time_unref(dt);
    return (time_t)t;
}

/* The fields of the message/feedback-report part. */
static void report_feedback(GMimeMessage *fields, struct report_msg *out)
{
    char *type = report_header(fields, "Feedback-Type");
    if (type) {
        size_t n = 0;
        for (const char *p = type;
             *p && !report_is_space(*p) && *p != ';' && n + 1 < sizeof(out->feedback_type); p++)
            if (*p > ' ' && *p < 127)
                out->feedback_type[n++] = (char)g_ascii_tolower(*p);
        out->feedback_type[n] = '\0';
        free(type);
    }
    char *ip = report_header(fields, "Source-IP");
    if (ip) {
        out->has_source_ip = report_ip(ip, &out->source_family, out->source_ip);
        free(ip);
    }
    /* Received-Date is the draft's name for Arrival-Date; some loops
     * still send it. */
    char *arrival = report_header(fields, "Arrival-Date");
    if (!arrival)
        arrival = report_header(fields, "Received-Date");
    out->date = report_date(arrival);
    free(arrival);
}

static int report_add_received(struct report_msg *out, size_t *cap, const char *raw)
{
    if (out->nreceived == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        char **r = realloc(out->received, ncap * sizeof(*r));
        if (!r)
            return ERR_NOMEM;
        out->received = r;
        *cap = ncap;
    }
    char *v = report_unfold(raw);
    if (!v)
        return ERR_NOMEM;
    out->received[out->nreceived++] = v;
    return 0;
}

static int report_received(GMimeMessage *msg, struct report_msg *out)
{
    GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(msg));
    int n = hl ? g_mime_header_list_get_count(hl) : 0;
    size_t cap = 0;
    for (int i = 0; i < n; i++) {
        GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
        const char *name = h ? g_mime_header_get_name(h) : NULL;
        if (!name || g_ascii_strcasecmp(name, "Received") != 0)
            continue;
        const char *raw = g_mime_header_get_raw_value(h);
        int rc = report_add_received(out, &cap, raw ? raw : g_mime_header_get_value(h));
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Whether a From:/Sender: value names this local part (a system sender
 * such as MAILER-DAEMON), whatever the domain. */
static bool report_sender_is(const char *value, const char *local)
{
    if (!value)
        return false;
    bool found = false;
    InternetAddressList *list = internet_address_list_parse(NULL, value);
    int n = list ? internet_address_list_length(list) : 0;
    for (int i = 0; i < n && !found; i++) {
        InternetAddress *ia = internet_address_list_get_address(list, i);
        if (!INTERNET_ADDRESS_IS_MAILBOX(ia))
            continue;
        const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
        size_t ll = strlen(local);
        found = addr && g_ascii_strncasecmp(addr, local, ll) == 0 &&
                (addr[ll] == '@' || addr[ll] == '\0');
    }
    if (list)
        g_object_unref(list);
    return found;
}

/* The first token of a header value: "auto-replied" of
 * "auto-replied (vacation)", lower case. */
static void report_token(const char *value, char *out, size_t outsz)
{
    size_t n = 0;
    for (const char *p = value ? value : "";
         *p && !report_is_space(*p) && *p != ';' && *p != '(' && n + 1 < outsz; p++)
        out[n++] = (char)g_ascii_tolower(*p);
    out[n] = '\0';
}

static bool report_has_header(GMimeMessage *msg, const char *name)
{
    char *v = report_header(msg, name);
    free(v);
    return v != NULL;
}

static void report_flags(GMimeMessage *msg, struct report_msg *out)
{
    char tok[32];
    GMimeObject *body = g_mime_message_get_mime_part(msg);

    char *rp = report_header(msg, "Return-Path");
    if (rp) {
        /* "<>" possibly with spaces or a comment inside: no address. */
        out->bounce = strchr(rp, '@') == NULL && strchr(rp, '<') && strchr(rp, '>');
        free(rp);
    }
    char *from = report_header(msg, "From"), *sender = report_header(msg, "Sender");
    if (report_sender_is(from, "mailer-daemon") || report_sender_is(sender, "mailer-daemon"))
        out->bounce = true;
    /* postmaster also writes by hand; only its reports are bounces. */
    if ((report_sender_is(from, "postmaster") || report_sender_is(sender, "postmaster")) &&
        report_type_is(body, "multipart", "report"))
        out->bounce = true;
    if (report_is_report(body, "delivery-status"))
        out->bounce = true;
    free(from);
    free(sender);

    char *as = report_header(msg, "Auto-Submitted");
    report_token(as, tok, sizeof(tok));
    if (tok[0] && strcmp(tok, "no") != 0)
        out->autoreply = true;
    free(as);
    if (report_has_header(msg, "X-Autoreply") || report_has_header(msg, "X-Autorespond"))
        out->autoreply = true;
    char *prec = report_header(msg, "Precedence");
    report_token(prec, tok, sizeof(tok));
    if (strcmp(tok, "auto_reply") == 0)
        out->autoreply = true;
    free(prec);
}

/* Whether a header line starts the Received: field. */
static bool report_line_is_received(const char *line, size_t len)
{
    if (len < 9 || g_ascii_strncasecmp(line, "Received", 8) != 0)
        return false;
    size_t i = 8;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    return i < len && line[i] == ':';
}

/* SHA-256 of the message text without its Received: fields (they differ
 * by the path it took to us), with CRLF read as LF. */
static void report_hash_text(const char *buf, size_t len, char hex[REPORT_HASH_HEX])
{
    GChecksum *c = g_checksum_new(G_CHECKSUM_SHA256);
    bool in_headers = true, skipping = false;
    size_t i = 0;
    while (i < len) {
        const char *line = buf + i;
        const char *nl = memchr(line, '\n', len - i);
        size_t l = nl ? (size_t)(nl - line) + 1 : len - i;
        if (in_headers) {
            if (line[0] == '\n' || (l >= 2 && line[0] == '\r' && line[1] == '\n')) {
                in_headers = false;
                skipping = false;
            } else if (line[0] != ' ' && line[0] != '\t') {
                skipping = report_line_is_received(line, l);
            }
        }
        if (!skipping) {
            if (l >= 2 && line[l - 2] == '\r' && line[l - 1] == '\n') {
                g_checksum_update(c, (const guchar *)line, (gssize)(l - 2));
                g_checksum_update(c, (const guchar *)"\n", 1);
            } else {
                g_checksum_update(c, (const guchar *)line, (gssize)l);
            }
        }
        i += l;
    }
    g_strlcpy(hex, g_checksum_get_string(c), REPORT_HASH_HEX);
    g_checksum_free(c);
}

static void report_hash(GMimeMessage *msg, const char *text, size_t len, struct report_msg *out)
{
    char *id = report_header(msg, "Message-ID");
    if (id && id[0]) {
        gchar *hex = g_compute_checksum_for_string(G_CHECKSUM_SHA256, id, -1);
        g_strlcpy(out->hash, hex, sizeof(out->hash));
        g_free(hex);
    } else {
        report_hash_text(text, len, out->hash);
    }
    free(id);
}

/* Copy as printable ASCII: each other character (a whole UTF-8 sequence)
 * becomes one '?'. Cut to outsz - 1 bytes, "..." marking the cut. */
static void report_printable(const char *in, char *out, size_t outsz)
{
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)(in ? in : "");
    for (; *p && n + 1 < outsz; p++) {
        if ((*p & 0xc0) == 0x80 && n > 0 && out[n - 1] == '?' && p[-1] >= 0x80)
            continue; /* the rest of a sequence already shown as '?' */
        out[n++] = *p >= 0x20 && *p < 0x7f ? (char)*p : '?';
    }
    out[n] = '\0';
    if (*p && outsz >= 4)
        memcpy(out + outsz - 4, "...", 4);
}

static void report_excerpt(GMimeMessage *msg, struct report_msg *out)
{
    char subject[REPORT_SUBJECT_MAX], from[REPORT_EXCERPT];
    const char *names[2] = {"Subject", "From"};
    char *bufs[2] = {subject, from};
    size_t sizes[2] = {sizeof(subject), sizeof(from)};
    for (int i = 0; i < 2; i++) {
        char *raw = report_header(msg, names[i]);
        char *decoded = raw ? g_mime_utils_header_decode_text(NULL, raw) : NULL;
        report_printable(decoded ? decoded : raw ? raw : "(none)", bufs[i], sizes[i]);
        g_free(decoded);
        free(raw);
    }
    char line[REPORT_SUBJECT_MAX + REPORT_EXCERPT + 32];
    snprintf(line, sizeof(line), "Subject: %s | From: %s", subject, from);
    report_printable(line, out->excerpt, sizeof(out->excerpt));
}

/* The ARF parts: the feedback fields and the reported message's text. */
static int report_arf(GMimeObject *top, struct report_msg *out, GByteArray **reported, char *why,
                      size_t whysz)
{
    GMimeObject *fb = NULL, *orig = NULL;
    int n = GMIME_IS_MULTIPART(top) ? g_mime_multipart_get_count(GMIME_MULTIPART(top)) : 0;
    for (int i = 0; i < n; i++) {
        GMimeObject *part = g_mime_multipart_get_part(GMIME_MULTIPART(top), i);
        if (!fb && report_type_is(part, "message", "feedback-report"))
            fb = part;
        else if (!orig && (report_type_is(part, "message", "rfc822") ||
                           report_type_is(part, "message", "global") ||
                           report_type_is(part, "text", "rfc822-headers") ||
                           report_type_is(part, "message", "rfc822-headers") ||
                           report_type_is(part, "message", "global-headers")))
            orig = part;
    }
    if (!fb) {
        snprintf(why, whysz, "ARF report without a message/feedback-report part");
        return ERR_INVAL;
    }
    GByteArray *fields = report_part_bytes(fb);
    if (fields) {
        GMimeMessage *fm = report_parse_bytes((const char *)fields->data, fields->len);
        if (fm) {
            report_feedback(fm, out);
            g_object_unref(fm);
        }
        g_byte_array_free(fields, TRUE);
    }
    *reported = orig ? report_part_bytes(orig) : NULL;
    if (!*reported) {
        snprintf(why, whysz, "ARF report without the reported message");
        return ERR_INVAL;
    }
    return 0;
}

/* The first forwarded message (message/rfc822) in a message's MIME tree,
 * as bytes; NULL when there is none. */
static GByteArray *report_attached(GMimeObject *top)
{
    GByteArray *bytes = NULL;
    if (!GMIME_IS_MULTIPART(top))
        return NULL;
    GMimePartIter *it = g_mime_part_iter_new(top);
    while (g_mime_part_iter_is_valid(it) && !bytes) {
        GMimeObject *cur = g_mime_part_iter_get_current(it);
        if (cur && GMIME_IS_MESSAGE_PART(cur) && report_type_is(cur, "message", "rfc822"))
            bytes = report_part_bytes(cur);
        if (!g_mime_part_iter_next(it))
            break;
    }
    g_mime_part_iter_free(it);
    return bytes;
}

int report_msg_parse(const char *buf, size_t len, unsigned flags, struct report_msg *out, char *why,
                     size_t whysz)
{
    char dummy[1];
    if (!why || whysz == 0) {
        why = dummy;
        whysz = sizeof(dummy);
    }
    why[0] = '\0';
    memset(out, 0, sizeof(*out));
    if (!buf || len == 0) {
        snprintf(why, whysz, "not a mail message (empty input)");
        return ERR_INVAL;
    }
    pthread_once(&report_once, report_gmime_init);

    int rc = 0;
    GByteArray *inner = NULL;
    GMimeMessage *reported = NULL;
    GMimeMessage *msg = report_parse_bytes(buf, len);
    if (!msg || report_header_count(msg) == 0) {
        snprintf(why, whysz, "not a mail message (no header fields)");
        rc = ERR_INVAL;
        goto exit;
    }

    const char *text = buf;
    size_t textlen = len;
    GMimeObject *top = g_mime_message_get_mime_part(msg);
    if (report_is_report(top, "feedback-report")) {
        out->arf = true;
        rc = report_arf(top, out, &inner, why, whysz);
        if (rc < 0)
            goto exit;
        text = (const char *)inner->data;
        textlen = inner->len;
        reported = report_parse_bytes(text, textlen);
        if (!reported || report_header_count(reported) == 0) {
            snprintf(why, whysz, "ARF report without the reported message's headers");
            rc = ERR_INVAL;
            goto exit;
        }
    } else if ((flags & REPORT_MSG_ATTACHED) && (inner = report_attached(top)) != NULL) {
        /* A user forwarded the spam as an attachment: that is the
         * reported message, the outer one is the user's. */
        out->forwarded = true;
        text = (const char *)inner->data;
        textlen = inner->len;
        reported = report_parse_bytes(text, textlen);
        if (!reported || report_header_count(reported) == 0) {
            snprintf(why, whysz, "the forwarded message has no header fields");
            rc = ERR_INVAL;
            goto exit;
        }
    } else {
        reported = g_object_ref(msg);
    }

    rc = report_received(reported, out);
    if (rc < 0) {
        snprintf(why, whysz, "out of memory");
        goto exit;
    }
    if (out->date == 0) {
        char *date = report_header(reported, "Date");
        out->date = report_date(date);
        free(date);
    }
    report_flags(reported, out);
    report_hash(reported, text, textlen, out);
    report_excerpt(reported, out);

exit:
    if (reported)
        g_object_unref(reported);
    if (msg)
        g_object_unref(msg);
    if (inner)
        g_byte_array_free(inner, TRUE);
    if (rc < 0)
        report_msg_free(out);
    return rc;
}

void report_msg_free(struct report_msg *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nreceived; i++)
        free(m->received[i]);
    free(m->received);
    memset(m, 0, sizeof(*m));
}
