// host-local IPAM: addresses from range sets, leased in files that the reference host-local reads
// and writes too (see leases.ts), under the same flock, with an index that keeps DEL fast at scale.
import type { Plugin } from '../../lib/cni/plugin.js';
import { add, check, del, gc, status } from './verbs.js';

const plugin: Plugin = { knownArgs: ['IP'], add, del, check, gc, status };
export default plugin;
