// host-local under load: many processes at once must never share an address, and releasing them all
// leaves exactly the reference's bookkeeping files.
import t from 'tap';
import { hlConf, leases, networkFiles, OURS, pool, runHl } from '../helpers/host-local.js';
import { Lab } from '../helpers/lab.js';

const lab = await Lab.create(t);
const pod = await lab.container('pod');

t.test('200 ADDs at 50 in parallel: 200 distinct addresses per family, then all DEL', async (t) => {
  const dir = t.testdir({});
  const conf = hlConf(dir, { ranges: [[{ subnet: '10.20.0.0/16' }], [{ subnet: 'fd00:20::/64' }]] });
  const ids = Array.from({ length: 200 }, (_, i) => `conc-${i}`);
  const added = await pool(
    50,
    ids.map((id) => () => runHl(OURS, conf, { command: 'ADD', containerId: id, netns: pod.path })),
  );
  const failed = added.filter((r) => r.code !== 0);
  t.equal(failed.length, 0, `no failures${failed.length ? `: ${failed[0]!.stdout}` : ''}`);
  for (const fam of [0, 1]) {
    const got = added.map((r) => (r.json?.ips as { address: string }[] | undefined)?.[fam]?.address);
    t.equal(new Set(got).size, 200, `200 distinct addresses in set ${fam}`);
  }
  const onDisk = leases(dir);
  t.equal(onDisk.size, 400, '400 lease files');
  t.equal(new Set(onDisk.values()).size, 200, 'each attachment holds one lease per set');

  const deleted = await pool(
    50,
    ids.map((id) => () => runHl(OURS, conf, { command: 'DEL', containerId: id })),
  );
  t.equal(deleted.filter((r) => r.code !== 0).length, 0, 'every DEL succeeds');
  t.same(networkFiles(dir), ['last_reserved_ip.0', 'last_reserved_ip.1', 'lock'], 'only bookkeeping remains');
});
