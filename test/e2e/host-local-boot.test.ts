// host-local releases the leases of an earlier boot at the first call after a reboot: pods lost in
// a reboot never got their DEL, and their addresses would stay taken for ever. Another boot is
// shown to the plugin by a private mount namespace with a file bound over the kernel's boot_id.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { firstAddress, type HlCall, hlConf, leases, OURS, runHl as run } from '../helpers/host-local.js';
import { Lab } from '../helpers/lab.js';

const dir = mkdtempSync(join(tmpdir(), 'cs-hl-boot-'));
const lab = await Lab.create(t);
const pod = await lab.container('pod');
/** host-local as a runtime calls it, for a pod in a netns of the test's own. */
const runHl = (file: string, conf: unknown, call: HlCall) => run(file, conf, { netns: pod.path, ...call });
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** host-local as it runs after a boot whose id is `id` (its own mount namespace, nothing else changed). */
function bootedAs(id: string): string {
  const bootFile = join(dir, `boot-${id}`);
  writeFileSync(bootFile, `${id}\n`);
  const wrapper = join(dir, `host-local-${id}`);
  writeFileSync(
    wrapper,
    `#!/bin/sh\nexec unshare --mount --propagation private /bin/sh -c 'mount --bind "$1" /proc/sys/kernel/random/boot_id && shift && exec "$@"' sh ${bootFile} ${OURS}\n`,
  );
  chmodSync(wrapper, 0o755);
  return wrapper;
}
/** The container IDs that hold a lease, sorted. */
const owners = (dataDir: string) => [...leases(dataDir).values()].map((c) => c.split('\r\n')[0]).sort();

const BOOT_A = '0a0a0a0a-0000-4000-8000-00000000000a';
const BOOT_B = '0b0b0b0b-0000-4000-8000-00000000000b';
const BOOT_C = '0c0c0c0c-0000-4000-8000-00000000000c';

t.test('the first call after a reboot releases the leases of the boot before', async (t) => {
  const dataDir = mkdtempSync(join(dir, 'data-'));
  const conf = hlConf(dataDir, { subnet: '10.77.0.0/24' });
  const add = (file: string, id: string) => runHl(file, conf, { command: 'ADD', containerId: id });
  const a1 = await add(bootedAs(BOOT_A), 'before-1');
  const a2 = await add(bootedAs(BOOT_A), 'before-2');
  t.same([a1.code, a2.code], [0, 0], 'two pods before the reboot');
  t.same(owners(dataDir), ['before-1', 'before-2'], 'the control: both leases kept in one boot');
  const after = await add(bootedAs(BOOT_B), 'after');
  t.equal(after.code, 0, 'a pod after the reboot');
  t.same(owners(dataDir), ['after'], "the earlier boot's leases are released");
  const freed = firstAddress(a1.json);
  const again = await runHl(bootedAs(BOOT_B), conf, {
    command: 'ADD',
    containerId: 'again',
    args: `IP=${freed}`,
  });
  t.equal(firstAddress(again.json), freed, `an address of the earlier boot (${freed}) can be leased again`);
  const del = await runHl(bootedAs(BOOT_B), conf, { command: 'DEL', containerId: 'before-1' });
  t.equal(del.code, 0, 'a late DEL of a pod of the earlier boot succeeds');
  t.same(owners(dataDir), ['after', 'again'], 'and takes nothing from the new pods');
});

t.test('releaseOnReboot: false keeps them', async (t) => {
  const dataDir = mkdtempSync(join(dir, 'data-'));
  const conf = hlConf(dataDir, { subnet: '10.77.1.0/24', releaseOnReboot: false });
  t.equal((await runHl(bootedAs(BOOT_A), conf, { command: 'ADD', containerId: 'kept' })).code, 0);
  t.equal((await runHl(bootedAs(BOOT_B), conf, { command: 'ADD', containerId: 'new' })).code, 0);
  t.same(owners(dataDir), ['kept', 'new'], 'the earlier lease stays');
});

t.test('concurrent first calls after a reboot release once, and keep every new lease', async (t) => {
  const dataDir = mkdtempSync(join(dir, 'data-'));
  const conf = hlConf(dataDir, { subnet: '10.77.2.0/24' });
  for (const id of ['old-1', 'old-2', 'old-3'])
    t.equal((await runHl(bootedAs(BOOT_A), conf, { command: 'ADD', containerId: id })).code, 0);
  const booted = bootedAs(BOOT_C);
  const runs = await Promise.all(
    Array.from({ length: 8 }, (_, i) => runHl(booted, conf, { command: 'ADD', containerId: `new-${i}` })),
  );
  t.same(
    runs.map((r) => r.code),
    Array(8).fill(0),
    'eight ADDs at once after the reboot',
  );
  const held = owners(dataDir);
  t.same(
    held,
    Array.from({ length: 8 }, (_, i) => `new-${i}`),
    'every new pod holds its lease, no old one is left',
  );
});
