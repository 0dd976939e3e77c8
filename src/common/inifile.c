/* inih over a file, counting lines for error messages. */
#include "common/inifile.h"
#include "common/err.h"

#include <ini.h>
#include <stdio.h>

struct inifile_stream {
    FILE *f;
    int *line;
};

static char *inifile_reader(char *buf, int size, void *stream)
{
    struct inifile_stream *s = stream;
    char *r = fgets(buf, size, s->f);
    if (r)
        (*s->line)++;
    return r;
}

int inifile_load(const char *path, int *line,
                 int (*handler)(void *user, const char *section, const char *key,
                                const char *value),
                 void *user, char *err, size_t errsz)
{
    struct inifile_stream s = {fopen(path, "r"), line};
    err[0] = '\0';
    *line = 0;
    if (!s.f) {
        snprintf(err, errsz, "%s: cannot open: %m", path);
        return ERR_IO;
    }
    int rc = ini_parse_stream(inifile_reader, &s, handler, user);
    fclose(s.f);
    if (rc == -2) {
        snprintf(err, errsz, "%s: out of memory", path);
        return ERR_NOMEM;
    }
    if (rc != 0) {
        if (!err[0])
            snprintf(err, errsz, "%s:%d: syntax error", path, rc);
        return ERR_INVAL;
    }
    return 0;
}
