/* Unit tests for snapshot reclamation: a writer must wait for online
 * readers and must not wait for offline ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "server/epoch.h"

static struct epoch_domain dom;

static void test_offline_readers_do_not_block(void **state)
{
    (void)state;
    epoch_init(&dom);
    struct epoch_reader *r;
    assert_int_equal(epoch_register(&dom, &r), 0);
    epoch_offline(r);
    epoch_synchronize(&dom); /* returns at once */
    epoch_online(&dom, r);
    epoch_quiescent(&dom, r);
    epoch_offline(r);
    epoch_synchronize(&dom);
}

struct holder {
    struct epoch_reader *r;
    atomic_int phase;
};

static void *holder_main(void *arg)
{
    struct holder *h = arg;
    epoch_online(&dom, h->r);
    atomic_store(&h->phase, 1);
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
    atomic_store(&h->phase, 2);
    epoch_offline(h->r);
    return NULL;
}

static void test_online_reader_blocks_writer(void **state)
{
    (void)state;
    epoch_init(&dom);
    struct holder h = {0};
    assert_int_equal(epoch_register(&dom, &h.r), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, holder_main, &h), 0);
    while (atomic_load(&h.phase) == 0)
        ;
    epoch_synchronize(&dom);
    /* The writer may only return after the reader left its section. */
    assert_int_equal(atomic_load(&h.phase), 2);
    pthread_join(t, NULL);
}

static void test_register_limit(void **state)
{
    (void)state;
    epoch_init(&dom);
    struct epoch_reader *r;
    for (int i = 0; i < EPOCH_MAX_READERS; i++)
        assert_int_equal(epoch_register(&dom, &r), 0);
    assert_int_not_equal(epoch_register(&dom, &r), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offline_readers_do_not_block),
        cmocka_unit_test(test_online_reader_blocks_writer),
        cmocka_unit_test(test_register_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
