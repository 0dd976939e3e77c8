/* Unit tests for query-name decoding (ds_query_init, ds_query_set_client). */
#include "dstest.h"

static void init(struct ds_query *q, uint8_t *buf, const char *text)
{
    ds_query_init(q, buf, sub_of(text, buf));
}

static void test_ip4_full(void **state)
{
    (void)state;
    struct ds_query q;
    uint8_t b[NAME_MAXWIRE];
    init(&q, b, "4.3.2.1");
    assert_int_equal(q.ip4_octets, 4);
    assert_int_equal(q.ip4, 0x01020304);
    assert_int_equal(q.sublabels, 4);
    assert_string_equal(q.ip_text, "1.2.3.4");
    assert_int_equal(q.ip_text_len, 7);
    assert_string_equal(q.name_text, "4.3.2.1");
    assert_int_equal(q.name_text_len, 7);

    init(&q, b, "2.0.0.127");
    assert_int_equal(q.ip4, 0x7F000002);
    assert_string_equal(q.ip_text, "127.0.0.2");
}

static void test_ip4_partial(void **state)
{
    (void)state;
    struct ds_query q;
    uint8_t b[NAME_MAXWIRE];
    init(&q, b, "3.2.1");
    assert_int_equal(q.ip4_octets, 3);
    assert_int_equal(q.ip4, 0x01020300);
    assert_string_equal(q.ip_text, ""); /* not a full address */
    init(&q, b, "127");
    assert_int_equal(q.ip4_octets, 1);
    assert_int_equal(q.ip4, 0x7F000000);
}

static void test_ip4_leading_zeros(void **state)
{
    (void)state;
    /* rbldnsd answers 01.0.3.10 like 1.0.3.10; so do we. */
    struct ds_query q;
    uint8_t b[NAME_MAXWIRE];
    init(&q, b, "001.0.3.10");
    assert_int_equal(q.ip4_octets, 4);
    assert_int_equal(q.ip4, 0x0A030001);
    assert_string_equal(q.ip_text, "10.3.0.1");
}

static void test_ip4_not(void **state)
{
    (void)state;
    struct ds_query q;
    uint8_t b[NAME_MAXWIRE];
    const char *bad[] = {"5.4.3.2.1",  "256.0.0.1", "1.a.2.3",
                         "1234.1.1.1", "-1.2.3.4",  "example.com"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        init(&q, b, bad[i]);
        if (q.ip4_octets != 0)
            fail_msg("'%s' decoded as IPv4", bad[i]);
        assert_string_equal(q.ip_text, "");
    }
    init(&q, b, "example.com");
    assert_string_equal(q.name_text, "example.com");
    assert_int_equal(q.ip6_nibbles, 0);
}

static void test_apex(void **state)
{
    (void)state;
    struct ds_query q;
    ds_query_init(&q, (const uint8_t *)"", 0);
    assert_int_equal(q.sublabels, 0);
    assert_int_equal(q.ip4_octets, 0);
    assert_int_equal(q.ip6_nibbles, 0);
    assert_int_equal(q.name_text_len, 0);
    assert_string_equal(q.name_text, "");
}

static void test_ip6(void **state)
{
    (void)state;
    struct ds_query q;
    uint8_t b[NAME_MAXWIRE];
    /* ::ffff:127.0.0.2 reversed. */
    init(&q, b, "2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0");
    assert_int_equal(q.ip6_nibbles, 32);
    const uint8_t want[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0x7f, 0, 0, 2};
    assert_memory_equal(q.ip6, want, 16);
    assert_string_equal(q.ip_text, "::ffff:127.0.0.2");
    assert_int_equal(q.ip4_octets, 0);

    /* Partial: 2001:db8::/32 as 8 nibbles; upper-case hex accepted. */
    init(&q, b, "8.B.D.0.1.0.0.2");
    assert_int_equal(q.ip6_nibbles, 8);
    const uint8_t want2[16] = {0x20, 0x01, 0x0d, 0xb8};
    assert_memory_equal(q.ip6, want2, 16);
    assert_string_equal(q.ip_text, "");

    /* Odd number of nibbles: the last one fills the high half. */
    init(&q, b, "a.2");
    assert_int_equal(q.ip6_nibbles, 2);
    assert_int_equal(q.ip6[0], 0x2a);
    init(&q, b, "2");
    assert_int_equal(q.ip6_nibbles, 1);
    assert_int_equal(q.ip6[0], 0x20);

    init(&q, b, "g.1");
    assert_int_equal(q.ip6_nibbles, 0);
    init(&q, b, "10.1");
    assert_int_equal(q.ip6_nibbles, 0);
    init(&q, b, "1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1");
    assert_int_equal(q.ip6_nibbles, 0); /* 33 nibbles */
}

static void test_client(void **state)
{
    (void)state;
    struct ds_query q;
    uint8_t b[NAME_MAXWIRE];
    init(&q, b, "4.3.2.1");

    struct sockaddr_in sin = {.sin_family = AF_INET};
    inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr);
    ds_query_set_client(&q, &sin);
    assert_int_equal(q.client_family, AF_INET);
    assert_int_equal(q.client_ip4, 0xC0000207);
    assert_string_equal(q.client_text, "192.0.2.7");

    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, "::ffff:198.51.100.9", &sin6.sin6_addr);
    ds_query_set_client(&q, &sin6);
    assert_int_equal(q.client_family, AF_INET);
    assert_int_equal(q.client_ip4, 0xC6336409);
    assert_string_equal(q.client_text, "198.51.100.9");

    inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr);
    ds_query_set_client(&q, &sin6);
    assert_int_equal(q.client_family, AF_INET6);
    assert_memory_equal(q.client_ip6, &sin6.sin6_addr, 16);
    assert_string_equal(q.client_text, "2001:db8::1");
    assert_int_equal(q.client_text_len, 11);

    ds_query_set_client(&q, NULL);
    assert_int_equal(q.client_family, 0);
    assert_string_equal(q.client_text, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ip4_full),
        cmocka_unit_test(test_ip4_partial),
        cmocka_unit_test(test_ip4_leading_zeros),
        cmocka_unit_test(test_ip4_not),
        cmocka_unit_test(test_apex),
        cmocka_unit_test(test_ip6),
        cmocka_unit_test(test_client),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
