// A minimal CRI client, as kubelet drives a pod's network through containerd's CRI plugin:
//   node client.ts <socket> run <name> [hostPort:containerPort …]   prints the sandbox id
//   node client.ts <socket> status <id>     prints {"state", "ip", "pid"} (pid from the verbose info)
//   node client.ts <socket> stop <id>       StopPodSandbox: the CNI DEL
//   node client.ts <socket> remove <id>
// Used by test/clients/cri.sh inside the clients tier's private namespaces (a helper, not a test).
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as loader from '@grpc/proto-loader';

type Call = (req: object, cb: (err: grpc.ServiceError | null, res: Record<string, unknown>) => void) => void;

const [socket, command, arg, ...rest] = process.argv.slice(2);
if (!socket || !command || !arg) {
  console.error('usage: client.ts <socket> run|status|stop|remove <name|id> [hostPort:containerPort …]');
  process.exit(2);
}
const def = loader.loadSync(join(import.meta.dirname, 'runtime.proto'), {
  keepCase: true,
  enums: String,
  longs: String,
  defaults: true,
});
const { runtime } = grpc.loadPackageDefinition(def) as unknown as {
  runtime: { v1: { RuntimeService: new (addr: string, creds: grpc.ChannelCredentials) => grpc.Client } };
};
const client = new runtime.v1.RuntimeService(
  `unix://${socket}`,
  grpc.credentials.createInsecure(),
) as unknown as Record<string, Call>;
const call = (method: string, req: object) =>
  new Promise<Record<string, unknown>>((resolve, reject) =>
    client[method]!.call(client, req, (err, res) => (err ? reject(err) : resolve(res))),
  );

async function main(): Promise<unknown> {
  switch (command) {
    case 'run': {
      const port_mappings = rest.map((m) => {
        const [host, container] = m.split(':').map(Number);
        return { protocol: 'TCP', host_port: host, container_port: container };
      });
      const config = {
        metadata: { name: arg, uid: `uid-${arg}`, namespace: 'default', attempt: 0 },
        hostname: arg,
        port_mappings,
      };
      return (await call('RunPodSandbox', { config })).pod_sandbox_id;
    }
    case 'status': {
      const res = await call('PodSandboxStatus', { pod_sandbox_id: arg, verbose: true });
      const status = res.status as { state: string; network?: { ip: string } };
      const info = JSON.parse((res.info as Record<string, string>).info ?? '{}') as { pid?: number };
      return JSON.stringify({ state: status.state, ip: status.network?.ip ?? '', pid: info.pid ?? 0 });
    }
    case 'stop':
      await call('StopPodSandbox', { pod_sandbox_id: arg });
      return 'stopped';
    case 'remove':
      await call('RemovePodSandbox', { pod_sandbox_id: arg });
      return 'removed';
    default:
      throw new Error(`unknown command ${command}`);
  }
}

main().then(
  (out) => {
    console.log(out);
    process.exit(0);
  },
  (err: Error) => {
    console.error(`cri ${command}: ${err.message}`);
    process.exit(1);
  },
);
