// What `cni-suite --version` and `cni-suite --help` print. The version comes from package.json,
// inlined by esbuild at build time.
import pkg from '../../package.json' with { type: 'json' };
import { CURRENT_VERSION } from '../cni/versions.js';
import { PLUGIN_NAMES } from '../names.js';
import { DEFAULT_BIN_DIR, DEFAULT_CONF_DIR } from './options.js';

export const versionLine = (): string =>
  `cni-suite ${pkg.version} (CNI spec ${CURRENT_VERSION}; plugins: ${PLUGIN_NAMES.join(', ')})`;

export const usage =
  (): string => `cni-suite ${pkg.version}: CNI plugins in one executable. Run under a plugin's name
(a hard link or symlink to it), it is that plugin.

Plugins: ${PLUGIN_NAMES.join(', ')}

Usage:
  cni-suite <plugin>             run a plugin by name, as its hard link would
  cni-suite install [options]    copy this executable into the bin dir as cni-suite, and hard-link
                                 each plugin name to it (every file is swapped in by rename)
    --bin-dir DIR                CNI bin dir (default ${DEFAULT_BIN_DIR})
    --conf-dir DIR               CNI config dir (default ${DEFAULT_CONF_DIR})
    --conflist FILE              also check this network config list and write it into the config dir
    --plugins a,b                the plugin names to link (default: all)
    --force                      replace files under those names that are not cni-suite's
  cni-suite uninstall [--bin-dir DIR] [--conf-dir DIR] [--conflist FILE]
                                 remove the plugin names linked to DIR/cni-suite, then cni-suite
                                 itself, and the config list of that name
  cni-suite agent [--config FILE] [options]
                                 the node agent: lease this node's pod subnet in etcd, keep the
                                 peers file, conflist and routes in step with the other nodes
  cni-suite agent init --network NAME --cluster-cidr CIDR [--subnet-len N] [--plugin TYPE]
                       [--plugin-options JSON] [--no-portmap] [--force]
                                 write the cluster's network config to etcd, once
  cni-suite agent leave [--config FILE] [options]
                                 release this node's subnet at once
    agent options: --network --etcd-endpoints --etcd-ca --etcd-cert --etcd-key --etcd-username
    --etcd-password --etcd-timeout --prefix --node-name --node-ip --data-dir --peers-file
    --conf-dir --conflist --ipam-data-dir --lease-ttl (README: "A cluster with the agent")
  cni-suite --version | --help

Container runtimes run a plugin with CNI_COMMAND (ADD, DEL, CHECK, GC, STATUS or VERSION), the
other CNI_* variables and the network config on stdin (https://www.cni.dev/docs/spec/).
`;
