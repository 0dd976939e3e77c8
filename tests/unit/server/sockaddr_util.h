/* Socket addresses from text, for the server's unit tests (the rate
 * limit and the TCP limits take the client's struct sockaddr). */
#ifndef DBK_TESTS_UNIT_SERVER_SOCKADDR_UTIL_H
#define DBK_TESTS_UNIT_SERVER_SOCKADDR_UTIL_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

static inline struct sockaddr_storage v4(const char *a)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    sin->sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, a, &sin->sin_addr), 1);
    return ss;
}

static inline struct sockaddr_storage v6(const char *a)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    sin6->sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, a, &sin6->sin6_addr), 1);
    return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

#endif
