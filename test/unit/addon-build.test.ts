// The addon as `npm run build` ships it (scripts/build.ts, HARDENING): it runs as root in every
// pod's ADD, so its relocations are read-only once loaded (RELRO, BIND_NOW), its functions with
// arrays check a stack canary (__stack_chk_fail), buffer functions are the checked ones
// (_FORTIFY_SOURCE), its stack is not executable; and it loads on the oldest glibc the bundled Node
// runs on (2.28), not only on the build host's.
import { join } from 'node:path';
import { execa } from 'execa';
import t from 'tap';

const ADDON = join(import.meta.dirname, '../../dist/native/cni-suite.node');
const readelf = async (...args: string[]) => (await execa('readelf', ['-W', ...args, ADDON])).stdout;

/** The glibc the bundled Node 22 needs: RHEL 8, Debian 10. */
const BASELINE = [2, 28];

t.test('relocations read-only once loaded: BIND_NOW and GNU_RELRO', async (t) => {
  const dynamic = await readelf('-d');
  t.match(dynamic, /\(FLAGS\)\s+.*\bBIND_NOW\b|\(FLAGS_1\)\s+Flags:.*\bNOW\b/, 'BIND_NOW');
  t.notMatch(dynamic, /TEXTREL/, 'no text relocations');
  const segments = await readelf('-l');
  t.match(segments, /^\s*GNU_RELRO\s/m, 'GNU_RELRO');
  t.match(segments, /^\s*GNU_STACK\s.*\sRW\s/m, 'a stack that is not executable');
});

t.test('stack canaries and checked buffer functions', async (t) => {
  // The build strips .symtab (-s); what the addon calls in libc stays in .dynsym.
  const symbols = await readelf('--dyn-syms');
  t.match(symbols, /\s__stack_chk_fail@/, '__stack_chk_fail (-fstack-protector-strong)');
  t.match(symbols, /\s__\w+_chk@/, 'a __*_chk function (_FORTIFY_SOURCE)');
});

t.test(`no symbol version newer than GLIBC_${BASELINE.join('.')}`, async (t) => {
  // Both what each symbol asks for and what the addon declares it needs (.gnu.version_r).
  const text = `${await readelf('--dyn-syms')}\n${await readelf('-V')}`;
  const versions = [...new Set([...text.matchAll(/GLIBC_(\d+)\.(\d+)(?:\.\d+)?/g)].map((m) => m[0]))];
  t.ok(versions.length > 0, `versioned symbols found: ${versions.join(' ')}`);
  const newer = versions.filter((v) => {
    const [major = 0, minor = 0] = v.slice('GLIBC_'.length).split('.').map(Number);
    return major > (BASELINE[0] ?? 0) || (major === BASELINE[0] && minor > (BASELINE[1] ?? 0));
  });
  t.same(newer, [], 'none newer than the baseline');
});
