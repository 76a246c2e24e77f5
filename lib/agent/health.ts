// The agent's health and metrics over HTTP, for a kubelet-style probe and a Prometheus scrape:
//   GET /healthz   200 while the process's loop answers at all;
//   GET /readyz    200 once this node holds its subnet, its conflist and peers file are written and
//                  the last reconcile succeeded; 503 and the reason otherwise;
//   GET /metrics   Prometheus text (prom-client, the exposition format's reference library in Node).
// On 127.0.0.1:9477 by default (`healthAddress`; "" turns it off): node-local, as flannel's
// --healthz-port is. Loaded only by `cni-suite agent`, never on a plugin call.
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What /readyz reports: ready, or why not. */
export type Readiness = { ready: true } | { ready: false; reason: string };

export interface AgentMetrics {
  readonly registry: Registry;
  peers: Gauge;
  etcdUp: Gauge;
  reconcileSeconds: Histogram;
  reconcileErrors: Counter;
  leaseExpirySeconds: Gauge;
}

/** The agent's metrics; `leaseExpiry` tells, when scraped, the seconds until the lease would expire. */
export function agentMetrics(leaseExpiry: () => number | undefined): AgentMetrics {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    peers: new Gauge({ name: 'cni_suite_agent_peers', help: 'Other hosts in the peers file', registers }),
    etcdUp: new Gauge({ name: 'cni_suite_agent_etcd_up', help: '1 while etcd answers, else 0', registers }),
    reconcileSeconds: new Histogram({
      name: 'cni_suite_agent_reconcile_seconds',
      help: "Time the engine took to bring the network's shared state to the peers file",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    reconcileErrors: new Counter({
      name: 'cni_suite_agent_reconcile_errors_total',
      help: 'Reconciles that failed (each is retried)',
      registers,
    }),
    leaseExpirySeconds: new Gauge({
      name: 'cni_suite_agent_lease_expiry_seconds',
      help: "Seconds until this host's subnet lease would expire if etcd stopped answering now",
      registers,
      collect() {
        const left = leaseExpiry();
        if (left !== undefined) this.set(Math.max(0, left));
      },
    }),
  };
}

/** Serves the three endpoints; resolves once listening (a taken port is the agent's start-up error). */
export function serveHealth(
  at: { host: string; port: number },
  readiness: () => Readiness,
  metrics: AgentMetrics,
): Promise<Server> {
  const server = createServer((req, res) => {
    const reply = (code: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(code, { 'content-type': type });
      res.end(body);
    };
    if (req.method !== 'GET') return reply(405, 'GET only\n');
    switch (req.url) {
      case '/healthz':
        return reply(200, 'ok\n');
      case '/readyz': {
        const r = readiness();
        return r.ready ? reply(200, 'ready\n') : reply(503, `not ready: ${r.reason}\n`);
      }
      case '/metrics':
        return void metrics.registry
          .metrics()
          .then((text) => reply(200, text, metrics.registry.contentType))
          .catch((err: Error) => reply(500, `${err.message}\n`));
      default:
        return reply(404, 'not found: /healthz, /readyz, /metrics\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      server.unref();
      resolve(server);
    });
  });
}
