// `writeIn(netns, pairs)`: writes sysctls (pairs: path under /proc/sys, value, path, value, …)
// inside the network namespace at the path `netns`, from a thread of its own that enters it (a
// thread's netns is its own; the caller's is never changed) and ends after. A key the netns lacks
// (IPv6 disabled) is skipped, as `sysctl -e` does. Returns [0, -1], or [errno, index of the pair
// that failed] (-1: entering the netns failed; -2: no thread, or arguments that are not strings, or
// more than MAX_STRINGS of them: E2BIG). Saves lib/sys/sysctl.ts starting `nsenter` and `sh` for a
// pod's arp_notify before its `ip` batch.
#define _GNU_SOURCE  // setns
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addon.h"

typedef struct {
  char *netns;
  char **pairs;  // path, value, …, NULL
  size_t n;      // entries in pairs
  int err, at;
} job;

// Only a sysctl: a path under /proc/sys with no `..` in it (the thread runs as root).
static int write_value(const char *path, const char *value) {
  if (strncmp(path, "/proc/sys/", 10) != 0 || strstr(path, "/..") != NULL) return EINVAL;
  int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return errno == ENOENT ? 0 : errno;
  size_t len = strlen(value);
  ssize_t n = write(fd, value, len);
  int err = n == (ssize_t)len ? 0 : n < 0 ? errno : EIO;  // a short write: EIO
  close(fd);
  return err;
}

static void *write_in(void *data) {
  job *j = data;
  int fd = open(j->netns, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
    j->err = errno;
    j->at = -1;
  }
  if (fd >= 0) close(fd);
  for (size_t i = 0; j->err == 0 && i + 1 < j->n; i += 2)
    if ((j->err = write_value(j->pairs[i], j->pairs[i + 1]))) j->at = (int)i / 2;
  return NULL;
}

napi_value write_in_fn(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result, item;
  job j = {.err = EINVAL, .at = -2};
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc == 2 &&
      (j.netns = js_string(env, argv[0], NULL)) != NULL)
    j.err = js_strings(env, argv[1], &j.pairs, &j.n);
  if (j.err == 0) {
    j.at = -1;
    pthread_t thread;
    // Not `j.err = start_thread(…)`: the thread may have set j.err before that assignment.
    int started = start_thread(write_in, &j, &thread);
    if (started == 0) pthread_join(thread, NULL);
    else j.err = started, j.at = -2;
  }
  free_strings(j.pairs);
  free(j.netns);
  if (napi_create_array_with_length(env, 2, &result) != napi_ok) return NULL;
  napi_create_int32(env, j.err, &item);
  napi_set_element(env, result, 0, item);
  napi_create_int32(env, j.at, &item);
  napi_set_element(env, result, 1, item);
  return result;
}
