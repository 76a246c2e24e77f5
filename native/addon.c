// The suite's Node addon (N-API, so any Node 22 loads it): `lock` (flock.c), `spawn` (spawn.c),
// `bindName` (name.c), `digest` (digest.c) and `writeIn` (netns.c).
// scripts/build.ts compiles it; lib/sys/addon.ts writes it out and loads it.
#include "addon.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

int start_detached(void *(*fn)(void *), void *arg) {
  pthread_t thread;
  pthread_attr_t attr;
  sigset_t all, before;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &before);  // the new thread inherits this mask
  int err = pthread_create(&thread, &attr, fn, arg);
  pthread_sigmask(SIG_SETMASK, &before, NULL);
  pthread_attr_destroy(&attr);
  return err;
}

char *js_string(napi_env env, napi_value v, size_t *len) {
  size_t n;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &n) != napi_ok) return NULL;
  char *s = malloc(n + 1);
  if (s == NULL) return NULL;
  napi_get_value_string_utf8(env, v, s, n + 1, &n);
  if (len != NULL) *len = n;
  else if (strlen(s) != n) {
    free(s);
    return NULL;
  }
  return s;
}

static void export(napi_env env, napi_value exports, const char *name, napi_callback fn) {
  napi_value value;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &value);
  napi_set_named_property(env, exports, name, value);
}

NAPI_MODULE_INIT() {
  export(env, exports, "lock", lock_fn);
  export(env, exports, "spawn", spawn_fn);
  export(env, exports, "bindName", bind_name_fn);
  export(env, exports, "digest", digest_fn);
  export(env, exports, "writeIn", write_in_fn);
  return exports;
}
