// bridge-route: pods on a Linux bridge per host, direct routes to the other hosts' pod subnets,
// NAT only for traffic leaving the cluster.
import type { Plugin } from '../../lib/cni/plugin.js';
import { add } from './add.js';
import { check } from './check.js';
import { del } from './del.js';
import { gc } from './gc.js';
import { status } from './status.js';

const plugin: Plugin = { knownArgs: ['IP'], add, del, check, gc, status };
export default plugin;
