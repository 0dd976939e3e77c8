/* Error codes shared by every layer: functions return 0 or one of these. */
#ifndef DBK_COMMON_ERR_H
#define DBK_COMMON_ERR_H

enum {
    ERR_OK = 0,
    ERR_NOMEM = -1, /* allocation failed */
    ERR_INVAL = -2, /* malformed input (a data line, a name, an option) */
    ERR_IO = -3,    /* a file or socket operation failed; errno tells more */
    ERR_RANGE = -4, /* a number or length out of bounds */
    ERR_NOTFOUND = -5,
    ERR_SPACE = -6,  /* an output buffer is full (e.g. a DNS reply) */
    ERR_FORMAT = -7, /* malformed DNS message */
    ERR_LIMIT = -8,  /* a configured safety limit refused the operation */
    ERR_EXISTS = -9,
    ERR_UNSUPP = -10,  /* valid but not supported */
    ERR_TIMEOUT = -11, /* no answer in time (a DNS query, a peer) */
    ERR_PERM = -12,    /* not allowed (running as root without a user to become) */
};

/* A short English description of an error code. */
const char *err_str(int code);

#endif
