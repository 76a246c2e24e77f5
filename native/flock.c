// flock(2) for Node, which has none: `lock(fd)` waits for an exclusive lock on the open file
// description of `fd` and resolves to 0 (held) or the errno. Closing the descriptor lets go. The
// kernel queues waiters (as `flock` and the reference host-local wait) and hands the lock over at
// once. The wait runs on a detached thread of its own, not on libuv's pool: process.exit joins the
// pool's threads, so a call that gives up waiting (lib/sys/flock.ts) could never exit.
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <node_api.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include "addon.h"

typedef struct {
  int fd;  // a dup of the caller's: the same open file description, closed by the waiter
  int err;
  napi_deferred deferred;
  js_callback done;
} lock_request;

static void resolve(napi_env env, napi_deferred deferred, int err) {
  napi_value result;
  napi_create_int32(env, err, &result);
  napi_resolve_deferred(env, deferred, result);
}

// On the JS thread, once the waiter is done (env is NULL while Node tears down).
static void settle(napi_env env, napi_value js_cb, void *context, void *data) {
  (void)js_cb;
  (void)context;
  lock_request *req = data;
  if (env != NULL) resolve(env, req->deferred, req->err);
  free(req);
}

static void *wait_for_lock(void *data) {
  lock_request *req = data;
  req->err = flock(req->fd, LOCK_EX) == 0 ? 0 : errno;  // signals are blocked: no EINTR
  close(req->fd);  // the caller's descriptor still holds the description, and so the lock
  if (callback_close(req->done, req) != 0) free(req);  // once handed over, req is the JS thread's
  return NULL;
}

napi_value lock_fn(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], promise;
  double number = -1;  // an int32 would read NaN as 0: our stdin
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_double(env, argv[0], &number) != napi_ok || !(number >= 0 && number <= INT_MAX) ||
      number != (int)number)
    number = -1;
  int fd = (int)number;
  lock_request *req = calloc(1, sizeof *req);
  if (req == NULL || napi_create_promise(env, &req->deferred, &promise) != napi_ok) {
    free(req);
    napi_throw_error(env, NULL, "flock addon: cannot start a lock request");
    return NULL;
  }
  req->fd = fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 0);  // never inherited by a child
  if (req->fd < 0) {
    resolve(env, req->deferred, fd < 0 ? EBADF : errno);
    free(req);
    return promise;
  }
  int err = EAGAIN;
  if (callback_open(env, "flock", settle, &req->done) == napi_ok) {
    err = start_thread(wait_for_lock, req, NULL);
    if (err == 0) return promise;
    callback_drop(req->done);
  }
  close(req->fd);
  resolve(env, req->deferred, err);
  free(req);
  return promise;
}
