// Kernel tier: gre, gretap and ipvlan need a kernel this machine lacks, so these tests run inside a
// QEMU VM booted with Debian 12's kernel (scripts/kernel-run). Each scenario is one VM boot.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import t from 'tap';
import { kernelRun, ROOT } from '../helpers/kernel-scenario.js';

const GRE = resolve(ROOT, 'dist/bin/gre');

t.test('smoke.sh: gre, gretap and ipvlan L3 carry pings between namespaces', async (t) => {
  const r = await kernelRun(['bash', 'test/kernel/smoke.sh']);
  t.equal(r.exitCode, 0, 'smoke.sh exits 0', { stdout: r.stdout, stderr: r.stderr });
  const lines = r.stdout.split('\n');
  t.match(lines[0], /^kernel 6\.1\.\d+-\d+-amd64$/, 'runs on the Debian kernel');
  for (const line of [
    'ok underlay: smoke-a → 192.168.100.2',
    'ok gre: smoke-a → 10.10.0.2',
    'ok gre: smoke-b → 10.10.0.1',
    'ok gretap: smoke-a → 10.20.0.2',
    'ok gretap: ARP resolved across the tunnel',
    'ok ipvlan-l3: smoke-b → 10.30.0.3',
    'ok ipvlan-l3: smoke-c → 10.30.0.2',
    'ok all',
  ]) {
    t.ok(lines.includes(line), line);
  }
});

t.test('the built gre plugin answers VERSION inside the VM', async (t) => {
  t.ok(existsSync(GRE), `${GRE} exists (npm run build)`);
  const r = await kernelRun(['env', 'CNI_COMMAND=VERSION', 'dist/bin/gre'], '{"cniVersion":"1.1.0"}');
  t.equal(r.exitCode, 0, 'exits 0', { stderr: r.stderr });
  if (r.exitCode !== 0) return;
  const answer = JSON.parse(r.stdout) as { cniVersion?: string; supportedVersions?: string[] };
  t.ok(answer.supportedVersions?.includes('1.1.0'), 'supportedVersions lists 1.1.0', { answer });
});
