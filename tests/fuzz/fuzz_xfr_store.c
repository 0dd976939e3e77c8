/* Fuzz the IXFR history file reader (xfr_store_parse): whatever the
 * bytes, it refuses or gives differences whose packed records walk
 * within their buffers. The input's last four bytes are made its right
 * CRC-32 first, so that the fuzzer reaches the structure behind it. */
#include "fuzz_common.h"

#include <string.h>
#include <zlib.h>

#include "server/xfr_journal.h"
#include "server/xfr_store.h"
#include "wire/wire.h"

struct walk {
    const uint8_t *start, *end;
    uint64_t seen;
};

static int check_rr(const struct zrec_rr *rr, void *arg)
{
    struct walk *w = arg;
    CHECK(rr->owner >= w->start && rr->owner + rr->owner_len <= w->end);
    CHECK(rr->owner_len > 0 && rr->owner[rr->owner_len - 1] == 0);
    CHECK(rr->rdata + rr->rdlen <= w->end);
    w->seen++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A heap copy of the input's exact size: a read past its end is
     * caught by ASan, where a bigger static buffer would hide it. */
    if (size > (1u << 16))
        return 0;
    uint8_t *buf = malloc(size ? size : 1);
    CHECK(buf != NULL);
    memcpy(buf, data, size);
    if (size >= 4) {
        uLong crc = crc32(crc32(0, Z_NULL, 0), buf, (uInt)(size - 4));
        wire_put32(buf + size - 4, (uint32_t)crc);
    }
    struct xfr_delta **d = NULL;
    unsigned n = 0;
    char why[256];
    int rc = xfr_store_parse(buf, size, NULL, 0, &d, &n, why, sizeof(why));
    CHECK(rc <= 0);
    if (rc) {
        CHECK(d == NULL && n == 0 && why[0] != '\0');
        free(buf);
        return 0;
    }
    for (unsigned i = 0; i < n; i++) {
        CHECK(i == 0 || d[i - 1]->to == d[i]->from);
        /* A side without records has no buffer (NULL + 0 is undefined). */
        struct walk del = {d[i]->del, d[i]->del ? d[i]->del + d[i]->del_len : NULL, 0};
        struct walk add = {d[i]->add, d[i]->add ? d[i]->add + d[i]->add_len : NULL, 0};
        CHECK(xfr_delta_walk(d[i], false, check_rr, &del) == 0 && del.seen == d[i]->ndel);
        CHECK(xfr_delta_walk(d[i], true, check_rr, &add) == 0 && add.seen == d[i]->nadd);
    }
    xfr_journal_chain_free(d, n);
    free(buf);
    return 0;
}
