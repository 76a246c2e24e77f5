// bridge-route through the built executable: every verb at every cniVersion, in a lab host netns
// with host-local IPAM. Only the protocol contract is checked here (result shape per version, which
// verbs a version allows, DEL being repeatable); what the plugin wires is test/e2e's business.
import t, { type Test } from 'tap';
import { resultFamily, SPEC_VERSIONS, type SpecVersion } from '../../lib/cni/versions.js';
import { Cluster, type ClusterHost, leaseFiles } from '../helpers/cluster.js';
import { ip } from '../helpers/lab.js';

const c = await Cluster.create(t, { hosts: 1 });
const host = c.hosts[0] as ClusterHost;
const POD_CIDR = /^10\.244\.1\.\d+\/24$/;

const hostVeths = async () =>
  (JSON.parse(await ip(['-j', 'link', 'show', 'type', 'veth'], host.name)) as { ifname: string }[])
    .map((l) => l.ifname)
    .filter((n) => n !== 'eth0');

/** ADD's answer has the shape of `v`: ip4 below 0.3.0, ips with "version" up to 0.4.0, then without. */
function checkShape(t: Test, v: SpecVersion, json: Record<string, unknown> | undefined, podPath: string) {
  t.equal(json?.cniVersion, v, `${v}: cniVersion`);
  switch (resultFamily(v)) {
    case 'legacy':
      t.match(json, { ip4: { ip: POD_CIDR } }, `${v}: an ip4 object`);
      t.notOk(json && ('ips' in json || 'interfaces' in json), `${v}: no ips or interfaces`);
      break;
    case 'ips-versioned':
    case 'v1': {
      const versioned = resultFamily(v) === 'ips-versioned';
      const ips = json?.ips as Record<string, unknown>[];
      const interfaces = json?.interfaces as Record<string, unknown>[];
      t.equal(ips.length, 1, `${v}: one address`);
      t.match(ips[0], { address: POD_CIDR, interface: 2 }, `${v}: the address, on the pod's interface`);
      t.equal(
        ips[0]?.version,
        versioned ? '4' : undefined,
        `${v}: ips[].version ${versioned ? '"4"' : 'absent'}`,
      );
      t.match(
        interfaces[2],
        { name: 'eth0', sandbox: podPath, mac: /^[0-9a-f:]{17}$/ },
        `${v}: pod interface`,
      );
      t.notOk(json && 'ip4' in json, `${v}: no ip4`);
      break;
    }
  }
}

t.test('every verb × every cniVersion', async (t) => {
  const at = (v: string, min: SpecVersion) =>
    SPEC_VERSIONS.indexOf(v as SpecVersion) >= SPEC_VERSIONS.indexOf(min);
  for (const v of SPEC_VERSIONS) {
    const ns = await c.lab.container(`v${v.replaceAll('.', '')}`);
    const pod = { id: `ctr-${v.replaceAll('.', '-')}`, path: ns.path, ifname: 'eth0' };
    const conf = c.conf(host, { cniVersion: v });

    const add = await c.call(host, 'ADD', pod, conf);
    t.equal(add.exitCode, 0, `${v}: ADD succeeds ${add.stdout}`);
    checkShape(t, v, add.json, ns.path);
    const withPrev = { ...conf, prevResult: add.json };

    const check = await c.call(host, 'CHECK', pod, withPrev);
    if (at(v, '0.4.0')) t.equal(check.exitCode, 0, `${v}: CHECK with prevResult succeeds ${check.stdout}`);
    else
      t.match(
        check.json,
        { cniVersion: v, code: 1, msg: /CHECK needs cniVersion 0\.4\.0/ },
        `${v}: CHECK code 1`,
      );

    const keep = { ...conf, 'cni.dev/valid-attachments': [{ containerID: pod.id, ifname: pod.ifname }] };
    const gc = await c.call(host, 'GC', { id: '', path: '', ifname: '' }, keep);
    const status = await c.call(host, 'STATUS', { id: '', path: '', ifname: '' }, conf);
    if (at(v, '1.1.0')) {
      t.equal(gc.exitCode, 0, `${v}: GC succeeds ${gc.stdout}`);
      t.equal((await c.call(host, 'CHECK', pod, withPrev)).exitCode, 0, `${v}: GC kept the valid attachment`);
      t.equal(status.exitCode, 0, `${v}: STATUS succeeds ${status.stdout}`);
    } else {
      t.match(gc.json, { cniVersion: v, code: 1, msg: /GC needs cniVersion 1\.1\.0/ }, `${v}: GC code 1`);
      t.match(status.json, { cniVersion: v, code: 1, msg: /STATUS needs/ }, `${v}: STATUS code 1`);
    }

    const del = await c.call(host, 'DEL', pod, at(v, '0.4.0') ? withPrev : conf);
    t.equal(del.exitCode, 0, `${v}: DEL succeeds ${del.stdout}`);
    t.equal(del.stdout, '', `${v}: DEL prints nothing`);
    t.equal((await c.call(host, 'DEL', pod, conf)).exitCode, 0, `${v}: DEL again succeeds`);
    t.equal(
      (await c.call(host, 'DEL', { ...pod, path: '' }, conf)).exitCode,
      0,
      `${v}: DEL, empty CNI_NETNS`,
    );
    t.same(await hostVeths(), [], `${v}: no veth left on the host`);
    t.same(leaseFiles(host), [], `${v}: no lease left`);
  }
});
