// The suite's Node addon: what a plugin call needs from the system that Node lacks or makes costly.
#include <node_api.h>
#include <pthread.h>

// The oldest glibc the addon may need is the bundled Node's own (2.28: RHEL 8, Debian 10); built on
// a newer one, it would need 2.34 (pthread_create and pthread_join moved into libc there) and every
// older host would silently take the slow path. Each of these is the same function as its newer
// version (glibc keeps the old names as aliases); where it still lives in libpthread.so.0 (glibc
// before 2.34), Node itself has loaded that library. test/unit/addon-build.test.ts checks the
// built addon needs nothing newer than 2.28.
#if defined(__x86_64__) && defined(__GLIBC__)
__asm__(".symver pthread_create,pthread_create@GLIBC_2.2.5");
__asm__(".symver pthread_join,pthread_join@GLIBC_2.2.5");
__asm__(".symver pthread_sigmask,pthread_sigmask@GLIBC_2.2.5");
#endif

napi_value lock_fn(napi_env env, napi_callback_info info);          // flock.c
napi_value spawn_fn(napi_env env, napi_callback_info info);         // spawn.c
napi_value digest_fn(napi_env env, napi_callback_info info);        // digest.c
napi_value write_in_fn(napi_env env, napi_callback_info info);      // netns.c
napi_value netns_cookie_fn(napi_env env, napi_callback_info info);  // cookie.c

// The most entries a JS array of strings may have (argv, env, sysctl pairs): more is refused
// (E2BIG), never counted into an allocation that wraps.
#define MAX_STRINGS 4096

// Runs fn(arg) on a new thread that blocks every signal (no EINTR, and Node's signal handling stays
// on its own threads): detached when `joinable` is NULL, else joinable as *joinable. Returns 0 or an
// errno.
int start_thread(void *(*fn)(void *), void *arg, pthread_t *joinable);

// A JS string as a new C string to free (NULL on failure: not a string, out of memory). With `len`,
// its length in *len; without, it must hold no NUL (an argument, a path or a variable would be cut
// there: refused, as Node refuses it).
char *js_string(napi_env env, napi_value v, size_t *len);

// A JS array of at most MAX_STRINGS strings as a NULL-terminated array of C strings (free it with
// free_strings), its length in *count. Returns 0, or EINVAL (not an array, an entry not a string or
// holding a NUL, an entry that cannot be read), E2BIG (too many entries) or ENOMEM.
int js_strings(napi_env env, napi_value array, char ***list, size_t *count);
void free_strings(char **list);

// A call from one of our threads back to the JS thread, made once: `settle(env, NULL, NULL, data)`
// runs there with the data the thread hands over. Safe while Node tears the environment down
// (exit, a worker's end): from then on the thread-safe function may be freed by Node at any moment,
// so it is never touched again and settle never runs; the thread frees the data itself.
typedef struct env_guard env_guard;
typedef struct {
  napi_threadsafe_function tsfn;
  env_guard *guard;
} js_callback;

// On the JS thread. Returns napi_ok or why not.
napi_status callback_open(napi_env env, const char *name, napi_threadsafe_function_call_js settle,
                          js_callback *cb);
// From the thread, exactly once, and the callback is spent: 0 when `data` was handed to settle (it
// is the JS thread's now), -1 when Node is tearing down (the caller still owns `data`). Takes the
// callback by value: the data it is handed may hold it, and be freed meanwhile.
int callback_close(js_callback cb, void *data);
// On the JS thread, instead of callback_close, when no thread was started.
void callback_drop(js_callback cb);

// Called by NAPI_MODULE_INIT (addon.c) for each environment that loads the addon.
napi_status guard_env(napi_env env);
