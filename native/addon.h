// The suite's Node addon: what a plugin call needs from the system that Node lacks or makes costly.
#include <node_api.h>

napi_value lock_fn(napi_env env, napi_callback_info info);   // flock.c
napi_value spawn_fn(napi_env env, napi_callback_info info);  // spawn.c
