/* Replay driver: runs a fuzz harness's LLVMFuzzerTestOneInput over every
 * file in the corpus directories (or files) named on the command line, so
 * the corpora run as ordinary tests without libFuzzer. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Run one input file; returns 0, or -1 if it could not be read. */
static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    int rc = -1;
    uint8_t *data = NULL;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size < 0) {
        perror(path);
        goto out;
    }
    size_t size = (size_t)st.st_size;
    /* A fresh allocation of the exact size, as libFuzzer does, so ASan
     * catches a harness reading one byte too far. */
    data = malloc(size ? size : 1);
    if (!data) {
        fprintf(stderr, "%s: out of memory\n", path);
        goto out;
    }
    if (size && fread(data, 1, size, f) != size) {
        fprintf(stderr, "%s: short read\n", path);
        goto out;
    }
    LLVMFuzzerTestOneInput(data, size);
    rc = 0;
out:
    free(data);
    fclose(f);
    return rc;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run every regular file of a directory in name order (reproducible
 * failures); returns the number run, or -1 on an error. */
static int replay_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        perror(dir);
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **grown = realloc(names, cap * sizeof(*names));
            if (!grown)
                goto out;
            names = grown;
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        names[n] = malloc(len);
        if (!names[n])
            goto out;
        snprintf(names[n], len, "%s/%s", dir, e->d_name);
        n++;
    }
    qsort(names, n, sizeof(*names), by_name);
    rc = 0;
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(names[i], &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (replay_file(names[i]) != 0) {
            rc = -1;
            goto out;
        }
        rc++;
    }
out:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
        return 2;
    }
    long total = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            return 1;
        }
        int n = S_ISDIR(st.st_mode) ? replay_dir(argv[i]) : (replay_file(argv[i]) == 0 ? 1 : -1);
        if (n < 0)
            return 1;
        total += n;
    }
    /* An empty corpus would make this test pass without testing. */
    if (total == 0) {
        fprintf(stderr, "no inputs found\n");
        return 1;
    }
    printf("replayed %ld inputs\n", total);
    return 0;
}
