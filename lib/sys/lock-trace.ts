// CNI_SUITE_LOCK_TRACE=<file>: every lock holder appends "<held ms> <waited ms> <name>" to the file
// when it lets go, so `npm run bench` can tell how long calls hold and wait for a lock under load.
// Unset, it costs one env lookup per process.
import { appendFileSync } from 'node:fs';

const TRACE_FILE = process.env.CNI_SUITE_LOCK_TRACE;

/** Milliseconds on a monotonic clock. */
const now = () => performance.now();

/** Starts timing a lock wait; the returned function is called once the lock is taken. */
export function traceLock(
  name: string,
): <A extends unknown[]>(release: (...a: A) => void) => (...a: A) => void {
  if (!TRACE_FILE) return (release) => release;
  const asked = now();
  return (release) => {
    const taken = now();
    return (...a) => {
      release(...a);
      const held = now() - taken;
      // A trace that cannot be written must not fail the call it describes.
      try {
        appendFileSync(TRACE_FILE, `${held.toFixed(3)} ${(taken - asked).toFixed(3)} ${name}\n`);
      } catch {}
    };
  };
}
