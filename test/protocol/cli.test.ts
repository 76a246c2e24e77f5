// The command-line mode of the built executable (--version, --help, install, uninstall), the usage a
// plugin prints when run by hand at a terminal, and the one stderr line every error gets.
// Every plugin call here is refused before the plugin touches the host (or is STATUS, which only reads).

import { existsSync, lstatSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import t, { type Test } from 'tap';
import { CURRENT_VERSION } from '../../lib/cni/versions.js';
import { PLUGIN_NAMES } from '../../lib/registry.js';
import { bin, callFile, callPlugin, ROOT } from '../helpers/plugin.js';

const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const suite = (args: string[]) => execa(bin('cni-suite'), args, { reject: false, stdin: 'ignore' });
const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.includes(': error: '));

t.test('--version names the package version, the spec version and the plugins', async (t) => {
  const r = await suite(['--version']);
  t.equal(r.exitCode, 0);
  t.equal(
    r.stdout,
    `cni-suite ${version} (CNI spec ${CURRENT_VERSION}; plugins: ${PLUGIN_NAMES.join(', ')})`,
  );
  t.equal(r.stderr, '');
});

t.test('help, --help and -h print the same usage on stdout', async (t) => {
  const runs = await Promise.all(['help', '--help', '-h'].map((w) => suite([w])));
  for (const r of runs) {
    t.equal(r.exitCode, 0);
    t.equal(r.stdout, runs[0]?.stdout);
  }
  const text = runs[0]?.stdout ?? '';
  for (const n of PLUGIN_NAMES) t.match(text, n);
  for (const s of ['cni-suite <plugin>', 'cni-suite install', 'cni-suite uninstall', '--bin-dir', '--force'])
    t.match(text, s);
  t.match(text, /CNI_COMMAND/);
});

t.test('bad usage: exit 2, the problem and the usage on stderr, nothing on stdout', async (t) => {
  const dir = t.testdir({});
  const cases = [
    ['install', '--bin-dir', dir, '--bogus'],
    ['install', '--bin-dir'],
    ['install', '--bin-dir', dir, '--plugins', 'bridge-route,nope'],
    ['uninstall', '--bin-dir', dir, '--force'],
  ];
  for (const args of cases) {
    const r = await suite(args);
    t.equal(r.exitCode, 2, args.join(' '));
    t.match(r.stderr, /^cni-suite \w+: error: .+\n\ncni-suite .*\n(.*\n)*Usage:/, args.join(' '));
    t.equal(r.stdout, '', args.join(' '));
  }
  t.same(readdirSync(dir), [], 'nothing was installed');
});

t.test('under a plugin name, CLI words are plain arguments: the plugin runs', async (t) => {
  const r = await execa(bin('bridge-route'), ['--version'], {
    env: { CNI_COMMAND: 'VERSION' },
    extendEnv: false,
  });
  t.match(JSON.parse(r.stdout), { cniVersion: CURRENT_VERSION });
});

t.test('a plugin run by hand at a terminal says what it is', async (t) => {
  // script(1) gives the plugin a terminal as stdin; its output comes back through the terminal.
  const env = { PATH: process.env.PATH };
  const tty = await execa('script', ['-qec', bin('bridge-route'), '/dev/null'], {
    env,
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
  });
  t.equal(tty.exitCode, 1);
  t.match(tty.stdout, /bridge-route is a CNI plugin: .*CNI_COMMAND=ADD/);
  t.match(tty.stdout, 'Try: CNI_COMMAND=VERSION bridge-route');
  t.match(tty.stdout, 'cni-suite --help');
  t.match(tty.stdout, /\{"cniVersion":"1\.1\.0","code":4,"msg":"required environment variable CNI_COMMAND/);

  const piped = await execa(bin('bridge-route'), [], { env, extendEnv: false, reject: false, input: '' });
  t.equal(piped.exitCode, 1);
  t.notMatch(piped.stderr, /is a CNI plugin/, 'not on a pipe: a runtime is calling');
  t.same(errorLines(piped.stderr), [
    'bridge-route: error: required environment variable CNI_COMMAND is missing',
  ]);
});

t.test('every error is on stderr exactly once, as "<plugin> <command>: error: <msg>"', async (t) => {
  const good = { cniVersion: '1.1.0', name: 'net1', type: 'bridge-route', ipam: { type: 'host-local' } };
  const cases: [string, unknown, Parameters<typeof callPlugin>[2], number][] = [
    ['missing CNI_* (4)', good, { command: 'ADD' }, 4],
    ['bad JSON (6)', '{"cniVersion":', { command: 'STATUS' }, 6],
    ['unsupported cniVersion (1)', { ...good, cniVersion: '9.9.9' }, { command: 'STATUS' }, 1],
    ['no name, from the edge (7)', { ...good, name: undefined }, { command: 'STATUS' }, 7],
    [
      'bad plugin config, from the plugin (7)',
      { ...good, clusterCIDR: 'nonsense' },
      { command: 'STATUS' },
      7,
    ],
  ];
  for (const [what, conf, call, code] of cases) {
    const r = await callPlugin('bridge-route', conf, call);
    t.equal(r.exitCode, 1, what);
    t.match(r.json, { code }, what);
    t.same(errorLines(r.stderr), [`bridge-route ${call.command}: error: ${r.json?.msg}`], what);
  }
  const none = await suite([]);
  t.equal(none.exitCode, 1);
  t.match(JSON.parse(none.stdout), { code: 4 });
  t.match(errorLines(none.stderr), [/^cni-suite: error: cannot tell which plugin to run/]);
  t.equal(errorLines(none.stderr).length, 1);
});

// --- install / uninstall ------------------------------------------------------------------------

/** Each entry of `dir`: its inode and, for small files, its content (a foreign plugin's script). */
function snapshot(dir: string): Record<string, string> {
  if (!existsSync(dir)) return {};
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const st = lstatSync(join(dir, name));
    out[name] = `${st.ino} ${st.size < 4096 ? readFileSync(join(dir, name), 'utf8') : st.size}`;
  }
  return out;
}

const install = (binDir: string, ...more: string[]) => suite(['install', '--bin-dir', binDir, ...more]);
const inode = (path: string) => statSync(path).ino;
const FOREIGN = '#!/bin/sh\necho "another suite"\n';

function assertInstalled(t: Test, binDir: string, names: readonly string[]) {
  const exe = join(binDir, 'cni-suite');
  t.equal(statSync(exe).mode & 0o777, 0o755, 'cni-suite is executable');
  for (const n of names) t.equal(inode(join(binDir, n)), inode(exe), `${n} is a hard link of cni-suite`);
  t.same(
    readdirSync(binDir).filter((n) => n.startsWith('.')),
    [],
    'no scratch file left behind',
  );
}

t.test('install: one inode under every name, a copy of this executable, idempotent', async (t) => {
  const binDir = join(t.testdir({}), 'bin');
  const first = await install(binDir);
  t.equal(first.exitCode, 0, first.stderr);
  t.same(first.stdout.split('\n'), [
    `installed ${binDir}/cni-suite`,
    ...PLUGIN_NAMES.map((n) => `linked ${binDir}/${n}`),
  ]);
  assertInstalled(t, binDir, PLUGIN_NAMES);
  t.same(readdirSync(binDir).sort(), ['cni-suite', ...PLUGIN_NAMES].sort());
  t.equal((await execa('cmp', [bin('cni-suite'), join(binDir, 'cni-suite')], { reject: false })).exitCode, 0);
  const r = await callFile(join(binDir, 'bridge-route'), '', { command: 'VERSION' });
  t.match(r.json, { cniVersion: CURRENT_VERSION });

  const again = await install(binDir);
  t.equal(again.exitCode, 0, again.stderr);
  t.equal(again.stdout, first.stdout);
  assertInstalled(t, binDir, PLUGIN_NAMES);
  t.same(readdirSync(binDir).sort(), ['cni-suite', ...PLUGIN_NAMES].sort());
});

t.test("install refuses to replace a file that is not cni-suite's, and changes nothing", async (t) => {
  const dir = t.testdir({ 'net.conflist': JSON.stringify(conflist()) });
  const [binDir, confDir] = [join(dir, 'bin'), join(dir, 'conf')];
  t.equal((await install(binDir)).exitCode, 0);
  rmSync(join(binDir, 'host-local'));
  writeFileSync(join(binDir, 'host-local'), FOREIGN, { mode: 0o755 });
  const before = snapshot(binDir);

  const r = await install(binDir, '--conf-dir', confDir, '--conflist', join(dir, 'net.conflist'));
  t.equal(r.exitCode, 1);
  t.equal(r.stdout, '');
  t.same(errorLines(r.stderr), [
    `cni-suite install: error: ${binDir}/host-local exists and is not cni-suite's (another suite's plugin?): use --force to replace it, or --plugins to install fewer`,
  ]);
  t.same(snapshot(binDir), before, 'the bin dir is as it was');
  t.notOk(existsSync(confDir), 'no conflist written');

  const forced = await install(binDir, '--force');
  t.equal(forced.exitCode, 0, forced.stderr);
  assertInstalled(t, binDir, PLUGIN_NAMES);
});

t.test('install --conflist: checked first, then written into the conf dir', async (t) => {
  const dir = t.testdir({
    'net.conflist': JSON.stringify(conflist(), null, 2),
    'bad.conflist': JSON.stringify({ ...conflist(), plugins: [] }),
  });
  const [binDir, confDir] = [join(dir, 'bin'), join(dir, 'conf/net.d')];
  const bad = await install(binDir, '--conf-dir', confDir, '--conflist', join(dir, 'bad.conflist'));
  t.equal(bad.exitCode, 1);
  t.match(errorLines(bad.stderr), [
    /bad\.conflist is not a CNI config list: "plugins" must be a non-empty list/,
  ]);
  t.notOk(existsSync(binDir), 'nothing installed');

  const r = await install(binDir, '--conf-dir', confDir, '--conflist', join(dir, 'net.conflist'));
  t.equal(r.exitCode, 0, r.stderr);
  const written = join(confDir, 'net.conflist');
  t.match(r.stdout, new RegExp(`\\nwrote ${written}$`));
  t.equal(readFileSync(written, 'utf8'), readFileSync(join(dir, 'net.conflist'), 'utf8'));
  t.equal(statSync(written).mode & 0o777, 0o644);
  t.same(readdirSync(confDir), ['net.conflist'], 'no scratch file left behind');
});

t.test("uninstall removes cni-suite's names only; gone already is fine", async (t) => {
  const dir = t.testdir({ 'net.conflist': JSON.stringify(conflist()) });
  const [binDir, confDir] = [join(dir, 'bin'), join(dir, 'conf')];
  const some = ['bridge-route', 'vxlan'];
  t.equal((await install(binDir)).exitCode, 0);
  rmSync(join(binDir, 'host-local'));
  writeFileSync(join(binDir, 'host-local'), FOREIGN, { mode: 0o755 });
  // A foreign host-local not asked for is left alone; the names already ours follow the new copy.
  const r = await install(
    binDir,
    '--plugins',
    some.join(','),
    '--conf-dir',
    confDir,
    '--conflist',
    join(dir, 'net.conflist'),
  );
  t.equal(r.exitCode, 0, r.stderr);
  assertInstalled(
    t,
    binDir,
    PLUGIN_NAMES.filter((n) => n !== 'host-local'),
  );

  const u = await suite([
    'uninstall',
    '--bin-dir',
    binDir,
    '--conf-dir',
    confDir,
    '--conflist',
    join(dir, 'net.conflist'),
  ]);
  t.equal(u.exitCode, 0, u.stderr);
  t.same(u.stdout.split('\n'), [
    ...PLUGIN_NAMES.filter((n) => n !== 'host-local').map((n) => `removed ${binDir}/${n}`),
    `removed ${binDir}/cni-suite`,
    `removed ${confDir}/net.conflist`,
  ]);
  t.same(readdirSync(binDir), ['host-local']);
  t.equal(readFileSync(join(binDir, 'host-local'), 'utf8'), FOREIGN, 'the foreign file is untouched');
  t.same(readdirSync(confDir), []);

  const twice = await suite(['uninstall', '--bin-dir', binDir]);
  t.equal(twice.exitCode, 0, twice.stderr);
  t.equal(twice.stdout, '');
});

function conflist() {
  return {
    cniVersion: '1.1.0',
    name: 'net1',
    plugins: [
      { type: 'bridge-route', ipam: { type: 'host-local', ranges: [[{ subnet: '10.244.1.0/24' }]] } },
    ],
  };
}
