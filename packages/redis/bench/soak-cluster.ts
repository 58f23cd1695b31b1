/**
 * The cluster under `npm run soak -- --cluster`: bench/soak.ts imports this module on
 * demand (so the single-process soak needs no Redis package). {@link launchCluster}
 * starts a private redis-server, three `chat-roulette start --redis` nodes (from source,
 * with the soak's server settings) and a round-robin balancer; the soak's clients
 * connect to the balancer. A node killed with SIGKILL is started again by the launcher
 * (under a new node id); {@link SoakCluster.restartRedis} restarts Redis, empty, on the
 * same port.
 *
 * @module
 */
import { createClient } from '@redis/client';
import { fileURLToPath } from 'node:url';
import { launchCluster, type LaunchedCluster } from '../src/index.js';

/** The soak's server settings (bench/soak-server.ts), as `chat-roulette start` flags. */
export const SOAK_NODE_FLAGS: readonly string[] = [
  '--ping-ms', '500',
  '--dead-ms', '2500',
  '--register-timeout-ms', '2500',
  '--epoch-ms', '4000',
  '--pair-delay-ms', '50',
  '--rate-limit', '50',
  '--rate-burst', '100',
  '--max-buffered-bytes', String(256 * 1024),
  '--max-connections-per-address', 'off',
  '--quiet',
];

/** What the soak can do to the cluster, and what it asks of it at the end. */
export interface SoakCluster {
  /** The balancer's port on 127.0.0.1. */
  readonly port: number;
  /** The cluster's name. */
  readonly name: string;
  /** Kills the next node (round robin over the slots) with SIGKILL; its id, or undefined when none runs. */
  killNode(): string | undefined;
  /** Waits (bounded) until every slot has a running node again. */
  allUp(ms: number): Promise<boolean>;
  /** Restarts Redis on the same port, empty. */
  restartRedis(): Promise<void>;
  /** Node exits the soak did not cause (a crash), as text. */
  readonly crashes: string[];
  /** Lines the nodes wrote to stderr that report an uncaught exception or an unhandled rejection. */
  readonly unhandled: string[];
  /** The cluster's rows left in Redis: registrations, pair rows, free clients. */
  residue(): Promise<{ own: number; peer: number; free: number }>;
  /** Stops everything; node exits that were not clean (code 0) at that point, as text. */
  close(): Promise<string[]>;
}

/** Starts the cluster for the soak. `log` gets the launcher's and nodes' lines when verbose. */
export async function startSoakCluster(nodes: number, log: ((line: string) => void) | undefined): Promise<SoakCluster> {
  const cli = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));
  const killed = new Set<number>();
  const crashes: string[] = [];
  const unhandled: string[] = [];
  const dirty: string[] = [];
  let closing = false;
  const cluster: LaunchedCluster = await launchCluster({
    nodes,
    startFlags: SOAK_NODE_FLAGS,
    restartNodes: true,
    nodeCommand: [process.execPath, '--conditions=source', '--import', 'tsx', cli],
    stopTimeoutMs: 10_000,
    log: (line) => {
      if (/uncaught|unhandled/i.test(line)) unhandled.push(line);
      log?.(line);
    },
  });
  cluster.on('nodeExit', ({ node, status, expected }) => {
    const what = `${node.id} (pid ${node.pid}) exited with ${status.signal ?? `code ${status.code}`}`;
    if (killed.has(node.pid)) return;
    if (!expected && !closing) crashes.push(what);
    else if (status.code !== 0) dirty.push(what);
  });
  let next = 0;
  const redis = createClient({ url: cluster.redisUrl, RESP: 2, disableOfflineQueue: true, socket: { reconnectStrategy: false } });
  redis.on('error', () => undefined);
  return {
    port: cluster.port,
    name: cluster.name,
    crashes,
    unhandled,
    killNode() {
      for (let i = 0; i < nodes; i++) {
        const slot = `n${1 + ((next + i) % nodes)}`;
        const node = cluster.nodes.find((n) => n.slot === slot);
        if (node === undefined) continue;
        next = (next + i + 1) % nodes;
        killed.add(node.pid);
        cluster.kill(slot, 'SIGKILL');
        return node.id;
      }
      return undefined;
    },
    async allUp(ms) {
      const deadline = performance.now() + ms;
      while (cluster.nodes.length < nodes) {
        if (performance.now() > deadline) return false;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return true;
    },
    restartRedis: () => cluster.restartRedis(),
    async residue() {
      if (!redis.isOpen) await redis.connect();
      const p = `cr:{${cluster.name}}:`;
      const [own, peer, free] = (await Promise.all([
        redis.sendCommand(['HLEN', `${p}own`]),
        redis.sendCommand(['HLEN', `${p}peer`]),
        redis.sendCommand(['SCARD', `${p}free`]),
      ])) as unknown as [number, number, number];
      return { own: Number(own), peer: Number(peer), free: Number(free) };
    },
    async close() {
      closing = true;
      if (redis.isOpen) await redis.close().catch(() => undefined);
      await cluster.close();
      return dirty;
    },
  };
}
