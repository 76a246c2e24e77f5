// A scenario script's output as tap assertions: "ok - <what>" passes, "not ok - <what>: <detail>"
// fails, and the closing "checks N failed M" must come, with at least `minChecks` checks, so a
// script that stops early or skips a part fails (test/helpers/checks.sh prints them).
import type t from 'tap';

export type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

export function assertScenario(
  t: Tap,
  label: string,
  r: { stdout: string; stderr: string; exitCode?: number | undefined },
  minChecks: number,
): void {
  let checks = 0;
  for (const line of r.stdout.split('\n')) {
    const m = /^(ok|not ok) - (.*)$/.exec(line);
    if (!m) continue;
    checks++;
    if (m[1] === 'ok') t.ok(true, m[2]!);
    else t.fail(m[2]!);
  }
  const summary = /^checks (\d+) failed (\d+)$/m.exec(r.stdout);
  t.ok(summary, `${label} ran to its end`, { stderr: r.stderr.slice(-3000) });
  t.ok(checks >= minChecks, `${checks} checks ran (at least ${minChecks} expected)`);
  t.ok(r.exitCode === 0, `${label} exits 0`, { exitCode: r.exitCode, stderr: r.stderr.slice(-3000) });
}
