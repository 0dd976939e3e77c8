/* Postfix's SMTP access policy delegation protocol, the server side
 * (SMTPD_POLICY_README): a request is lines of name=value ending with an
 * empty line; the answer is "action=..." and an empty line; a connection
 * carries any number of requests. An incremental parser, fed whatever
 * the socket gave, so one slow or pipelining client costs nothing
 * extra. Unknown attributes are ignored, as the protocol asks; anything
 * malformed or too big is refused, and the caller then logs it and
 * closes the connection (Postfix answers its client with its own
 * default action). */
#ifndef DBK_POLICY_POLICY_PROTO_H
#define DBK_POLICY_POLICY_PROTO_H

#include <stdbool.h>
#include <stddef.h>

#define POLICY_LINE_MAX 4096     /* one name=value line, newline included */
#define POLICY_REQUEST_MAX 65536 /* one whole request */
#define POLICY_ATTRS_MAX 256

/* What a decision needs of a request; the rest is skipped. Values longer
 * than their field are refused (they cannot be what Postfix sends). */
struct policy_request {
    char request[32];        /* "smtpd_access_policy" */
    char protocol_state[16]; /* CONNECT, HELO, MAIL, RCPT, DATA, END-OF-MESSAGE, VRFY, ETRN */
    char client_address[64];
    char client_name[256];
    char helo_name[256];
    char sender[512];
    char recipient[512];
    char queue_id[64];
    char instance[64];
    unsigned attrs; /* every attribute line read, known or not */
};

struct policy_parser {
    struct policy_request req;
    char line[POLICY_LINE_MAX];
    size_t len;   /* bytes of the current line so far */
    size_t bytes; /* bytes of the current request so far */
};

void policy_parser_init(struct policy_parser *p);

enum policy_feed {
    POLICY_MORE,     /* all of buf consumed; the request is not complete */
    POLICY_REQUEST,  /* a request is complete in p->req; *used bytes consumed */
    POLICY_MALFORMED /* refused: *why says why; close the connection */
};

/* Feed len bytes. Returns POLICY_REQUEST as soon as a request ends (the
 * rest of buf, from *used on, belongs to the next one: feed it after
 * handling this, which starts the next request afresh). */
enum policy_feed policy_parser_feed(struct policy_parser *p, const char *buf, size_t len,
                                    size_t *used, const char **why);

/* "action=TEXT\n\n" into out; the text loses any newline (Postfix would
 * read it as the end). Returns the length, or ERR_SPACE. */
int policy_format_action(char *out, size_t outsz, const char *action);

#endif
