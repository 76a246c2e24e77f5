// npm run bench: builds, then prints each section's figures; sections come from scripts/bench/.
// `npm run bench -- startup host-local` runs only the named sections.
import { execFileSync } from 'node:child_process';
import { benchAgent } from './bench/agent.ts';
import { benchBridgeRoute } from './bench/bridge-route.ts';
import { benchHostLocal } from './bench/host-local.ts';
import { benchGre, benchIpvlan } from './bench/kernel-vm.ts';
import { ROOT } from './bench/lib.ts';
import { benchMacvlan } from './bench/macvlan.ts';
import { benchPortmap } from './bench/portmap.ts';
import { benchStartup } from './bench/startup.ts';
import { benchVxlan } from './bench/vxlan.ts';

const sections: Record<string, () => void | Promise<void>> = {
  startup: () => benchStartup(),
  'host-local': () => benchHostLocal(),
  'bridge-route': () => benchBridgeRoute(),
  vxlan: () => benchVxlan(),
  macvlan: () => benchMacvlan(),
  gre: () => benchGre(),
  'ipvlan-l3': () => benchIpvlan(),
  portmap: () => benchPortmap(),
  agent: () => benchAgent(),
};

const wanted = process.argv.slice(2);
execFileSync(process.execPath, ['scripts/build.ts'], { cwd: ROOT, stdio: 'inherit' });
console.log(`# cni-suite benchmarks (${new Date().toISOString()})`);
for (const [name, run] of Object.entries(sections)) {
  if (wanted.length && !wanted.includes(name)) continue;
  await run();
}
