// Runs a scenario script inside the VM (scripts/kernel-run) and turns its lines into assertions:
// "ok - <what>" passes, "not ok - <what>: <detail>" fails, and the closing "checks N failed M" must
// come, with at least `minChecks` checks, so a script that stops early or skips a part fails.
import { resolve } from 'node:path';
import { execa } from 'execa';
import type t from 'tap';

export const ROOT = resolve(import.meta.dirname, '../..');
const KERNEL_RUN = resolve(ROOT, 'scripts/kernel-run');

type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

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
  let checks = 0;
  for (const line of r.stdout.split('\n')) {
    const m = /^(ok|not ok) - (.*)$/.exec(line);
    if (!m) continue;
    checks++;
    if (m[1] === 'ok') t.ok(true, m[2]!);
    else t.fail(m[2]!);
  }
  const summary = /^checks (\d+) failed (\d+)$/m.exec(r.stdout);
  t.ok(summary, `${script} ran to its end`, { stderr: r.stderr.slice(-3000) });
  t.ok(checks >= opts.minChecks, `${checks} checks ran (at least ${opts.minChecks} expected)`);
  t.ok(r.exitCode === 0, `${script} exits 0`, { exitCode: r.exitCode, stderr: r.stderr.slice(-3000) });
}
