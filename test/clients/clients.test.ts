// The clients tier: real runtimes (podman 4.3, containerd 1.6's ctr and its CRI plugin driven as
// kubelet drives it) run the built plugins from their conf-examples. Each scenario runs in a host
// netns made here, entered with a plain `nsenter --net` (as runtimes enter a netns: /sys is not
// remounted), in private mount and PID namespaces (test/clients/private.sh), so it neither sees nor
// leaves the machine's own runtime state; its lines become assertions (test/helpers/scenario.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { execa } from 'execa';
import t from 'tap';
import { Lab } from '../helpers/lab.js';
import { assertScenario } from '../helpers/scenario.js';

const ROOT = resolve(import.meta.dirname, '../..');
const TIMEOUT_S = 300;
/** Each client's scenario and the checks it must at least run (3 plugins). */
const CLIENTS = [
  { client: 'podman', minChecks: 48 },
  { client: 'ctr', minChecks: 42 },
  { client: 'cri', minChecks: 61 },
];

for (const { client, minChecks } of CLIENTS)
  t.test(`${client}: two pods on every plugin, ping, ports, no leak after removal`, async (t) => {
    t.setTimeout((TIMEOUT_S + 30) * 1000);
    const lab = await Lab.create(t);
    const host = await lab.netns(`${client}-host`);
    // Short: podman refuses a runroot path over 50 characters.
    const work = mkdtempSync('/tmp/csc-');
    t.teardown(() => rmSync(work, { recursive: true, force: true }));
    const started = Date.now();
    const r = await execa(
      'nsenter',
      [
        `--net=${host.path}`,
        ...['unshare', '--mount', '--pid', '--fork', '--mount-proc', '--propagation', 'private'],
        ...['test/clients/private.sh', work, 'bash', `test/clients/${client}.sh`],
      ],
      {
        cwd: ROOT,
        reject: false,
        timeout: TIMEOUT_S * 1000,
        env: { PATH: process.env.PATH ?? '' },
        extendEnv: false,
      },
    );
    t.comment(`${client}: ${((Date.now() - started) / 1000).toFixed(0)} s`);
    assertScenario(t, `test/clients/${client}.sh`, r, minChecks);
  });
