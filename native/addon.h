// The suite's Node addon: what a plugin call needs from the system that Node lacks or makes costly.
#include <node_api.h>

napi_value lock_fn(napi_env env, napi_callback_info info);   // flock.c
napi_value spawn_fn(napi_env env, napi_callback_info info);  // spawn.c
napi_value bind_name_fn(napi_env env, napi_callback_info info);  // name.c
napi_value digest_fn(napi_env env, napi_callback_info info);     // digest.c
napi_value write_in_fn(napi_env env, napi_callback_info info);   // netns.c

// Runs fn(arg) on a new detached thread that blocks every signal (no EINTR, and Node's signal
// handling stays on its own threads). Returns 0 or an errno.
int start_detached(void *(*fn)(void *), void *arg);

// A JS string as a new C string to free (NULL on failure: not a string, out of memory). With `len`,
// its length in *len; without, it must hold no NUL (an argument, a path or a variable would be cut
// there: refused, as Node refuses it).
char *js_string(napi_env env, napi_value v, size_t *len);
