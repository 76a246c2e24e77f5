// Runs a scenario script inside the VM (scripts/kernel-run) and turns its lines into assertions.
import { resolve } from 'node:path';
import { execa } from 'execa';
import { assertScenario, type Tap } from './scenario.js';

export const ROOT = resolve(import.meta.dirname, '../..');
const KERNEL_RUN = resolve(ROOT, 'scripts/kernel-run');

/** The VM's own limit, in seconds; tap's timeout for the test is set a minute above it. */
export function kernelRun(args: string[], input = '', timeoutSeconds = 240) {
  return execa(KERNEL_RUN, args, {
    cwd: ROOT,
    env: { KERNEL_RUN_TIMEOUT: String(timeoutSeconds) },
    input,
    reject: false,
  });
}

export async function runScenario(
  t: Tap,
  script: string,
  steps: string[],
  opts: { minChecks: number; timeoutSeconds: number },
): Promise<void> {
  t.setTimeout((opts.timeoutSeconds + 60) * 1000);
  const started = Date.now();
  const r = await kernelRun(['bash', script, ...steps], '', opts.timeoutSeconds);
  t.comment(`${script} ${steps.join(' ')}: ${((Date.now() - started) / 1000).toFixed(0)} s in the VM`);
  assertScenario(t, script, r, opts.minChecks);
}
