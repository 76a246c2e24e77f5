// nftables: every change is one `nft -f -` transaction (atomic); reads are `nft -j`.
import { CommandError, NotInstalledError, run } from './run.js';

export async function nftApply(script: string): Promise<void> {
  await run('nft', ['-f', '-'], { input: script });
}

/** `nft -j <args>` as the list of objects under "nftables"; [] when the table/set does not exist, or nft itself (then no rule can exist either). */
export async function nftList(args: readonly string[]): Promise<Record<string, unknown>[]> {
  try {
    const out = await run('nft', ['-j', ...args]);
    return (JSON.parse(out.stdout) as { nftables?: Record<string, unknown>[] }).nftables ?? [];
  } catch (err) {
    if (err instanceof NotInstalledError) return [];
    if (err instanceof CommandError && /No such file or directory|does not exist/i.test(err.result.stderr))
      return [];
    throw err;
  }
}
