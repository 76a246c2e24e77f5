// The suite's Node addon (N-API, so any Node 22 loads it): `lock` (flock.c), `spawn` (spawn.c),
// `digest` (digest.c), `writeIn` (netns.c) and `netnsCookie` (cookie.c).
// scripts/build.ts compiles it; lib/sys/addon.ts writes it out and loads it.
#include "addon.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

int start_thread(void *(*fn)(void *), void *arg, pthread_t *joinable) {
  pthread_t thread;
  pthread_attr_t attr;
  sigset_t all, before;
  int err = pthread_attr_init(&attr);
  if (err) return err;
  if (joinable == NULL) err = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  sigfillset(&all);
  if (!err) err = pthread_sigmask(SIG_SETMASK, &all, &before);  // the new thread inherits this mask
  if (!err) {
    err = pthread_create(joinable ? joinable : &thread, &attr, fn, arg);
    pthread_sigmask(SIG_SETMASK, &before, NULL);
  }
  pthread_attr_destroy(&attr);
  return err;
}

char *js_string(napi_env env, napi_value v, size_t *len) {
  size_t n, got;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &n) != napi_ok || n == SIZE_MAX) return NULL;
  char *s = malloc(n + 1);
  if (s == NULL) return NULL;
  if (napi_get_value_string_utf8(env, v, s, n + 1, &got) != napi_ok || got != n ||
      (len == NULL && strlen(s) != n)) {
    free(s);
    return NULL;
  }
  if (len != NULL) *len = n;
  return s;
}

void free_strings(char **list) {
  if (list == NULL) return;
  for (char **s = list; *s != NULL; s++) free(*s);
  free(list);
}

int js_strings(napi_env env, napi_value array, char ***list, size_t *count) {
  uint32_t n;
  bool is_array = false;
  *list = NULL;
  *count = 0;
  if (napi_is_array(env, array, &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, array, &n) != napi_ok)
    return EINVAL;
  if (n > MAX_STRINGS) return E2BIG;
  char **strings = calloc((size_t)n + 1, sizeof *strings);
  if (strings == NULL) return ENOMEM;
  for (uint32_t i = 0; i < n; i++) {
    napi_value item;
    if (napi_get_element(env, array, i, &item) != napi_ok ||
        (strings[i] = js_string(env, item, NULL)) == NULL) {
      free_strings(strings);
      return EINVAL;
    }
  }
  *list = strings;
  *count = n;
  return 0;
}

// Per environment: whether Node has begun tearing it down. Shared by the environment and every
// callback open on it; the last of them frees it.
struct env_guard {
  pthread_mutex_t lock;
  int closing;
  size_t refs;
};

static void guard_unref(env_guard *g) {
  pthread_mutex_lock(&g->lock);
  size_t left = --g->refs;
  pthread_mutex_unlock(&g->lock);
  if (left == 0) {
    pthread_mutex_destroy(&g->lock);
    free(g);
  }
}

// An environment cleanup hook: it runs before Node closes (and may free) the thread-safe functions
// of the environment, and waits for a thread that is calling one right now.
static void guard_close(void *arg) {
  env_guard *g = arg;
  pthread_mutex_lock(&g->lock);
  g->closing = 1;
  pthread_mutex_unlock(&g->lock);
  guard_unref(g);
}

// The environment's instance data is gone (after its cleanup hooks).
static void guard_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  guard_unref(data);
}

napi_status guard_env(napi_env env) {
  env_guard *g = calloc(1, sizeof *g);
  if (g == NULL) return napi_generic_failure;
  if (pthread_mutex_init(&g->lock, NULL) != 0) {
    free(g);
    return napi_generic_failure;
  }
  g->refs = 2;  // the cleanup hook's and the instance data's
  napi_status s = napi_add_env_cleanup_hook(env, guard_close, g);
  if (s != napi_ok) {
    pthread_mutex_destroy(&g->lock);
    free(g);
    return s;
  }
  s = napi_set_instance_data(env, g, guard_finalize, NULL);
  if (s != napi_ok) guard_unref(g);  // the hook still holds it
  return s;
}

napi_status callback_open(napi_env env, const char *name, napi_threadsafe_function_call_js settle,
                          js_callback *cb) {
  napi_value resource_name;
  void *data = NULL;
  napi_status s = napi_get_instance_data(env, &data);
  if (s == napi_ok && data == NULL) s = napi_generic_failure;
  if (s == napi_ok) s = napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource_name);
  if (s == napi_ok)
    s = napi_create_threadsafe_function(env, NULL, NULL, resource_name, 0, 1, NULL, NULL, NULL, settle,
                                        &cb->tsfn);
  if (s != napi_ok) return s;
  cb->guard = data;
  pthread_mutex_lock(&cb->guard->lock);
  cb->guard->refs++;
  pthread_mutex_unlock(&cb->guard->lock);
  return napi_ok;
}

int callback_close(js_callback cb, void *data) {
  int handed = -1;
  pthread_mutex_lock(&cb.guard->lock);
  if (!cb.guard->closing) {
    // The queue has no limit, so this never blocks. napi_closing means Node dropped our claim on
    // the function already: it must not be released again, nor touched.
    if (napi_call_threadsafe_function(cb.tsfn, data, napi_tsfn_nonblocking) == napi_ok) {
      handed = 0;
      napi_release_threadsafe_function(cb.tsfn, napi_tsfn_release);
    }
  }
  pthread_mutex_unlock(&cb.guard->lock);
  guard_unref(cb.guard);
  return handed;
}

void callback_drop(js_callback cb) {
  napi_release_threadsafe_function(cb.tsfn, napi_tsfn_release);
  guard_unref(cb.guard);
}

static napi_status export(napi_env env, napi_value exports, const char *name, napi_callback fn) {
  napi_value value;
  napi_status s = napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &value);
  return s == napi_ok ? napi_set_named_property(env, exports, name, value) : s;
}

NAPI_MODULE_INIT() {
  // A failure leaves a function missing: lib/sys/addon.ts then refuses the addon (the slow path).
  if (guard_env(env) != napi_ok) return exports;
  export(env, exports, "lock", lock_fn);
  export(env, exports, "spawn", spawn_fn);
  export(env, exports, "digest", digest_fn);
  export(env, exports, "writeIn", write_in_fn);
  export(env, exports, "netnsCookie", netns_cookie_fn);
  return exports;
}
