/* Fuzz harness for reported messages: the input is parsed as a raw
 * message or an ARF report (GMime), and the Received: chain it yields is
 * walked and every hop's address read. Refusals are expected; a crash, a
 * leak, an out-of-bounds access or a result outside its contract is the
 * bug. */
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "listing/received_chain.h"
#include "listing/report_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct rchain_trusted trusted;
    static int ready;
    if (!ready) {
        const char *bad = NULL;
        CHECK(rchain_trusted_parse("192.0.2.0/24 2001:db8::/32", &trusted, &bad) == 0);
        ready = 1;
    }
    struct report_msg m;
    char why[256];
    why[0] = '\0';
    if (report_msg_parse((const char *)data, size, size & 1 ? REPORT_MSG_ATTACHED : 0, &m, why,
                         sizeof(why)) != 0) {
        CHECK(why[0] != '\0' && strlen(why) < sizeof(why));
        return 0;
    }
    CHECK(strlen(m.hash) == 64);
    CHECK(strlen(m.excerpt) < sizeof(m.excerpt));
    for (size_t i = 0; m.excerpt[i]; i++)
        CHECK(m.excerpt[i] >= 0x20 && m.excerpt[i] < 0x7f);
    CHECK(!m.has_source_ip || m.source_family == 4 || m.source_family == 6);
    for (size_t i = 0; i < m.nreceived; i++) {
        int family;
        uint8_t addr[16];
        CHECK(m.received[i] != NULL);
        CHECK(strchr(m.received[i], '\n') == NULL); /* unfolded */
        if (rchain_hop_ip(m.received[i], &family, addr) == 0)
            CHECK(family == 4 || family == 6);
    }
    struct rchain_source src;
    why[0] = '\0';
    int rc = rchain_source((const char *const *)m.received, m.nreceived, &trusted, &src, why,
                           sizeof(why));
    if (rc == 0)
        CHECK(src.hop < m.nreceived && (src.family == 4 || src.family == 6));
    else
        CHECK(why[0] != '\0');
    report_msg_free(&m);
    return 0;
}
