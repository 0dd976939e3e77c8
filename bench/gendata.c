/* Writes the benchmark's data and query files quickly (10M lines in about a
 * second, where Python takes most of a minute). bench.py calls it and caches
 * the output; the same seed always gives the same bytes.
 *
 *   gendata hosts N DIR   DIR/hosts-N.tset  one address a line (ip4tset)
 *                         DIR/hosts-N.set   the same addresses, every 10th
 *                                           with its own value (ip4set, ip4trie)
 *                         DIR/hosts-N.q     queries, half listed, half not
 *   gendata cidr N DIR    DIR/cidr-N.set    N prefixes /16../32, some values,
 *                                           some exclusions (ip4set, ip4trie)
 *                         DIR/cidr-N.q      queries, about half listed
 *
 * Listed addresses are bench_addr(i) for i = 0, 1, ... skipping reserved
 * space; addresses known to be unlisted come from indices at and above
 * UNLISTED_BASE. bench_addr is a bijection, so the two never meet; bench.py
 * repeats bench_addr to pick its own listed and unlisted probes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZONE "bl.bench"
#define QUERIES 1000000u
#define UNLISTED_BASE 0x90000000u /* the query files' unlisted addresses */
#define HEADER ":127.0.0.2:Listed, see http://bl.bench/lookup?ip=$\n"
#define VALUE " :3:Spam source $"

/* lowbias32 (C. Wellons): xorshifts and odd multipliers, so a bijection. */
static uint32_t bench_addr(uint32_t i)
{
    uint32_t x = i + 0x2545f491u;
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

static int bench_reserved(uint32_t a)
{
    uint32_t top = a >> 24;
    return top == 0 || top == 10 || top == 127 || top >= 224;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng_next(void)
{
    /* xorshift64*: plenty for picking queries */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static uint32_t rng_below(uint32_t n)
{
    return (uint32_t)((rng_next() >> 32) % n);
}

static char *fmt_u8(char *p, unsigned v)
{
    if (v >= 100)
        *p++ = (char)('0' + v / 100);
    if (v >= 10)
        *p++ = (char)('0' + v / 10 % 10);
    *p++ = (char)('0' + v % 10);
    return p;
}

static char *fmt_ip(char *p, uint32_t a)
{
    p = fmt_u8(p, a >> 24);
    *p++ = '.';
    p = fmt_u8(p, (a >> 16) & 255);
    *p++ = '.';
    p = fmt_u8(p, (a >> 8) & 255);
    *p++ = '.';
    return fmt_u8(p, a & 255);
}

/* "d.c.b.a.bl.bench A" */
static char *fmt_query(char *p, uint32_t a)
{
    p = fmt_u8(p, a & 255);
    *p++ = '.';
    p = fmt_u8(p, (a >> 8) & 255);
    *p++ = '.';
    p = fmt_u8(p, (a >> 16) & 255);
    *p++ = '.';
    p = fmt_u8(p, a >> 24);
    memcpy(p, "." ZONE " A\n", sizeof("." ZONE " A\n") - 1);
    return p + sizeof("." ZONE " A\n") - 1;
}

static FILE *open_out(const char *dir, const char *name, unsigned n, const char *ext)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s-%u.%s", dir, name, n, ext);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    return f;
}

static void close_out(FILE *f)
{
    if (ferror(f) || fclose(f) != 0) {
        perror("gendata: write");
        exit(1);
    }
}

static uint32_t unlisted_addr(void)
{
    for (;;) {
        uint32_t a = bench_addr(UNLISTED_BASE + rng_below(1u << 27));
        if (!bench_reserved(a))
            return a;
    }
}

static void gen_hosts(unsigned n, const char *dir)
{
    uint32_t *addrs = malloc((size_t)n * sizeof(*addrs));
    if (!addrs)
        exit(1);
    for (uint32_t i = 0, k = 0; k < n; i++) {
        uint32_t a = bench_addr(i);
        if (!bench_reserved(a))
            addrs[k++] = a;
    }
    FILE *tset = open_out(dir, "hosts", n, "tset");
    FILE *set = open_out(dir, "hosts", n, "set");
    fputs(HEADER, tset);
    fputs(HEADER, set);
    char line[64];
    for (unsigned k = 0; k < n; k++) {
        char *p = fmt_ip(line, addrs[k]);
        *p++ = '\n';
        fwrite(line, 1, (size_t)(p - line), tset);
        if (k % 10 == 9) {
            p--;
            memcpy(p, VALUE "\n", sizeof(VALUE "\n") - 1);
            p += sizeof(VALUE "\n") - 1;
        }
        fwrite(line, 1, (size_t)(p - line), set);
    }
    close_out(tset);
    close_out(set);

    FILE *q = open_out(dir, "hosts", n, "q");
    for (unsigned k = 0; k < QUERIES; k++) {
        uint32_t a = (rng_next() & 1) ? addrs[rng_below(n)] : unlisted_addr();
        char *p = fmt_query(line, a);
        fwrite(line, 1, (size_t)(p - line), q);
    }
    close_out(q);
    free(addrs);
}

struct prefix {
    uint32_t net;
    unsigned bits;
};

static uint32_t random_public(void)
{
    for (;;) {
        uint32_t a = (uint32_t)(rng_next() >> 32);
        if (!bench_reserved(a))
            return a;
    }
}

static uint32_t mask(unsigned bits)
{
    return bits ? ~0u << (32 - bits) : 0;
}

/* Prefix lengths roughly as in real lists: mostly hosts and /24s, a few
 * wide ones (the sum stays far below the server's 2^28-address guard). */
static unsigned cidr_bits(void)
{
    unsigned r = rng_below(10000);
    if (r < 6000)
        return 32;
    if (r < 7500)
        return 24;
    if (r < 9500)
        return 25 + rng_below(7);
    if (r < 9990)
        return 20 + rng_below(4);
    return 16 + rng_below(4);
}

static void gen_cidr(unsigned n, const char *dir)
{
    struct prefix *pfx = malloc((size_t)n * sizeof(*pfx));
    uint32_t *wide = malloc((size_t)n * sizeof(*wide)); /* /16../24 nets */
    if (!pfx || !wide)
        exit(1);
    unsigned nwide = 0, npfx = 0;
    FILE *f = open_out(dir, "cidr", n, "set");
    fputs(HEADER, f);
    char line[96];
    for (unsigned k = 0; k < n; k++) {
        char *p = line;
        if (k % 200 == 199 && nwide > 0) {
            /* an exclusion: one address or a /28 inside a wide entry */
            struct prefix w = pfx[wide[rng_below(nwide)]];
            unsigned bits = (rng_next() & 1) ? 32 : 28;
            uint32_t a = (w.net | (rng_below(1u << (32 - w.bits)))) & mask(bits);
            *p++ = '!';
            p = fmt_ip(p, a);
            if (bits != 32) {
                memcpy(p, "/28", 3);
                p += 3;
            }
        } else {
            unsigned bits = cidr_bits();
            uint32_t net = random_public() & mask(bits);
            pfx[npfx] = (struct prefix){net, bits};
            if (bits <= 24)
                wide[nwide++] = npfx;
            npfx++;
            p = fmt_ip(p, net);
            if (bits != 32) {
                *p++ = '/';
                p = fmt_u8(p, bits);
            }
            if (k % 10 == 3) {
                memcpy(p, VALUE, sizeof(VALUE) - 1);
                p += sizeof(VALUE) - 1;
            }
        }
        *p++ = '\n';
        fwrite(line, 1, (size_t)(p - line), f);
    }
    close_out(f);

    FILE *q = open_out(dir, "cidr", n, "q");
    for (unsigned k = 0; k < QUERIES; k++) {
        uint32_t a;
        if (rng_next() & 1) {
            struct prefix e = pfx[rng_below(npfx)];
            a = e.net | (e.bits < 32 ? rng_below(1u << (32 - e.bits)) : 0);
        } else {
            a = random_public();
        }
        char *p = fmt_query(line, a);
        fwrite(line, 1, (size_t)(p - line), q);
    }
    close_out(q);
    free(pfx);
    free(wide);
}

int main(int argc, char **argv)
{
    if (argc != 4 || (strcmp(argv[1], "hosts") != 0 && strcmp(argv[1], "cidr") != 0)) {
        fprintf(stderr, "usage: gendata hosts|cidr N DIR\n");
        return 2;
    }
    unsigned long n = strtoul(argv[2], NULL, 10);
    if (n == 0 || n > 100000000ul) {
        fprintf(stderr, "gendata: N must be 1..100000000\n");
        return 2;
    }
    if (argv[1][0] == 'h')
        gen_hosts((unsigned)n, argv[3]);
    else
        gen_cidr((unsigned)n, argv[3]);
    return 0;
}
