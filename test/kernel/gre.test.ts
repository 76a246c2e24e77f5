// gre inside the Debian kernel (this machine's has no GRE): test/kernel/gre.sh, in two VM runs.
// Three hosts on their own underlay subnets behind a router; see the script for what each step does.
import t from 'tap';
import { runScenario } from '../helpers/kernel-scenario.js';

t.test(
  'gre l3: pods across three routed hosts; CHECK, GC, peers leaving; bad config; a pod holding eth0; kill -9',
  (t) =>
    runScenario(t, 'test/kernel/gre.sh', ['l3', 'bad', 'taken', 'kills'], {
      minChecks: 60,
      timeoutSeconds: 480,
    }),
);

t.test(
  'gre l2: one subnet over gretap ports, split horizon, no broadcast storm; the conf-examples as shipped',
  (t) => runScenario(t, 'test/kernel/gre.sh', ['l2', 'examples'], { minChecks: 60, timeoutSeconds: 480 }),
);
