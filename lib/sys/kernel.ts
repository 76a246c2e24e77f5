// What this kernel can do, from files only (no process): whether a module is loaded, built in, or
// installed for this kernel (so that the first `ip link add` of its type would load it).
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';

export function kernelHas(module: string): boolean {
  if (existsSync(`/sys/module/${module}`)) return true;
  const dir = `/lib/modules/${release()}`;
  for (const list of ['modules.builtin', 'modules.dep']) {
    try {
      if (readFileSync(`${dir}/${list}`, 'utf8').includes(`/${module}.ko`)) return true;
    } catch {
      // no such list
    }
  }
  return false;
}

/** The message of a STATUS 50 for a missing module. */
export const noModule = (what: string, module: string) =>
  `this kernel (${release()}) has no ${what}: module ${module} is neither loaded, built in, nor installed under /lib/modules`;
