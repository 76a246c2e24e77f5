// The suite's Node addon (N-API, so any Node 22 loads it): `lock` (flock.c) and `spawn` (spawn.c).
// scripts/build.ts compiles it; lib/sys/addon.ts writes it out and loads it.
#include "addon.h"

static void export(napi_env env, napi_value exports, const char *name, napi_callback fn) {
  napi_value value;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &value);
  napi_set_named_property(env, exports, name, value);
}

NAPI_MODULE_INIT() {
  export(env, exports, "lock", lock_fn);
  export(env, exports, "spawn", spawn_fn);
  return exports;
}
