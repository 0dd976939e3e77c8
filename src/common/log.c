/* Logging: one line per message, to stderr or syslog. */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *log_ident = "dnsblkit";
static bool log_syslog;
static int log_max = LOG_INFO;

void log_init(const char *ident, bool use_syslog, int max_priority)
{
    log_ident = ident;
    log_syslog = use_syslog;
    log_max = max_priority;
    if (use_syslog)
        openlog(ident, LOG_PID | LOG_NDELAY,
                LOG_DAEMON); /* the socket opened now: a chroot comes later */
}

bool log_enabled(int priority)
{
    return priority <= log_max;
}

static const char *log_level_name(int priority)
{
    switch (priority) {
    case LOG_EMERG:
    case LOG_ALERT:
    case LOG_CRIT:
    case LOG_ERR:
        return "error";
    case LOG_WARNING:
        return "warning";
    case LOG_NOTICE:
        return "notice";
    case LOG_INFO:
        return "info";
    default:
        return "debug";
    }
}

void log_msg(int priority, const char *fmt, ...)
{
    if (!log_enabled(priority))
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (log_syslog) {
        syslog(priority, "%s", line);
        return;
    }
    /* One fprintf per line so that lines from threads do not interleave. */
    fprintf(stderr, "%s: %s: %s\n", log_ident, log_level_name(priority), line);
}
