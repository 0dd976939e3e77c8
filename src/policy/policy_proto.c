/* The policy protocol's parser and answer formatting. */
#include "policy/policy_proto.h"
#include "common/err.h"

#include <string.h>

void policy_parser_init(struct policy_parser *p)
{
    memset(&p->req, 0, sizeof(p->req));
    p->len = 0;
    p->bytes = 0;
}

/* Where the value of a known attribute goes, and its room. */
static char *policy_field(struct policy_request *r, const char *name, size_t *room)
{
    static const struct {
        const char *name;
        size_t off, size;
    } fields[] = {
#define POLICY_FIELD(f)                                                                            \
    {#f, offsetof(struct policy_request, f), sizeof(((struct policy_request *)0)->f)}
        POLICY_FIELD(request),     POLICY_FIELD(protocol_state), POLICY_FIELD(client_address),
        POLICY_FIELD(client_name), POLICY_FIELD(helo_name),      POLICY_FIELD(sender),
        POLICY_FIELD(recipient),   POLICY_FIELD(queue_id),       POLICY_FIELD(instance),
#undef POLICY_FIELD
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (!strcmp(name, fields[i].name)) {
            *room = fields[i].size;
            return (char *)r + fields[i].off;
        }
    return NULL;
}

/* One complete line, without its newline. */
static enum policy_feed policy_line(struct policy_parser *p, char *line, size_t len,
                                    const char **why)
{
    if (len == 0) {
        if (p->req.attrs == 0) {
            *why = "an empty request";
            return POLICY_MALFORMED;
        }
        if (strcmp(p->req.request, "smtpd_access_policy") != 0) {
            *why = p->req.request[0] ? "a request other than smtpd_access_policy"
                                     : "no request=smtpd_access_policy attribute";
            return POLICY_MALFORMED;
        }
        return POLICY_REQUEST;
    }
    if (memchr(line, '\0', len)) {
        *why = "a NUL byte in an attribute";
        return POLICY_MALFORMED;
    }
    line[len] = '\0';
    char *eq = strchr(line, '=');
    if (!eq || eq == line) {
        *why = "a line that is not name=value";
        return POLICY_MALFORMED;
    }
    *eq = '\0';
    for (const char *c = line; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_' || *c == '-')) {
            *why = "an attribute name with characters no attribute has";
            return POLICY_MALFORMED;
        }
    if (++p->req.attrs > POLICY_ATTRS_MAX) {
        *why = "too many attributes";
        return POLICY_MALFORMED;
    }
    size_t room;
    char *field = policy_field(&p->req, line, &room);
    if (!field)
        return POLICY_MORE; /* unknown attributes are ignored */
    size_t vlen = len - (size_t)(eq + 1 - line);
    if (vlen >= room) {
        *why = "an attribute value too long for what it names";
        return POLICY_MALFORMED;
    }
    memcpy(field, eq + 1, vlen + 1);
    return POLICY_MORE;
}

enum policy_feed policy_parser_feed(struct policy_parser *p, const char *buf, size_t len,
                                    size_t *used, const char **why)
{
    size_t i = 0;
    /* A request handed over before starts the next one afresh. */
    if (p->len == 0 && p->bytes == 0 && p->req.attrs)
        policy_parser_init(p);
    while (i < len) {
        const char *nl = memchr(buf + i, '\n', len - i);
        size_t take = nl ? (size_t)(nl - (buf + i)) : len - i;
        if (p->len + take >= sizeof(p->line)) {
            *why = "an attribute line too long";
            *used = i;
            return POLICY_MALFORMED;
        }
        if (p->bytes + take + 1 > POLICY_REQUEST_MAX) {
            *why = "a request too long";
            *used = i;
            return POLICY_MALFORMED;
        }
        memcpy(p->line + p->len, buf + i, take);
        p->len += take;
        p->bytes += take;
        i += take;
        if (!nl)
            break;
        i++; /* the newline */
        p->bytes++;
        size_t n = p->len;
        /* A CR before the newline is tolerated (a hand-typed test). */
        if (n && p->line[n - 1] == '\r')
            n--;
        p->len = 0;
        enum policy_feed r = policy_line(p, p->line, n, why);
        if (r == POLICY_MALFORMED) {
            *used = i;
            return r;
        }
        if (r == POLICY_REQUEST) {
            *used = i;
            p->bytes = 0;
            return r;
        }
    }
    *used = i;
    return POLICY_MORE;
}

int policy_format_action(char *out, size_t outsz, const char *action)
{
    static const char head[] = "action=";
    size_t alen = strlen(action);
    if (sizeof(head) - 1 + alen + 3 > outsz)
        return ERR_SPACE;
    size_t n = 0;
    memcpy(out, head, sizeof(head) - 1);
    n = sizeof(head) - 1;
    for (size_t i = 0; i < alen; i++)
        out[n++] = action[i] == '\n' || action[i] == '\r' ? ' ' : action[i];
    out[n++] = '\n';
    out[n++] = '\n';
    out[n] = '\0';
    return (int)n;
}
