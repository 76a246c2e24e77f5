// Real TCP between netns: a server that answers each connection with the peer address it saw,
// and a client that sends a payload and returns that answer.
import { execa } from 'execa';

const NODE = process.execPath;
// A clean env: the test runner's NODE_OPTIONS (loaders, hooks) must not follow into these processes.
const ENV = { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, extendEnv: false } as const;

const SERVER = `
const net = require('node:net');
const srv = net.createServer((s) => {
  let n = 0;
  s.on('data', (d) => { n += d.length; });
  s.on('end', () => s.end(JSON.stringify({ from: s.remoteAddress.replace(/^::ffff:/, ''), bytes: n })));
});
srv.listen(Number(process.argv[1]), () => console.log('listening'));
`;

const CLIENT = `
const net = require('node:net');
const [host, port, size] = process.argv.slice(1);
const s = net.connect({ host, port: Number(port), timeout: 3000 }, () => s.end(Buffer.alloc(Number(size), 120)));
let out = '';
s.on('data', (d) => { out += d; });
s.on('end', () => { console.log(out); process.exit(0); });
s.on('timeout', () => { console.error('timeout'); process.exit(2); });
s.on('error', (e) => { console.error(e.message); process.exit(3); });
`;

/** Runs a server script in `netns`; resolves once it prints its first line. Killed with the netns. */
async function serverIn(netns: string, script: string, args: string[]): Promise<{ stop: () => void }> {
  const child = execa('ip', ['netns', 'exec', netns, NODE, '-e', script, ...args], { ...ENV, reject: false });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    void child.then((r) => reject(new Error(`server in ${netns} exited: ${r.stderr}`)));
  });
  // Not `return child`: a subprocess is a thenable, and returning it would wait for its exit.
  return { stop: () => child.kill() };
}

/** Starts a TCP server in `netns` on `port`; resolves once it listens. */
export const tcpServer = (netns: string, port: number) => serverIn(netns, SERVER, [String(port)]);

/** Sends `size` bytes from `netns` to host:port; returns what the server saw, or undefined on failure. */
export async function tcpSend(
  netns: string,
  host: string,
  port: number,
  size = 100_000,
): Promise<{ from: string; bytes: number } | undefined> {
  const r = await execa(
    'ip',
    ['netns', 'exec', netns, NODE, '-e', CLIENT, host, String(port), String(size)],
    {
      ...ENV,
      reject: false,
      timeout: 8000,
    },
  );
  return r.exitCode === 0 ? JSON.parse(r.stdout) : undefined;
}

/**
 * True when one ping from `netns` to `addr` gets an answer within 1 s, trying up to `tries` times
 * (a fresh IPv6 pod answers neighbour solicitations only once its link-local address left DAD).
 */
export async function pings(netns: string, addr: string, tries = 1): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    const r = await execa('ip', ['netns', 'exec', netns, 'ping', '-c1', '-W1', addr], { reject: false });
    if (r.exitCode === 0) return true;
  }
  return false;
}

const UDP_SERVER = `
const s = require('node:dgram').createSocket({ type: 'udp6', ipv6Only: false });
s.on('message', (m, r) => s.send(process.argv[2] + ' ' + r.address.replace(/^::ffff:/, ''), r.port, r.address));
s.bind(Number(process.argv[1]), () => console.log('listening'));
`;

const UDP_CLIENT = `
const [host, port, src] = process.argv.slice(1);
const s = require('node:dgram').createSocket(host.includes(':') ? 'udp6' : 'udp4');
s.on('message', (m) => { console.log(String(m)); process.exit(0); });
s.bind(Number(src), () => s.send('ping', Number(port), host));
setTimeout(() => { console.error('timeout'); process.exit(2); }, 2000);
`;

/** A UDP server in `netns` on `port` that answers each datagram with "<name> <sender address>". */
export const udpServer = (netns: string, port: number, name: string) =>
  serverIn(netns, UDP_SERVER, [String(port), name]);

/** One datagram from `netns` (source port `srcPort`, so conntrack sees the same flow each time) to
 *  host:port; the answer, or undefined when none came within 2 s. */
export async function udpAsk(
  netns: string,
  host: string,
  port: number,
  srcPort: number,
): Promise<string | undefined> {
  const r = await execa(
    'ip',
    ['netns', 'exec', netns, NODE, '-e', UDP_CLIENT, host, String(port), String(srcPort)],
    {
      ...ENV,
      reject: false,
      timeout: 5000,
    },
  );
  return r.exitCode === 0 ? r.stdout.trim() : undefined;
}
