/* Reading a configuration file with inih. Debian's inih passes no line
 * numbers to handlers, so the reader counts them: a handler finds the
 * current line in *line and can say "file:line: reason". */
#ifndef DBK_COMMON_INIFILE_H
#define DBK_COMMON_INIFILE_H

#include <stdbool.h>
#include <stddef.h>

/* Parse path, calling handler(user, section, key, value) per key (it
 * returns nonzero to go on; after a zero it is not called again). Returns 0; ERR_IO ("path: cannot
 * open"), ERR_NOMEM, or ERR_INVAL when a handler stopped (it wrote err), a line is not INI
 * ("path:N: syntax error"), longer than inih takes whole (199 characters: "path:N: line longer
 * than 199 characters") or holds a NUL byte; reading stops at such a line. */
int inifile_load(const char *path, int *line,
                 int (*handler)(void *user, const char *section, const char *key,
                                const char *value),
                 void *user, char *err, size_t errsz);

/* A boolean value as every section takes it: yes/true/on/1 or
 * no/false/off/0 (letter case aside). ERR_INVAL for anything else. */
int inifile_bool(const char *value, bool *out);

#endif
