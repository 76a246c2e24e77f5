// `writeIn(netns, pairs)`: writes sysctls (pairs: path under /proc/sys, value, path, value, …)
// inside the network namespace at the path `netns`, from a thread of its own that enters it (a
// thread's netns is its own; the caller's is never changed) and ends after. A key the netns lacks
// (IPv6 disabled) is skipped, as `sysctl -e` does. Returns [0, -1], or [errno, index of the pair
// that failed] (-1: entering the netns failed; -2: no thread, or arguments that are not strings). Saves lib/sys/sysctl.ts starting `nsenter` and `sh`
// for a pod's arp_notify before its `ip` batch.
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
  char **pairs;  // path, value, …
  uint32_t n;    // entries in pairs
  int err, at;
} job;

static int write_value(const char *path, const char *value) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
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
  for (uint32_t i = 0; j->err == 0 && i + 1 < j->n; i += 2)
    if ((j->err = write_value(j->pairs[i], j->pairs[i + 1]))) j->at = (int)i / 2;
  return NULL;
}

napi_value write_in_fn(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result, item;
  job j = {.err = EINVAL, .at = -1};
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc == 2 &&
      napi_get_array_length(env, argv[1], &j.n) == napi_ok &&
      (j.netns = js_string(env, argv[0], NULL)) != NULL && (j.pairs = calloc(j.n + 1, sizeof *j.pairs))) {
    j.err = 0;
    for (uint32_t i = 0; i < j.n && !j.err; i++)
      if (napi_get_element(env, argv[1], i, &item) != napi_ok || !(j.pairs[i] = js_string(env, item, NULL)))
        j.err = EINVAL;
    pthread_t thread;
    // Not `j.err = pthread_create(…)`: the thread may have set j.err before that assignment.
    int started = j.err ? j.err : pthread_create(&thread, NULL, write_in, &j);
    if (started == 0) pthread_join(thread, NULL);
    else j.err = started, j.at = -2;
  }
  for (uint32_t i = 0; j.pairs && i < j.n; i++) free(j.pairs[i]);
  free(j.pairs);
  free(j.netns);
  napi_create_array_with_length(env, 2, &result);
  napi_create_int32(env, j.err, &item);
  napi_set_element(env, result, 0, item);
  napi_create_int32(env, j.at, &item);
  napi_set_element(env, result, 1, item);
  return result;
}
