// `bindName(name)`: a new unix socket bound to the abstract address `name` (no file on disk; per
// network namespace), as its descriptor, or -errno (-EADDRINUSE: another process holds the name).
// lib/sys/lock.ts takes its named locks with it; node:net would do the same after ≈ 10 ms of CPU
// for loading the module and setting up a server. Closing the descriptor (in this process and in
// every child that inherited it) frees the name.
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "addon.h"

static int bind_name(const char *name, size_t len) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (len == 0 || len > sizeof addr.sun_path - 1) return -ENAMETOOLONG;
  memcpy(addr.sun_path + 1, name, len);  // sun_path[0] == 0: the abstract namespace
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  if (bind(fd, (struct sockaddr *)&addr, offsetof(struct sockaddr_un, sun_path) + 1 + len) == 0)
    return fd;
  int err = errno;
  close(fd);
  return -err;
}

napi_value bind_name_fn(napi_env env, napi_callback_info info) {
  size_t argc = 1, len = 0;
  napi_value argv[1], result;
  char name[sizeof ((struct sockaddr_un *)0)->sun_path];
  int answer = -EINVAL;
  // The length first: a name too long is refused, never cut to a prefix that another name shares.
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc == 1 &&
      napi_get_value_string_utf8(env, argv[0], NULL, 0, &len) == napi_ok)
    answer = len > sizeof name - 1 ? -ENAMETOOLONG : 0;
  if (answer == 0 && napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) == napi_ok)
    answer = bind_name(name, len);
  napi_create_int32(env, answer, &result);
  return result;
}
