/* A program using libdnsblkit.so through its public header only (ctest
 * api/shared): the settings, their errors, and a check that gets an
 * answer from nobody (a resolver address where nothing listens), so it
 * needs no DNS server and still runs every call. */
#include <dnsblkit/dnsblkit.h>

#include <stdio.h>
#include <string.h>

static int failures;

#define EXPECT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "api_example: %s:%d: %s\n", __FILE__, __LINE__, #cond);                \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static int called;

static void done(void *arg, const dnsblkit_result *r)
{
    (void)arg;
    called++;
    EXPECT(!strcmp(dnsblkit_result_subject(r), "192.0.2.1"));
    EXPECT(dnsblkit_result_nlists(r) == 1);
    EXPECT(!strcmp(dnsblkit_result_zone(r, 0), "bl.example"));
    /* Nobody answers: no score, never listed. */
    EXPECT(!strcmp(dnsblkit_result_outcome(r, 0), "error"));
    EXPECT(dnsblkit_result_score(r) == 0);
    EXPECT(!dnsblkit_result_listed(r));
    uint32_t codes[4];
    EXPECT(dnsblkit_result_codes(r, 0, codes, 4) == 0);
    EXPECT(dnsblkit_result_why(r, 0)[0] != '\0');
    EXPECT(!strcmp(dnsblkit_result_outcome(r, 7), ""));
}

int main(void)
{
    char err[256];
    dnsblkit *d = dnsblkit_new(NULL, err, sizeof(err));
    EXPECT(d != NULL);
    if (!d)
        return 1;
    EXPECT(dnsblkit_set(d, "check", "lists", "bl.example*0", err, sizeof(err)) < 0);
    EXPECT(strstr(err, "weight") != NULL);
    EXPECT(dnsblkit_set(d, "server", "listen", "127.0.0.1", err, sizeof(err)) < 0);
    EXPECT(dnsblkit_check(d, "192.0.2.1", 0, done, NULL) < 0); /* not started */
    EXPECT(dnsblkit_set(d, "check", "lists", "bl.example=127.0.0.[2..11]*2", err, sizeof(err)) ==
           0);
    /* Port 9 (discard) on loopback: nothing answers; fail fast. */
    EXPECT(dnsblkit_set(d, "check", "resolver", "127.0.0.1/9", err, sizeof(err)) == 0);
    EXPECT(dnsblkit_set(d, "check", "timeout", "100ms", err, sizeof(err)) == 0);
    EXPECT(dnsblkit_set(d, "check", "tries", "1", err, sizeof(err)) == 0);
    EXPECT(dnsblkit_start(d, err, sizeof(err)) == 0);
    EXPECT(dnsblkit_set(d, "check", "threshold", "2", err, sizeof(err)) < 0); /* too late */
    EXPECT(dnsblkit_check(d, "not an address", 0, done, NULL) < 0);
    EXPECT(dnsblkit_check(d, "192.0.2.1", DNSBLKIT_TXT, done, NULL) == 0);
    for (int i = 0; i < 100 && dnsblkit_pending(d); i++)
        EXPECT(dnsblkit_run(d, 100) == 0);
    EXPECT(called == 1);
    const char *zone, *state, *why;
    EXPECT(dnsblkit_list(d, 0, &zone, &state, &why) == 0);
    EXPECT(!strcmp(zone, "bl.example") && !strcmp(state, "unknown"));
    EXPECT(dnsblkit_list(d, 1, &zone, &state, &why) < 0);
    EXPECT(strlen(dnsblkit_strerror(-2)) > 0);
    dnsblkit_free(d);
    if (failures)
        return 1;
    printf("api_example: libdnsblkit %d works through its public header\n", DNSBLKIT_API_VERSION);
    return 0;
}
