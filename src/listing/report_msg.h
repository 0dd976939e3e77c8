/* A reported message, parsed with GMime: a raw RFC 5322 message (a
 * spam-trap delivery or a forwarded spam) or an ARF feedback report
 * (RFC 5965, multipart/report; report-type=feedback-report), told apart
 * by its content type. What the listing engine needs of it: the
 * Received: headers of the reported mail, ARF's Source-IP, its date, a
 * hash to count it once, and whether it is a bounce or an auto-reply. */
#ifndef DBK_LISTING_REPORT_MSG_H
#define DBK_LISTING_REPORT_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define REPORT_HASH_HEX 65 /* SHA-256 in hex + NUL */
#define REPORT_EXCERPT 200

struct report_msg {
    bool arf;               /* an ARF report; else a raw message */
    bool forwarded;         /* the reported message was an attachment */
    char feedback_type[32]; /* ARF Feedback-Type ("abuse"), else "" */
    bool has_source_ip;     /* ARF Source-IP given and parsable */
    int source_family;      /* 4 or 6 */
    uint8_t source_ip[16];
    char **received; /* Received: values of the reported message,
                        top first, unfolded to one line each */
    size_t nreceived;
    time_t date;                  /* ARF Arrival-Date, else the reported
                                     message's Date:, 0 when neither parses */
    bool bounce;                  /* null or MAILER-DAEMON sender, or a
                                     delivery-status report */
    bool autoreply;               /* Auto-Submitted other than "no", or
                                     X-Autoreply/Precedence auto_reply */
    char hash[REPORT_HASH_HEX];   /* SHA-256 of the reported message's
                                     Message-ID when it has one, else of its
                                     text without Received: headers */
    char excerpt[REPORT_EXCERPT]; /* "Subject: ... | From: ..." of the
                                     reported message, printable ASCII */
};

/* For a user's report: when a raw message carries a forwarded message
 * (a message/rfc822 attachment, as SpamCop asks users to send spam), the
 * forwarded one is the reported message, not the user's own. */
#define REPORT_MSG_ATTACHED 1u

/* Parse one message of len bytes (flags: REPORT_MSG_*). Returns 0, or
 * ERR_INVAL with a one-line reason in why (not a message at all, an ARF
 * report without the reported message's headers, ...), or ERR_UNSUPP
 * when the parser module (dnsblkit-mail.so, report_load.c) cannot be
 * loaded: then nothing was judged. */
/* Open the parser module now rather than at the first message: before a
 * chroot, where neither the program's directory nor the install path can
 * be reached later. 0, or ERR_UNSUPP with why. */
int report_msg_preload(char *why, size_t whysz);

int report_msg_parse(const char *buf, size_t len, unsigned flags, struct report_msg *out, char *why,
                     size_t whysz);

void report_msg_free(struct report_msg *m);

#endif
