// ipvlan-l3 inside the Debian kernel (this machine's has no ipvlan): test/kernel/ipvlan.sh, in two
// VM runs. Three hosts on one switch; see the script for what each step does.
import t from 'tap';
import { runScenario } from '../helpers/kernel-scenario.js';

t.test('ipvlan-l3: pods across hosts, the shim and its control, egress NAT in l3s, CHECK, GC, interop', (t) =>
  runScenario(t, 'test/kernel/ipvlan.sh', ['pods', 'shim', 'egress', 'checks', 'interop', 'dels'], {
    minChecks: 70,
    timeoutSeconds: 480,
  }),
);

t.test('ipvlan-l3: bad config, a pod holding eth0, kill -9 during ADD, the conf-examples as shipped', (t) =>
  runScenario(t, 'test/kernel/ipvlan.sh', ['pods', 'bad', 'taken', 'kills', 'examples'], {
    minChecks: 40,
    timeoutSeconds: 480,
  }),
);
