// macvlan: ADD/DEL next to the reference macvlan (both with host-local), each in its own host netns
// whose eth0 is the master, interleaved.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab } from '../../test/helpers/lab.ts';
import { addDel, overNodeRow, RUNS, subject, WARM } from './calls.ts';
import { BIN, bareNode, ms, REFERENCE, table } from './lib.ts';

export async function benchMacvlan(): Promise<void> {
  const teardowns: (() => unknown)[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'bench-macvlan-'));
  try {
    const lab = await Lab.create({ teardown: (fn) => void teardowns.push(fn) });
    const conf = (name: string, type: string) => ({
      cniVersion: '1.0.0',
      name: 'benchnet',
      type,
      master: 'eth0',
      mode: 'bridge',
      ipam: {
        type: 'host-local',
        subnet: '192.168.100.0/24',
        rangeStart: '192.168.100.101',
        dataDir: join(dir, name),
      },
    });
    const subjects = [
      await subject(lab, 'ours', `${BIN}/macvlan`, conf('ours', 'macvlan'), RUNS),
      await subject(lab, 'ref', `${REFERENCE}/macvlan`, conf('ref', 'macvlan'), RUNS),
    ];
    const { add, del } = addDel(subjects);
    const node = bareNode(RUNS);
    table(
      `macvlan ADD/DEL, sequential (median of ${RUNS} after ${WARM} warm-up, interleaved; each in its own host netns)`,
      ['what', 'ours', 'reference macvlan', 'ours / reference'],
      [
        ['ADD', ms(add[0]!), ms(add[1]!), `${(add[0]! / add[1]!).toFixed(2)}×`],
        ['DEL', ms(del[0]!), ms(del[1]!), `${(del[0]! / del[1]!).toFixed(2)}×`],
        overNodeRow('ADD, ours minus a bare Node start', add[0]!, node, add[1]!),
        ['bare Node start (`node22 -e 0`)', ms(node), '', ''],
      ],
    );
  } finally {
    for (const fn of teardowns.reverse()) await fn();
    rmSync(dir, { recursive: true, force: true });
  }
}
