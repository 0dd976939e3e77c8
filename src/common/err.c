/* Human-readable names for the shared error codes. */
#include "common/err.h"

const char *err_str(int code)
{
    switch (code) {
    case ERR_OK:
        return "success";
    case ERR_NOMEM:
        return "out of memory";
    case ERR_INVAL:
        return "invalid input";
    case ERR_IO:
        return "input/output error";
    case ERR_RANGE:
        return "value out of range";
    case ERR_NOTFOUND:
        return "not found";
    case ERR_SPACE:
        return "no space left in buffer";
    case ERR_FORMAT:
        return "malformed message";
    case ERR_LIMIT:
        return "refused by a safety limit";
    case ERR_EXISTS:
        return "already exists";
    case ERR_UNSUPP:
        return "not supported";
    case ERR_TIMEOUT:
        return "timed out";
    case ERR_PERM:
        return "not permitted";
    default:
        return "unknown error";
    }
}
