#ifndef SWITCHBOARD_CCURL_SHIM_H
#define SWITCHBOARD_CCURL_SHIM_H
#include <curl/curl.h>
#ifdef __linux__
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <stdint.h>
#include <unistd.h>
#endif

/* curl_easy_setopt, curl_easy_getinfo and curl_multi_setopt are variadic and cannot be called
   from Swift. These typed wrappers are the only way Swift reaches them. */

static inline CURLcode sb_curl_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode sb_curl_easy_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode sb_curl_easy_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode sb_curl_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode sb_curl_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

typedef size_t (*sb_curl_data_callback)(char *ptr, size_t size, size_t nmemb, void *userdata);
static inline CURLcode sb_curl_easy_setopt_write_function(CURL *handle, sb_curl_data_callback fn) {
    return curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, fn);
}
static inline CURLcode sb_curl_easy_setopt_header_function(CURL *handle, sb_curl_data_callback fn) {
    return curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, fn);
}

/* Streaming uploads: a read callback that may answer CURL_READFUNC_PAUSE, and the unpause. */
typedef size_t (*sb_curl_read_callback)(char *buffer, size_t size, size_t nitems, void *userdata);
static inline CURLcode sb_curl_easy_setopt_read_function(CURL *handle, sb_curl_read_callback fn) {
    return curl_easy_setopt(handle, CURLOPT_READFUNCTION, fn);
}
static inline size_t sb_curl_readfunc_pause(void) { return CURL_READFUNC_PAUSE; }
static inline CURLcode sb_curl_easy_unpause(CURL *handle) { return curl_easy_pause(handle, CURLPAUSE_CONT); }

static inline CURLcode sb_curl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}
static inline CURLcode sb_curl_easy_getinfo_pointer(CURL *handle, CURLINFO info, void **value) {
    return curl_easy_getinfo(handle, info, value);
}
static inline CURLcode sb_curl_easy_getinfo_double(CURL *handle, CURLINFO info, double *value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLMcode sb_curl_multi_setopt_long(CURLM *multi, CURLMoption option, long value) {
    return curl_multi_setopt(multi, option, value);
}

static inline CURLMcode sb_curl_multi_setopt_pointer(CURLM *multi, CURLMoption option, void *value) {
    return curl_multi_setopt(multi, option, value);
}
static inline CURLMcode sb_curl_multi_setopt_socket_function(CURLM *multi, curl_socket_callback fn) {
    return curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, fn);
}
static inline CURLMcode sb_curl_multi_setopt_timer_function(CURLM *multi, curl_multi_timer_callback fn) {
    return curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, fn);
}

static inline CURLSHcode sb_curl_share_setopt_long(CURLSH *share, CURLSHoption option, long value) {
    return curl_share_setopt(share, option, value);
}
static inline CURLSHcode sb_curl_share_setopt_pointer(CURLSH *share, CURLSHoption option, void *value) {
    return curl_share_setopt(share, option, value);
}
static inline CURLSHcode sb_curl_share_setopt_lock_function(CURLSH *share, curl_lock_function fn) {
    return curl_share_setopt(share, CURLSHOPT_LOCKFUNC, fn);
}
static inline CURLSHcode sb_curl_share_setopt_unlock_function(CURLSH *share, curl_unlock_function fn) {
    return curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, fn);
}
static inline CURLcode sb_curl_easy_setopt_share(CURL *handle, CURLSH *share) {
    return curl_easy_setopt(handle, CURLOPT_SHARE, share);
}

#ifdef __linux__
/* epoll_event is a packed struct on x86-64, which Swift does not import reliably: these helpers
   keep it on the C side. A descriptor's tag is what epoll hands back with its events. */
static inline int sb_epoll_set(int epfd, int op, int fd, uint32_t events, uint64_t tag) {
    struct epoll_event event;
    event.events = events;
    event.data.u64 = tag;
    return epoll_ctl(epfd, op, fd, &event);
}
/* Waits for up to `max` events; writes their tags and event masks to the two arrays. */
static inline int sb_epoll_wait(int epfd, uint64_t *tags, uint32_t *events, int max, int timeout_ms) {
    struct epoll_event buffer[256];
    if (max > 256) max = 256;
    int count = epoll_wait(epfd, buffer, max, timeout_ms);
    for (int i = 0; i < count; i++) {
        tags[i] = buffer[i].data.u64;
        events[i] = buffer[i].events;
    }
    return count;
}
enum {
    SB_EPOLLIN = EPOLLIN, SB_EPOLLOUT = EPOLLOUT, SB_EPOLLERR = EPOLLERR, SB_EPOLLHUP = EPOLLHUP,
    SB_EPOLL_CTL_ADD = EPOLL_CTL_ADD, SB_EPOLL_CTL_MOD = EPOLL_CTL_MOD, SB_EPOLL_CTL_DEL = EPOLL_CTL_DEL,
};
static inline int sb_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }
static inline int sb_eventfd_create(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }
static inline void sb_eventfd_signal(int fd) { uint64_t one = 1; ssize_t ignored = write(fd, &one, sizeof one); (void)ignored; }
static inline void sb_eventfd_drain(int fd) { uint64_t value; ssize_t ignored = read(fd, &value, sizeof value); (void)ignored; }
#endif

/* Refusing non-public addresses after DNS resolution (SSRF). curl calls the opensocket callback
   with each address it is about to connect to, after resolving the host: checking there sees the
   address actually used, whatever the name resolved to (no time-of-check gap, happy-eyeballs and
   every retry included). A guard belongs to one transfer. */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <string.h>

typedef struct {
    /* 1: any address; 0: refuse private, link-local, loopback, unspecified, multicast and similar. */
    int allow_non_public;
    /* Set when an address was refused, with that address as text. */
    int refused;
    char refused_address[INET6_ADDRSTRLEN];
} sb_address_guard;

/* 0 for a public unicast address; otherwise a class: 1 loopback, 2 private, 3 link-local,
   4 unspecified, 5 other reserved (multicast, CGNAT, benchmarking, documentation, broadcast,
   IPv4-mapped/compatible/6to4/NAT64 forms of a non-public address are judged by their IPv4 part),
   6 an unknown address family. */
static inline int sb_ipv4_class(const unsigned char *a) {
    if (a[0] == 127) return 1;
    if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168)) return 2;
    if (a[0] == 169 && a[1] == 254) return 3;
    if (a[0] == 0) return 4;
    if (a[0] == 100 && (a[1] & 0xc0) == 64) return 5;               /* 100.64/10 CGNAT */
    if (a[0] == 198 && (a[1] & 0xfe) == 18) return 5;               /* 198.18/15 */
    if (a[0] == 192 && a[1] == 0 && (a[2] == 0 || a[2] == 2)) return 5;
    if (a[0] >= 224) return 5;                                      /* multicast, reserved, broadcast */
    return 0;
}
static inline int sb_sockaddr_class(const struct sockaddr *address) {
    if (address->sa_family == AF_INET) {
        return sb_ipv4_class((const unsigned char *)&((const struct sockaddr_in *)address)->sin_addr);
    }
    if (address->sa_family == AF_INET6) {
        const unsigned char *a = ((const struct sockaddr_in6 *)address)->sin6_addr.s6_addr;
        static const unsigned char zero[16] = {0};
        if (memcmp(a, zero, 15) == 0 && a[15] == 1) return 1;        /* ::1 */
        if (memcmp(a, zero, 16) == 0) return 4;                      /* :: */
        if (memcmp(a, zero, 10) == 0 && a[10] == 0xff && a[11] == 0xff) return sb_ipv4_class(a + 12); /* ::ffff:a.b.c.d */
        if (memcmp(a, zero, 12) == 0) return sb_ipv4_class(a + 12);  /* ::a.b.c.d (deprecated) */
        if (a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b) return sb_ipv4_class(a + 12); /* 64:ff9b::/96 NAT64 */
        if (a[0] == 0x20 && a[1] == 0x02) return sb_ipv4_class(a + 2); /* 2002::/16 6to4 */
        if ((a[0] & 0xfe) == 0xfc) return 2;                          /* fc00::/7 unique local */
        if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) return 3;          /* fe80::/10 link-local */
        if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) return 2;          /* fec0::/10 site-local (deprecated) */
        if (a[0] == 0xff) return 5;                                   /* multicast */
        if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8) return 5; /* 2001:db8::/32 */
        return 0;
    }
    return 6;
}

static inline curl_socket_t sb_guarded_opensocket(void *clientp, curlsocktype purpose, struct curl_sockaddr *address) {
    sb_address_guard *guard = (sb_address_guard *)clientp;
    if (guard && !guard->allow_non_public && purpose == CURLSOCKTYPE_IPCXN && sb_sockaddr_class(&address->addr) != 0) {
        guard->refused = 1;
        const void *raw = address->family == AF_INET6
            ? (const void *)&((const struct sockaddr_in6 *)&address->addr)->sin6_addr
            : (const void *)&((const struct sockaddr_in *)&address->addr)->sin_addr;
        if (!inet_ntop(address->family, raw, guard->refused_address, sizeof guard->refused_address)) {
            strcpy(guard->refused_address, "?");
        }
        return CURL_SOCKET_BAD;
    }
    return socket(address->family, address->socktype, address->protocol);
}
static inline CURLcode sb_curl_easy_set_address_guard(CURL *handle, sb_address_guard *guard) {
    CURLcode code = curl_easy_setopt(handle, CURLOPT_OPENSOCKETFUNCTION, sb_guarded_opensocket);
    if (code != CURLE_OK) return code;
    return curl_easy_setopt(handle, CURLOPT_OPENSOCKETDATA, (void *)guard);
}
/* For tests of the classification: the class of a textual address (-1 when it does not parse). */
static inline int sb_address_text_class(const char *text) {
    struct sockaddr_in6 six; struct sockaddr_in four;
    memset(&six, 0, sizeof six); memset(&four, 0, sizeof four);
    if (inet_pton(AF_INET, text, &four.sin_addr) == 1) { four.sin_family = AF_INET; return sb_sockaddr_class((struct sockaddr *)&four); }
    if (inet_pton(AF_INET6, text, &six.sin6_addr) == 1) { six.sin6_family = AF_INET6; return sb_sockaddr_class((struct sockaddr *)&six); }
    return -1;
}

/* CURLMsg.data is a union; Swift sees it awkwardly. */
static inline CURLcode sb_curl_msg_result(CURLMsg *msg) { return msg->data.result; }

#endif
