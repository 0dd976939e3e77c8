/* Anonymous mappings grown with mremap and trimmed with madvise. */
#include "data/pagebuf.h"
#include "common/err.h"

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGEBUF_FIRST (64u * 1024)

void pagebuf_init(struct pagebuf *pb)
{
    memset(pb, 0, sizeof(*pb));
}

int pagebuf_reserve(struct pagebuf *pb, size_t bytes)
{
    if (bytes <= pb->cap)
        return 0;
    size_t cap = pb->cap ? pb->cap : PAGEBUF_FIRST;
    while (cap < bytes) {
        if (cap > SIZE_MAX / 2)
            return ERR_NOMEM;
        cap *= 2;
    }
    void *p;
    if (!pb->base)
        p = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    else
        /* The kernel moves the page tables, not the bytes, and pages
         * not yet written cost nothing. */
        p = mremap(pb->base, pb->cap, cap, MREMAP_MAYMOVE);
    if (p == MAP_FAILED)
        return ERR_NOMEM;
    pb->base = p;
    pb->cap = cap;
    return 0;
}

void pagebuf_drop_head(struct pagebuf *pb, size_t bytes)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if (bytes > pb->cap)
        bytes = pb->cap;
    bytes -= bytes % page;
    if (bytes <= pb->dropped)
        return;
    /* MADV_DONTNEED frees the pages at once (MADV_FREE would leave them
     * counted until the system runs short, and the peak is the point). */
    if (madvise(pb->base + pb->dropped, bytes - pb->dropped, MADV_DONTNEED) == 0)
        pb->dropped = bytes;
}

void pagebuf_free(struct pagebuf *pb)
{
    if (pb->base)
        munmap(pb->base, pb->cap);
    memset(pb, 0, sizeof(*pb));
}
