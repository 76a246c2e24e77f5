// host-local on a data dir that cannot take writes: a full one (ENOSPC) and a read-only one. ADD
// fails with 5 and leaves no lease; DEL and GC never fail; a full dir still releases. Each data dir
// is a small tmpfs mounted here and unmounted at the end.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Lab } from '../helpers/lab.js';
import { callPlugin } from '../helpers/plugin.js';

type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

/** A 512 KiB tmpfs as data dir, gone at teardown. */
function smallDataDir(t: Tap): string {
  const dir = mkdtempSync('/tmp/cs-hl-fault-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'cs-hl-fault', dir]);
  t.teardown(() => {
    execFileSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}
const conf = (dataDir: string) => ({
  cniVersion: '1.1.0',
  name: 'hlnet',
  type: 'host-local',
  ipam: { type: 'host-local', subnet: '10.66.0.0/24', dataDir },
});
const lab = await Lab.create(t);
const pod = await lab.container('pod');
const hl = (command: string, dataDir: string, id: string, extra: Record<string, unknown> = {}) =>
  callPlugin(
    'host-local',
    { ...conf(dataDir), ...extra },
    { command, containerId: id, ifname: 'eth0', netns: pod.path },
  );
const leases = (dataDir: string) =>
  readdirSync(join(dataDir, 'hlnet')).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
/** Fills the filesystem: dd stops at ENOSPC. */
const fill = (dataDir: string, n: number) =>
  execFileSync('sh', ['-c', `dd if=/dev/zero of=${dataDir}/fill${n} bs=4k 2>/dev/null; true`]);

t.test('a full data dir: ADD is 5 and leaves nothing; DEL of an earlier lease succeeds', async (t) => {
  const dir = smallDataDir(t);
  t.equal((await hl('ADD', dir, 'a')).exitCode, 0, 'ADD a while there is space');
  t.same(leases(dir), ['10.66.0.2']);
  fill(dir, 1);
  // Its first write may still land: the index gives back a page when it invalidates its stamp.
  const b = await hl('ADD', dir, 'b');
  t.ok(b.exitCode === 0 || b.json?.code === 5, `ADD b either leases or is 5: ${b.stdout}`);
  fill(dir, 2);
  const before = leases(dir);
  const c = await hl('ADD', dir, 'c');
  t.match(
    c.json,
    { code: 5, msg: new RegExp(`ipam.dataDir ${dir} cannot take a lease \\(ENOSPC`) },
    'ADD c is 5',
  );
  t.match(c.stderr, /ENOSPC/, 'said on stderr too');
  t.same(leases(dir), before, 'and left no lease');
  for (const id of ['a', 'b']) {
    const del = await hl('DEL', dir, id);
    t.equal(del.exitCode, 0, `DEL ${id} on the full dir ${del.stdout}`);
  }
  t.same(leases(dir), [], 'released their leases');
  t.equal((await hl('DEL', dir, 'a')).exitCode, 0, 'DEL again');
  for (const n of [1, 2]) rmSync(join(dir, `fill${n}`));
  const again = await hl('ADD', dir, 'b');
  t.equal(again.exitCode, 0, 'with space again, ADD works');
  t.match(again.json, { ips: [{ address: /^10\.66\.0\.\d+\/24$/ }] });
  t.equal((await hl('DEL', dir, 'b')).exitCode, 0, 'and so does its DEL, with the index rebuilt');
  t.same(leases(dir), []);
});

t.test(
  'a read-only data dir: ADD is 5; DEL and GC succeed, keep the lease, and say so; GC releases it once writable',
  async (t) => {
    const dir = smallDataDir(t);
    t.equal((await hl('ADD', dir, 'a')).exitCode, 0, 'ADD a while writable');
    execFileSync('mount', ['-o', 'remount,ro', dir]);
    const add = await hl('ADD', dir, 'b');
    t.match(add.json, { code: 5, msg: /cannot take a lease \(EROFS/ }, 'ADD b is 5');
    const del = await hl('DEL', dir, 'a');
    t.equal(del.exitCode, 0, 'DEL a succeeds');
    t.match(
      del.stderr,
      /is not writable \(EROFS\): leases of .* stay until a GC on a writable dir/,
      'with a warning',
    );
    t.same(leases(dir), ['10.66.0.2'], 'the lease could not go');
    const gc = await hl('GC', dir, 'a', { 'cni.dev/valid-attachments': [] });
    t.equal(gc.exitCode, 0, 'GC succeeds too');
    execFileSync('mount', ['-o', 'remount,rw', dir]);
    t.equal(
      (await hl('GC', dir, 'a', { 'cni.dev/valid-attachments': [] })).exitCode,
      0,
      'GC on the writable dir',
    );
    t.same(leases(dir), [], 'releases it');
  },
);
