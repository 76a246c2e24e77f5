// The command-line mode of the executable (`cni-suite install`, `--help`…), imported by lib/main.ts
// only when the first argument asks for it. Returns the exit status: 0, 1 on failure, 2 on bad usage.
import { writeSync } from 'node:fs';
import { install } from './install.js';
import { parseInstallOptions, parseUninstallOptions, UsageError } from './options.js';
import { uninstall } from './uninstall.js';
import { usage, versionLine } from './usage.js';

const out = (line: string) => writeSync(1, `${line}\n`);

export function runCommand(args: string[]): number {
  const [word = '', ...rest] = args;
  try {
    switch (word) {
      case '--version':
        out(versionLine());
        return 0;
      case 'help':
      case '--help':
      case '-h':
        writeSync(1, usage());
        return 0;
      case 'install':
        install(parseInstallOptions(rest), out);
        return 0;
      case 'uninstall':
        uninstall(parseUninstallOptions(rest), out);
        return 0;
      default:
        throw new UsageError(`unknown command "${word}"`);
    }
  } catch (err) {
    return report(word, err);
  }
}

/** One stderr line per problem (a refused install names each file), usage after a usage error. */
function report(word: string, err: unknown): number {
  const msg = err instanceof Error ? err.message : String(err);
  for (const line of msg.split('\n')) writeSync(2, `cni-suite ${word}: error: ${line}\n`);
  if (!(err instanceof UsageError)) return 1;
  writeSync(2, `\n${usage()}`);
  return 2;
}
