// Starting a program without node:child_process, whose load and fork cost a plugin call ≈ 10 ms of
// CPU for the first child and ≈ 5 ms for each further one (libuv forks the whole Node process).
// posix_spawn(3) shares the parent's memory until the exec, so it costs a fraction of a
// millisecond. `spawn(file, argv, env, input, fds, timeoutMs)` starts `file` on the JS thread (so
// the child gets that thread's priority, see lib/sys/flock.ts) with pipes for stdin, stdout and
// stderr and `fds` as its descriptors 3, 4, …; a detached thread of its own then writes `input`,
// reads both outputs and reaps the child. It resolves to
//   { error }                                        (errno: the program could not be started), or
//   { status, signal, stdout, stderr, timedOut }     (status null when a signal ended it).
// Past timeoutMs the child is killed (SIGKILL) and the promise resolves at once, timedOut true; a
// timeoutMs that is not a number, or not one from 0 to 1e9, means 1e9 (≈ 11 days). Arguments that
// are not as described resolve to { error: EINVAL }; more than MAX_STRINGS argv or env entries, to
// E2BIG; more than MAX_FDS fds, to EMFILE.
// Used by lib/sys/run.ts; built with the rest of native/ by scripts/build.ts.
#define _GNU_SOURCE  // pipe2
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <node_api.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "addon.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

typedef struct {
  char *data;
  size_t len, cap;
} buffer;

typedef struct {
  pid_t pid;
  int in, out, err;  // our ends of the child's stdin (write), stdout and stderr (read); -1 closed
  int pidfd;         // readable once the child has exited; -1 where the kernel has no pidfd_open
  char *input;
  size_t input_len, written;
  int64_t deadline_ms;
  buffer stdout_buf, stderr_buf;
  int status, timed_out, wait_errno, lost_output;
  int reaped;  // waited for: its pid may be another process's now, never to be signalled
  napi_deferred deferred;
  js_callback done;
} child;

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

// Reads what `fd` has into `b`; closes it at end of file (or on an error, read as the end).
static void drain(child *c, int *fd, buffer *b) {
  if (b->cap - b->len < 16384) {
    size_t cap = b->cap ? b->cap * 2 : 65536;
    char *data = realloc(b->data, cap);
    if (data == NULL) {  // out of memory: the child sees a closed pipe, the call fails
      c->lost_output = 1;
      return close_fd(fd);
    }
    b->data = data;
    b->cap = cap;
  }
  ssize_t n = read(*fd, b->data + b->len, b->cap - b->len);
  if (n > 0) b->len += n;
  else if (n == 0 || (errno != EAGAIN && errno != EINTR)) close_fd(fd);
}

// Writes the next part of the input; closes the pipe once all of it is written or the child stopped
// reading (EPIPE: the child exited first, as `ip` does on a failed batch line).
static void feed(child *c) {
  ssize_t n = write(c->in, c->input + c->written, c->input_len - c->written);
  if (n > 0) c->written += n;
  if (c->written == c->input_len || (n < 0 && errno != EAGAIN && errno != EINTR)) close_fd(&c->in);
}

// Reaps the child if it has exited; returns 1 when it is done with (exited, or not ours to wait).
static int reaped(child *c) {
  pid_t w = waitpid(c->pid, &c->status, WNOHANG);
  if (w == c->pid) return c->reaped = 1;
  if (w < 0 && errno != EINTR) return c->wait_errno = errno, c->reaped = 1;
  return 0;
}

// Feeds the input and reads both outputs until the child has exited and closed them, as
// child_process's 'close' does; the input goes on until the child exits, whatever it closed. The
// child's exit is seen through its pidfd; without one (a kernel before 5.3), by asking every
// millisecond once the outputs are closed. Returns 0, or 1 on the deadline.
static int supervise_io(child *c) {
  int exited = 0;
  while (!exited || c->out >= 0 || c->err >= 0) {
    struct pollfd p[4];
    int n = 0, in = -1, out = -1, err = -1, pid = -1;
    if (c->in >= 0) in = n, p[n++] = (struct pollfd){.fd = c->in, .events = POLLOUT};
    if (c->out >= 0) out = n, p[n++] = (struct pollfd){.fd = c->out, .events = POLLIN};
    if (c->err >= 0) err = n, p[n++] = (struct pollfd){.fd = c->err, .events = POLLIN};
    if (!exited && c->pidfd >= 0) pid = n, p[n++] = (struct pollfd){.fd = c->pidfd, .events = POLLIN};
    int64_t left = c->deadline_ms - now_ms();
    if (left <= 0) return 1;
    int asking = !exited && c->pidfd < 0 && c->out < 0 && c->err < 0;
    int wait_ms = asking && left > 1 ? 1 : left > INT_MAX ? INT_MAX : (int)left;
    int ready = poll(p, n, wait_ms);
    if (ready < 0) poll(NULL, 0, 1);  // EINTR, ENOMEM: again in a moment (the deadline still holds)
    if (ready > 0 && in >= 0 && p[in].revents) feed(c);
    if (ready > 0 && out >= 0 && p[out].revents) drain(c, &c->out, &c->stdout_buf);
    if (ready > 0 && err >= 0 && p[err].revents) drain(c, &c->err, &c->stderr_buf);
    if (!exited && (asking || (pid >= 0 && ready > 0 && p[pid].revents))) {
      if (reaped(c)) {
        exited = 1;
        close_fd(&c->in);  // nobody reads it any more
      } else if (!asking) {
        poll(NULL, 0, 1);  // exited but not yet ours to reap (a tracer holds it): do not spin
      }
    }
  }
  return 0;
}

static void set(napi_env env, napi_value obj, const char *key, napi_value value) {
  napi_set_named_property(env, obj, key, value);
}

static napi_value int_value(napi_env env, int n) {
  napi_value v;
  napi_create_int32(env, n, &v);
  return v;
}

static napi_value bytes(napi_env env, const buffer *b) {
  napi_value v;
  napi_create_buffer_copy(env, b->len, b->len ? b->data : "", NULL, &v);
  return v;
}

static void free_child(child *c) {
  free(c->input);
  free(c->stdout_buf.data);
  free(c->stderr_buf.data);
  free(c);
}

// On the JS thread, once the child is done or timed out (env is NULL while Node tears down).
static void settle(napi_env env, napi_value js_cb, void *context, void *data) {
  (void)js_cb;
  (void)context;
  child *c = data;
  if (env != NULL) {
    napi_value result, null, flag;
    napi_create_object(env, &result);
    napi_get_null(env, &null);
    int known = !c->timed_out && !c->wait_errno && !c->lost_output;  // else: status null, a failure
    int exited = known && WIFEXITED(c->status);
    int signalled = known && WIFSIGNALED(c->status);
    set(env, result, "status", exited ? int_value(env, WEXITSTATUS(c->status)) : null);
    set(env, result, "signal", int_value(env, signalled ? WTERMSIG(c->status) : 0));
    set(env, result, "stdout", bytes(env, &c->stdout_buf));
    set(env, result, "stderr", bytes(env, &c->stderr_buf));
    napi_get_boolean(env, c->timed_out, &flag);
    set(env, result, "timedOut", flag);
    napi_resolve_deferred(env, c->deferred, result);
  }
  free_child(c);
}

static void *supervise(void *data) {
  child *c = data;
  pid_t pid = c->pid;
  c->timed_out = supervise_io(c);
  // Past the deadline, a child not yet reaped is killed (one reaped already, whose grandchild kept
  // the outputs open, is not: its pid may be another process's by now).
  int kill_it = c->timed_out && !c->reaped;
  close_fd(&c->in);
  close_fd(&c->out);
  close_fd(&c->err);
  close_fd(&c->pidfd);
  if (kill_it) kill(pid, SIGKILL);
  // Once handed over, `c` belongs to the JS thread.
  if (callback_close(c->done, c) != 0) free_child(c);
  if (kill_it) waitpid(pid, NULL, 0);  // answered already; the zombie is reaped here
  return NULL;
}

#define MAX_FDS 64

// `fds` (JS numbers) as the child's 3, 4, …: each is first copied above that range, so that moving
// one into place cannot overwrite another still to be moved. The copies (close-on-exec, closed by
// the caller) are counted in *made. Returns 0 or an errno.
static int map_fds(napi_env env, napi_value array, posix_spawn_file_actions_t *fa, int *copies,
                   int *made) {
  uint32_t n = 0;
  bool is_array = false;
  if (napi_is_array(env, array, &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, array, &n) != napi_ok)
    return EINVAL;
  if (n > MAX_FDS) return EMFILE;
  for (int i = 0; i < (int)n; i++) {
    napi_value item;
    double fd;  // an int32 would read NaN as 0: the plugin's stdin
    if (napi_get_element(env, array, i, &item) != napi_ok || napi_get_value_double(env, item, &fd) != napi_ok ||
        !(fd >= 0 && fd <= INT_MAX && fd == (int)fd))
      return EBADF;
    if ((copies[i] = fcntl((int)fd, F_DUPFD_CLOEXEC, 3 + (int)n)) < 0) return errno;
    *made = i + 1;
    int err = posix_spawn_file_actions_adddup2(fa, copies[i], 3 + i);
    if (err) return err;
  }
  return 0;
}

// The child's stdin, stdout and stderr from the pipes, and `fds` after them. A failed step fails the
// start: the child must never write to the plugin's own stdout (the CNI result).
static int map_all(napi_env env, napi_value fds, posix_spawn_file_actions_t *fa, int in, int out,
                   int errp, int *copies, int *made) {
  int err = posix_spawn_file_actions_adddup2(fa, in, 0);
  if (!err) err = posix_spawn_file_actions_adddup2(fa, out, 1);
  if (!err) err = posix_spawn_file_actions_adddup2(fa, errp, 2);
  return err ? err : map_fds(env, fds, fa, copies, made);
}

// The child starts with no signal blocked and every signal at its default (Node ignores SIGPIPE).
static int reset_signals(posix_spawnattr_t *attr) {
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int s = 1; s < 32; s++)
    if (s != SIGKILL && s != SIGSTOP) sigaddset(&defaults, s);
  int err = posix_spawnattr_setsigmask(attr, &none);
  if (!err) err = posix_spawnattr_setsigdefault(attr, &defaults);
  if (!err) err = posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  return err;
}

// Starts the child; returns 0 or an errno. On success `c` holds the pid and our pipe ends.
static int start(napi_env env, napi_value *argv, child *c) {
  char *file = js_string(env, argv[0], NULL), **args = NULL, **envp = NULL;
  size_t nargs = 0, nenv = 0;
  int copies[MAX_FDS], ncopies = 0;
  int in[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1};
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  int fa_made = 0, attr_made = 0;
  int err = file == NULL ? EINVAL : js_strings(env, argv[1], &args, &nargs);  // EINVAL: see js_string
  if (!err) err = js_strings(env, argv[2], &envp, &nenv);
  if (!err && nargs == 0) err = EINVAL;  // a program is always given its name as argv[0]
  if (!err) fa_made = !(err = posix_spawn_file_actions_init(&fa));
  if (!err) attr_made = !(err = posix_spawnattr_init(&attr));
  if (!err && (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(errp, O_CLOEXEC))) err = errno;
  if (!err) err = map_all(env, argv[4], &fa, in[0], out[1], errp[1], copies, &ncopies);
  if (!err) err = reset_signals(&attr);
  if (!err) err = posix_spawn(&c->pid, file, &fa, &attr, args, envp);
  for (int i = 0; i < ncopies; i++) close(copies[i]);
  if (fa_made) posix_spawn_file_actions_destroy(&fa);
  if (attr_made) posix_spawnattr_destroy(&attr);
  free(file);
  free_strings(args);
  free_strings(envp);
  close_fd(&in[0]);
  close_fd(&out[1]);
  close_fd(&errp[1]);
  if (err) {
    close_fd(&in[1]);
    close_fd(&out[0]);
    close_fd(&errp[0]);
    return err;
  }
  c->in = in[1];
  c->out = out[0];
  c->err = errp[0];
  c->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);  // close-on-exec; -1 before Linux 5.3
  fcntl(c->in, F_SETFL, O_NONBLOCK);
  fcntl(c->out, F_SETFL, O_NONBLOCK);
  fcntl(c->err, F_SETFL, O_NONBLOCK);
  return 0;
}

static napi_value resolve_error(napi_env env, napi_deferred deferred, napi_value promise, int err) {
  napi_value result;
  napi_create_object(env, &result);
  set(env, result, "error", int_value(env, err));
  napi_resolve_deferred(env, deferred, result);
  return promise;
}

napi_value spawn_fn(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6], promise;
  child *c = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 6 ||
      (c = calloc(1, sizeof *c)) == NULL || napi_create_promise(env, &c->deferred, &promise) != napi_ok) {
    free(c);
    napi_throw_error(env, NULL, "spawn addon: cannot start a child");
    return NULL;
  }
  double timeout_ms;
  if (napi_get_value_double(env, argv[5], &timeout_ms) != napi_ok  // not a number
      || !(timeout_ms >= 0 && timeout_ms <= 1e9))                   // NaN, ∞, < 0
    timeout_ms = 1e9;                                               // ≈ 11 days
  c->deadline_ms = now_ms() + (int64_t)timeout_ms;
  c->in = c->out = c->err = c->pidfd = -1;
  c->input = js_string(env, argv[3], &c->input_len);
  int err = c->input == NULL ? EINVAL : start(env, argv, c);
  napi_deferred deferred = c->deferred;
  if (err) {
    free_child(c);
    return resolve_error(env, deferred, promise, err);
  }
  if (c->input_len == 0) close_fd(&c->in);
  err = EAGAIN;
  if (callback_open(env, "spawn", settle, &c->done) == napi_ok) {
    err = start_thread(supervise, c, NULL);
    if (err == 0) return promise;
    callback_drop(c->done);
  }
  // No thread to supervise it: the child must not outlive this call unnoticed.
  kill(c->pid, SIGKILL);
  waitpid(c->pid, NULL, 0);
  close_fd(&c->in);
  close_fd(&c->out);
  close_fd(&c->err);
  close_fd(&c->pidfd);
  free_child(c);
  return resolve_error(env, deferred, promise, err ? err : EAGAIN);
}
