// Plugin calls a bench section times: a subject is a plugin executable with its config in a host
// netns of its own, with empty pod netns to attach; ADD then DEL interleaved across subjects.
import { join } from 'node:path';
import type { Lab, Netns } from '../../test/helpers/lab.ts';
import { BIN, median, ms, REFERENCE, timeSpawn } from './lib.ts';

export const RUNS = 20;
export const WARM = 3;
const PATH = process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin';

export interface Subject {
  name: string;
  file: string;
  cniPath: string;
  host: Netns;
  pods: Netns[];
  conf: string;
}

/** A host on the lab's switch (default route, an underlay address) with `n` empty pod netns. */
export async function subject(
  lab: Lab,
  name: string,
  file: string,
  conf: Record<string, unknown>,
  n: number,
) {
  const host = await lab.host(name);
  const pods: Netns[] = [];
  for (let i = 0; i < n; i++) pods.push(await lab.netns(`${name}p${i}`));
  return {
    name,
    file,
    cniPath: file.startsWith(REFERENCE) ? REFERENCE : BIN,
    host,
    pods,
    conf: JSON.stringify(conf),
  };
}

/** The env of the i-th pod's call. */
export const pluginEnv = (s: Pick<Subject, 'pods' | 'cniPath'>, command: string, i: number) => ({
  PATH,
  CNI_COMMAND: command,
  CNI_CONTAINERID: `bench-${i}`,
  CNI_IFNAME: 'eth0',
  CNI_NETNS: s.pods[i]!.path,
  CNI_PATH: s.cniPath,
});

/** One plugin call, timed from spawn to exit (`ip netns exec` included, for every subject alike). */
export const call = (s: Subject, command: string, i: number) =>
  timeSpawn({
    file: 'ip',
    args: ['netns', 'exec', s.host.name, s.file],
    env: pluginEnv(s, command, i),
    input: s.conf,
  });

export const common = (dir: string, name: string) => ({
  cniVersion: '1.0.0',
  name: 'benchnet',
  clusterCIDR: '10.244.0.0/16',
  ipam: { type: 'host-local', subnet: '10.244.1.0/24', dataDir: join(dir, name) },
});

/** ADD then DEL of RUNS pods, interleaved across the subjects; medians. */
export function addDel(subjects: Subject[]): { add: number[]; del: number[] } {
  for (let i = 0; i < WARM; i++) for (const s of subjects) call(s, 'ADD', i);
  for (let i = 0; i < WARM; i++) for (const s of subjects) call(s, 'DEL', i);
  const add = subjects.map(() => [] as number[]);
  const del = subjects.map(() => [] as number[]);
  for (let i = 0; i < RUNS; i++) for (const [k, s] of subjects.entries()) add[k]!.push(call(s, 'ADD', i));
  for (let i = 0; i < RUNS; i++) for (const [k, s] of subjects.entries()) del[k]!.push(call(s, 'DEL', i));
  return { add: add.map(median), del: del.map(median) };
}

/** ADD minus a bare Node start, next to the reference's ADD: the goal is ≤ 0.8×. */
export const overNodeRow = (label: string, ours: number, node: number, reference: number): string[] => {
  const over = ours - node;
  return [
    label,
    ms(over),
    ms(reference),
    `${(over / reference).toFixed(2)}× (goal ≤ 0.8×: ${over <= 0.8 * reference ? 'met' : 'NOT met'})`,
  ];
};
