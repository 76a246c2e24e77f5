// `netnsCookie()`: the cookie of the calling thread's network namespace (SO_NETNS_COOKIE, Linux
// 5.14+), as the decimal string of a u64, or '' where the kernel cannot tell. Unlike the netns's
// inode, which the kernel gives to a new netns once the old one is gone, a cookie is never given
// twice in a boot: lib/net keys what it keeps per host netns (stamps, notes) by it.
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addon.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

// The cookie, or 0 (the kernel numbers them from 1) when the kernel has no SO_NETNS_COOKIE
// (ENOPROTOOPT) or no socket can be made.
static uint64_t netns_cookie(void) {
  uint64_t cookie = 0;
  socklen_t len = sizeof cookie;
  // A socket belongs to the netns of the thread that makes it; AF_UNIX is there in every netns.
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) != 0 || len != sizeof cookie) cookie = 0;
  close(fd);
  return cookie;
}

napi_value netns_cookie_fn(napi_env env, napi_callback_info info) {
  (void)info;
  char text[24] = "";
  napi_value result;
  uint64_t cookie = netns_cookie();
  if (cookie != 0) snprintf(text, sizeof text, "%" PRIu64, cookie);
  if (napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &result) != napi_ok) return NULL;
  return result;
}
