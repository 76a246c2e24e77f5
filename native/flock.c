// flock(2) for Node, which has none: `lock(fd)` waits, on a thread of libuv's pool, for an exclusive
// lock on the open file description of `fd`, and resolves to 0 (held) or the errno. Closing the
// descriptor lets go. The kernel queues waiters (as `flock` and the reference host-local wait) and
// hands the lock over at once. Used by lib/sys/flock.ts; built by scripts/build.ts.
#include <errno.h>
#include <node_api.h>
#include <stdlib.h>
#include <sys/file.h>

typedef struct {
  int fd;
  int err;
  napi_deferred deferred;
  napi_async_work work;
} lock_request;

static void wait_for_lock(napi_env env, void *data) {
  lock_request *req = data;
  do req->err = flock(req->fd, LOCK_EX) == 0 ? 0 : errno;
  while (req->err == EINTR);
}

static void settle(napi_env env, napi_status status, void *data) {
  lock_request *req = data;
  napi_value result;
  napi_create_int32(env, status == napi_ok ? req->err : ECANCELED, &result);
  napi_resolve_deferred(env, req->deferred, result);
  napi_delete_async_work(env, req->work);
  free(req);
}

static napi_value lock(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], promise, name;
  int32_t fd = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok)
    fd = -1;  // flock then answers EBADF
  lock_request *req = calloc(1, sizeof *req);
  if (req == NULL) {
    napi_throw_error(env, NULL, "flock addon: out of memory");
    return NULL;
  }
  req->fd = fd;
  napi_create_promise(env, &req->deferred, &promise);
  napi_create_string_utf8(env, "flock", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, wait_for_lock, settle, req, &req->work);
  napi_queue_async_work(env, req->work);
  return promise;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "lock", NAPI_AUTO_LENGTH, lock, NULL, &fn);
  napi_set_named_property(env, exports, "lock", fn);
  return exports;
}
