// Benches of the plugins this machine's kernel cannot run (gre, ipvlan-l3): a script inside the
// booted Debian kernel (scripts/kernel-run) prints "<label…> <value>" lines; here they become tables.
// Under TCG emulation absolute figures mean little: compare the ratios within one run.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { median, ms, ROOT, table } from './lib.ts';

/** Runs the VM script; returns the values per label ("l3 plugin" → [0.61, 0.58…]). */
export function runInVm(script: string, env: Record<string, string> = {}): Map<string, number[]> {
  const r = spawnSync(resolve(ROOT, 'scripts/kernel-run'), ['bash', script], {
    cwd: ROOT,
    env: { ...process.env, KERNEL_RUN_TIMEOUT: '900', KERNEL_RUN_ENV: Object.keys(env).join(' '), ...env },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`${script} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const values = new Map<string, number[]>();
  for (const line of r.stdout.split('\n')) {
    const m = /^(.+) (\d+(?:\.\d+)?)$/.exec(line);
    if (!m) continue;
    values.set(m[1]!, [...(values.get(m[1]!) ?? []), Number(m[2])]);
  }
  return values;
}

/**
 * Throughput of the plugin against the hand-built shape per mode, and ADD/DEL times against
 * `versus` ("hand": the same shape with `ip`; "reference": the Go reference plugin + host-local).
 */
export function vmTables(
  plugin: string,
  values: Map<string, number[]>,
  modes: string[],
  versus: { label: string; title: string; hosts: string },
): void {
  const med = (label: string) => {
    const xs = values.get(label);
    if (!xs?.length) throw new Error(`the VM bench printed no "${label}"`);
    return median(xs);
  };
  const runs = values.get(`${modes[0]} plugin`)?.length ?? 0;
  table(
    `${plugin} (in the VM), pod to pod across two ${versus.hosts}: iperf3 TCP, ${runs} runs each, alternated (Gbit/s)`,
    ['mode', 'plugin', 'by hand with ip', 'ratio'],
    modes.map((m) => [
      m,
      med(`${m} plugin`).toFixed(3),
      med(`${m} hand`).toFixed(3),
      `${(med(`${m} plugin`) / med(`${m} hand`)).toFixed(2)}×`,
    ]),
  );
  table(
    `${plugin} (in the VM): one attachment, median wall time`,
    ['verb', 'plugin (+ host-local)', versus.title, 'ratio'],
    ['add', 'del'].map((v) => [
      v.toUpperCase(),
      ms(med(`${v} plugin`)),
      ms(med(`${v} ${versus.label}`)),
      `${(med(`${v} plugin`) / med(`${v} ${versus.label}`)).toFixed(2)}×`,
    ]),
  );
}

export function benchGre(): void {
  vmTables('gre', runInVm('scripts/bench/gre-vm.sh', { ROUNDS: '5' }), ['l3', 'l2'], {
    label: 'hand',
    title: 'same shape by hand with ip',
    hosts: 'routed hosts',
  });
}

export function benchIpvlan(): void {
  vmTables('ipvlan-l3', runInVm('scripts/bench/ipvlan-vm.sh', { ROUNDS: '5' }), ['l3'], {
    label: 'reference',
    title: 'reference ipvlan + host-local',
    hosts: 'hosts on one switch',
  });
}
