// `cni-suite uninstall`: remove the plugin names that are links of DIR/cni-suite (a file of that
// name from another suite stays), then cni-suite itself and the config list. Gone already is fine.
import { basename, join } from 'node:path';
import { PLUGIN_NAMES } from '../names.js';
import { identities, ownerOf, removeFile } from './files.js';
import { SUITE } from './install.js';
import type { Options } from './options.js';

export function uninstall(o: Options, say: (line: string) => void): void {
  const exe = join(o.binDir, SUITE);
  const ours = identities([exe]);
  const names = PLUGIN_NAMES.map((n) => join(o.binDir, n)).filter((p) => ownerOf(p, ours) === 'ours');
  // The names first: should this stop halfway, DIR/cni-suite still tells a rerun which names are ours.
  for (const path of names) if (removeFile(path)) say(`removed ${path}`);
  if (removeFile(exe)) say(`removed ${exe}`);
  if (!o.conflist) return;
  const conf = join(o.confDir, basename(o.conflist));
  if (removeFile(conf)) say(`removed ${conf}`);
}
