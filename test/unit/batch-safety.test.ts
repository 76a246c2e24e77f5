// What `ip -batch` cannot carry: refused by batchLine and, earlier, by the CNI_* validation (code 4);
// and the length limits that keep the link alias within the kernel's 255 bytes.
import t from 'tap';
import { parseNetConf } from '../../lib/cni/config.js';
import { type Command, parseInvocation } from '../../lib/cni/env.js';
import { CniError } from '../../lib/cni/errors.js';
import { batchLine } from '../../lib/sys/ip.js';

/** Every character iproute2's batch parser reads as syntax or a separator. */
const SPECIAL = [' ', '\t', '\n', '\r', '\v', '\f', '#', "'", '"', '\\'];
const CONTROL = ['\x01', '\x1b', '\x7f'];

t.test('batchLine refuses what a batch line cannot carry, and joins the rest', async (t) => {
  t.equal(
    batchLine(['link', 'set', 'dev', 'veth1', 'alias', 'cni-suite/n/c/eth0']),
    'link set dev veth1 alias cni-suite/n/c/eth0',
  );
  t.throws(() => batchLine(['link', 'del', '']), /argument "" .*is empty/);
  for (const c of SPECIAL) {
    for (const arg of [`net${c}1`, `${c}eth0`, `eth0${c}`]) {
      t.throws(
        () => batchLine(['link', 'add', arg, 'type', 'veth']),
        { message: new RegExp(`^ip batch argument ${reEscape(JSON.stringify(arg))}.*cannot carry`, 's') },
        `refuses ${JSON.stringify(arg)}`,
      );
    }
  }
});

const full = {
  CNI_CONTAINERID: 'c1',
  CNI_NETNS: '/var/run/netns/x',
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/opt/cni/bin',
};

/** The CniError parseInvocation throws for env, or undefined. */
function refusal(command: Command, env: Record<string, string>): CniError | undefined {
  try {
    parseInvocation(command, env);
    return undefined;
  } catch (e) {
    if (e instanceof CniError) return e;
    throw e;
  }
}

t.test(
  'CNI_IFNAME, CNI_NETNS and CNI_CONTAINERID refuse batch syntax and control characters (code 4)',
  async (t) => {
    const values = (c: string) => ({
      CNI_IFNAME: [`net${c}1`, `${c}eth0`, `eth0${c}`],
      CNI_NETNS: [`/var/run/netns/a${c}b`, `/var/run/netns/x${c}`],
      CNI_CONTAINERID: [`c${c}1`, `c1${c}`],
    });
    for (const c of [...SPECIAL, ...CONTROL]) {
      for (const [variable, list] of Object.entries(values(c))) {
        for (const value of list) {
          for (const command of ['ADD', 'CHECK', 'DEL'] as const) {
            const e = refusal(command, { ...full, [variable]: value });
            const what = `${command} ${variable}=${JSON.stringify(value)}`;
            t.equal(e?.code, 4, what);
            t.match(e?.message, new RegExp(`^${variable} `), `${what}: names the variable`);
          }
        }
      }
    }
    t.equal(refusal('ADD', full), undefined, 'plain values pass');
    t.equal(refusal('ADD', { ...full, CNI_NETNS: '/proc/1234/ns/net', CNI_IFNAME: 'net-1.a_b' }), undefined);
    t.match(refusal('ADD', { ...full, CNI_IFNAME: 'a\\b' })?.message, /contains a backslash/);
    t.match(refusal('ADD', { ...full, CNI_IFNAME: 'eth 0' })?.message, /contains a space/);
    t.match(refusal('ADD', { ...full, CNI_IFNAME: 'eth\n0' })?.message, /control character U\+000A/);
    t.match(refusal('ADD', { ...full, CNI_NETNS: 'relative/path' })?.message, /CNI_NETNS .* absolute path/);
  },
);

t.test('length limits: container ID 128 bytes (code 4), network name 64 bytes (code 7)', async (t) => {
  t.equal(refusal('ADD', { ...full, CNI_CONTAINERID: 'a'.repeat(128) }), undefined);
  const long = refusal('ADD', { ...full, CNI_CONTAINERID: 'a'.repeat(129) });
  t.match(long, { code: 4, message: /CNI_CONTAINERID is 129 bytes long; at most 128/ });
  const conf = (extra: Record<string, unknown>) => {
    const raw = { cniVersion: '1.0.0', name: 'net1', type: 'x', ...extra };
    return () => parseNetConf(raw, '1.0.0', JSON.stringify(raw));
  };
  t.doesNotThrow(conf({ name: 'n'.repeat(64) }));
  t.throws(conf({ name: 'n'.repeat(65) }), { code: 7, message: /name is 65 bytes long; at most 64/ });
  // The longest alias a valid call can produce fits in the kernel's IFALIASZ (256 with the NUL).
  t.ok(Buffer.byteLength(`cni-suite/${'n'.repeat(64)}/${'c'.repeat(128)}/${'i'.repeat(15)}`) <= 255);
});

t.test('network names refuse batch syntax (code 7)', async (t) => {
  for (const c of [...SPECIAL, ...CONTROL, '/']) {
    const raw = { cniVersion: '1.0.0', name: `net${c}1`, type: 'x' };
    t.throws(
      () => parseNetConf(raw, '1.0.0', JSON.stringify(raw)),
      { code: 7, message: /^name / },
      JSON.stringify(c),
    );
  }
});

t.test('logFile must be an absolute path (code 7)', async (t) => {
  const parse = (logFile: unknown) => {
    const raw = { cniVersion: '1.0.0', name: 'net1', type: 'x', logFile };
    return parseNetConf(raw, '1.0.0', JSON.stringify(raw)).logFile;
  };
  t.equal(parse('/var/log/cni.log'), '/var/log/cni.log');
  t.equal(parse(undefined), undefined);
  t.equal(parse(''), undefined);
  for (const bad of ['cni.log', './cni.log', '~/cni.log'])
    t.throws(() => parse(bad), { code: 7, message: /^logFile .* must be an absolute path/ }, bad);
  t.throws(() => parse(5), { code: 7, message: /logFile must be a string/ });
});

function reEscape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
