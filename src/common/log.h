/* Logging to stderr (default, systemd style) or syslog; thread safe. */
#ifndef DBK_COMMON_LOG_H
#define DBK_COMMON_LOG_H

#include <stdbool.h>
#include <syslog.h>

/* Set the program name, the destination and the lowest priority logged
 * (LOG_ERR .. LOG_DEBUG). Call once before threads start. */
void log_init(const char *ident, bool use_syslog, int max_priority);

/* Whether a message at this priority would be written. */
bool log_enabled(int priority);

void log_msg(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
