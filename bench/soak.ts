/**
 * A bounded chaos soak of the server over loopback: `npm run soak -- --seconds N`
 * (default 60) `[--clients C]` (default 300) `[--seed S]`.
 *
 * The server (bench/soak-server.ts) is a {@link RouletteCore} behind {@link listen}
 * on 127.0.0.1:0 in a child process, so its RSS is its own; it reports its registry,
 * its timers (through a counting clock) and its socket count over IPC. C clients connect, chat, and misbehave at random
 * for N seconds: go silent (stop ponging → `timeout`), drop their socket, reconnect
 * with the same uco on a new connection (takeover → `new session`), flood (hit the
 * rate limit), stop reading for a while (the server's backpressure and slow-consumer
 * limit). Then everyone leaves with `exit`.
 *
 * Definitions (what "no loss" means):
 * - Each `comm` carries `from` (the sender's uco) and `seq` (per sender, over all its
 *   connections). After each batch the sender sends a fence: a repeated `connect`
 *   with a fresh nonce. Its `ack` proves the server processed the batch (one
 *   connection's lines are processed and answered in order).
 * - A `comm` is **accepted** when the sender got no error reply for it AND the fence
 *   after it was acknowledged while the sender's pair session (from its last `pair`
 *   line) was unchanged — so the server processed it while the sender was paired with
 *   the peer named in that `pair` line.
 * - An accepted `comm` must be delivered to that peer, exactly once. It may be
 *   missing only when a connection of that peer that was live between sending and
 *   the fence's ack ended **abruptly**: closed without an exit line it read (it
 *   dropped its socket), or cut as a `slow consumer` (its unsent backlog discarded
 *   before its exit line). A receiver that read another exit line (`timeout`,
 *   `new session`, `client exit`) or a new `pair` line has read everything written
 *   before it, so nothing is excused there.
 * - Every `comm` received must come from the receiver's peer of that moment (its last
 *   `pair` line), at most once, in increasing `seq` per sender on each connection;
 *   and no `comm` answered with an error may be relayed.
 * - Not counted either way ("unconfirmed"): messages whose fence was never
 *   acknowledged in the same session (the sender left or was re-paired first).
 * - Flood accounting (the rate limit's counted refusals): for every connection, each
 *   `comm` and `connect` it sent was relayed, refused individually, acknowledged, or
 *   counted by a `{"error":"rate limited","dropped":N}` reply — never counted twice;
 *   and for a connection ended by its own `exit` (the server read all it sent)
 *   nothing is left over, except what an abruptly ended receiver may have lost
 *   (see {@link Ledger.audit}). Messages of connections with counted refusals are
 *   checked this way rather than one by one. Every connection the server cut read
 *   the exit line telling why.
 *
 * At the end it checks: no unhandled error; losses = 0 and no violation; registry,
 * pairs, timers and sockets back to zero; RSS within +30 MiB of the RSS after
 * warm-up (both after a GC, in the server process). It prints one summary line and exits 0, or 1 on failure.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { seededRandom } from '../src/index.js';
import { SoakClient, type SoakCounters } from './soak-client.js';
import { Ledger, type ClusterFaults } from './soak-ledger.js';
import type { SoakServerReport } from './soak-server.js';

const RSS_MARGIN_MIB = 30;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

/** The server child: started, asked for reports, stopped; killed by pid if it lingers. */
class ServerChild {
  readonly child: ChildProcess;
  private readonly waiting: Array<(message: Record<string, unknown>) => void> = [];

  constructor(seed: string) {
    const script = fileURLToPath(new URL('./soak-server.ts', import.meta.url));
    this.child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', script, seed], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (message) => this.waiting.shift()?.(message as Record<string, unknown>));
  }

  /** The next message from the server, bounded. */
  next(ms = 20_000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the soak server did not answer')), ms);
      this.waiting.push((message) => {
        clearTimeout(timer);
        resolve(message);
      });
    });
  }

  async ask(what: 'report' | 'stop'): Promise<SoakServerReport> {
    const answer = this.next();
    this.child.send(what);
    return (await answer) as unknown as SoakServerReport;
  }

  kill(): void {
    if (this.child.pid !== undefined && this.child.exitCode === null && this.child.signalCode === null) {
      process.kill(this.child.pid, 'SIGKILL');
    }
  }
}

const mib = (bytes: number): number => Math.round((bytes / 1048576) * 10) / 10;

/** The soak's options. */
interface SoakOptions {
  readonly seconds: number;
  readonly clients: number;
  readonly seed: string;
  /** Run through a 3-node cluster behind a balancer (packages/redis), with node kills and a Redis restart. */
  readonly cluster: boolean;
  /** Cluster: seconds between node kills (kill -9); 0 for none. */
  readonly killEvery: number;
  /** Cluster: restart Redis once, at this fraction of the run (0 for none). */
  readonly redisRestartAt: number;
  /** Cluster: print the launcher's and the nodes' log lines. */
  readonly verbose: boolean;
}

const USAGE =
  'usage: soak.ts [--seconds N (1-3600)] [--clients C (2-5000)] [--seed S]\n' +
  '               [--cluster [--kill-every S (default max(8, N/5); 0: none)] [--redis-restart-at F (default 0.55; 0: none)] [--verbose]]';

function parse(): SoakOptions {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '60' },
      clients: { type: 'string', default: '300' },
      seed: { type: 'string', default: 'soak' },
      cluster: { type: 'boolean', default: false },
      'kill-every': { type: 'string' },
      'redis-restart-at': { type: 'string', default: '0.55' },
      verbose: { type: 'boolean', default: false },
    },
  });
  const seconds = Number(values.seconds);
  const clients = Number(values.clients);
  const killEvery = values['kill-every'] === undefined ? Math.max(8, Math.round(seconds / 5)) : Number(values['kill-every']);
  const redisRestartAt = Number(values['redis-restart-at']);
  if (
    !(seconds > 0 && seconds <= 3600) ||
    !Number.isInteger(clients) ||
    clients < 2 ||
    clients > 5000 ||
    !(killEvery >= 0) ||
    !(redisRestartAt >= 0 && redisRestartAt < 1)
  ) {
    console.error(USAGE);
    process.exit(2);
  }
  return { seconds, clients, seed: values.seed ?? 'soak', cluster: values.cluster ?? false, killEvery, redisRestartAt, verbose: values.verbose ?? false };
}

/** The module of packages/redis/bench/soak-cluster.ts, as this file uses it (loaded on demand). */
interface SoakClusterModule {
  startSoakCluster(nodes: number, log: ((line: string) => void) | undefined): Promise<{
    readonly port: number;
    readonly name: string;
    killNode(): string | undefined;
    allUp(ms: number): Promise<boolean>;
    restartRedis(): Promise<void>;
    readonly crashes: string[];
    readonly unhandled: string[];
    residue(): Promise<{ own: number; peer: number; free: number }>;
    close(): Promise<string[]>;
  }>;
}
type SoakCluster = Awaited<ReturnType<SoakClusterModule['startSoakCluster']>>;

/** Cluster soak: how long after an event its effects may still reach a client, ms (see {@link ClusterFaults}). */
const CLUSTER_MARGIN_MS = 2_000;
/** Cluster soak: a Redis restart's aftermath (lease lapse at the next beat, rejoin or eviction, reconcile), ms. */
const CLUSTER_RECOVERY_MS = 12_000;
/** Cluster soak: a killed node's lease (5 s) + grace (1 s) + the others' check (1 s), with a margin, ms. */
const CLUSTER_REAP_MS = 9_000;

async function startCluster(o: SoakOptions): Promise<SoakCluster> {
  const path = fileURLToPath(new URL(`../packages/redis/bench/soak-cluster${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));
  let mod: SoakClusterModule;
  try {
    mod = (await import(pathToFileURL(path).href)) as SoakClusterModule;
  } catch (error) {
    console.error(`soak --cluster: cannot load ${path} (it needs @chat-roulette/redis and redis-server): ${(error as Error).message}`);
    process.exit(2);
  }
  return mod.startSoakCluster(3, o.verbose ? (line) => console.error(line) : undefined);
}

/** What {@link runClients} did. */
interface ClientRun {
  readonly ledger: Ledger;
  readonly counters: SoakCounters;
  readonly clients: SoakClient[];
  readonly faults: Readonly<Record<string, number>>;
  /** Whether every client closed after its exit within 10 s. */
  readonly left: boolean;
}

/** Hooks of {@link runClients}. */
interface ClientHooks {
  /** After the warm-up, before the chaos. */
  afterWarmUp?: () => Promise<void>;
  /** Every 100 ms of the chaos (the cluster soak's node kills and Redis restart). */
  onTick?: (now: number) => Promise<void>;
  /** How long to wait with no new traffic before everyone leaves (default 2 s), asked when the chaos ends. */
  quiesceMs?: () => number;
}

/**
 * The clients' part of the soak: C clients connect to 127.0.0.1:`port`, chat, warm up,
 * misbehave at random for N seconds, quiesce, and leave.
 */
async function runClients(options: SoakOptions, port: number, random: () => number, hooks: ClientHooks): Promise<ClientRun> {
  const { seconds, clients: clientCount } = options;
  const ledger = new Ledger();
  const counters: SoakCounters = { exits: new Map(), errors: new Map(), received: 0, sent: 0 };
  const clients: SoakClient[] = [];
  for (let i = 0; i < clientCount; i++) {
    const client = new SoakClient(`soak${i}`, port, ledger, counters, 100 + Math.floor(random() * 300));
    clients.push(client);
    client.open();
    if (i % 50 === 49) await sleep(20);
  }
  const ready = await until(() => clients.filter((c) => c.link?.registered === true).length >= clientCount * 0.9, 15_000);
  if (!ready) console.error('soak: fewer than 90% of the clients registered within 15 s');

  // Warm-up: normal traffic only.
  const chatTick = (): void => {
    for (const c of clients) if (c.paired && random() < 0.5) c.chat(1 + Math.floor(random() * 3));
  };
  const warmupMs = Math.min(5_000, Math.max(1_000, seconds * 100));
  const warmEnd = performance.now() + warmupMs;
  while (performance.now() < warmEnd) {
    chatTick();
    await sleep(100);
  }
  await hooks.afterWarmUp?.();

  const faults = { silent: 0, drop: 0, takeover: 0, flood: 0, slow: 0 };
  const end = performance.now() + seconds * 1000;
  let tick = 0;
  while (performance.now() < end) {
    await hooks.onTick?.(performance.now());
    chatTick();
    if (tick++ % 2 === 0) {
      for (const c of clients) {
        if (c.link === undefined) continue;
        const r = random();
        if (r < 0.002) {
          c.goSilent();
          faults.silent++;
        } else if (r < 0.005) {
          c.drop();
          faults.drop++;
        } else if (r < 0.008) {
          c.takeover();
          faults.takeover++;
        } else if (r < 0.009) {
          c.link.chat(250); // 2.5 × rateBurst at once
          faults.flood++;
        } else if (r < 0.011) {
          c.stopReading(1_500);
          faults.slow++;
        }
      }
    }
    await sleep(100);
  }

  // Quiesce: no new traffic; let fences and in-flight lines settle.
  await sleep(hooks.quiesceMs?.() ?? 2_000);
  for (const c of clients) c.reconnect = false;
  await sleep(1_000);

  // Everyone leaves.
  for (const c of clients) c.leave();
  const left = await until(() => clients.every((c) => c.gone), 10_000);
  return { ledger, counters, clients, faults, left };
}

async function main(): Promise<number> {
  const options = parse();
  const { seconds, clients: clientCount, seed } = options;
  const random = seededRandom(seed);
  let unhandled = 0;
  process.on('uncaughtException', (error) => {
    unhandled++;
    console.error('soak: uncaught exception:', error);
  });
  process.on('unhandledRejection', (error) => {
    unhandled++;
    console.error('soak: unhandled rejection:', error);
  });

  if (options.cluster) return clusterSoak(options, () => unhandled);
  const server = new ServerChild(`${seed}-pairing`);
  process.on('exit', () => server.kill());
  const listening = await server.next();
  const port = Number(listening.port);
  console.error(`soak: server on 127.0.0.1:${port}, ${clientCount} clients, ${seconds} s`);

  let rssWarm = 0;
  const run = await runClients(options, port, random, {
    afterWarmUp: async () => {
      rssWarm = (await server.ask('report')).rss;
    },
  });
  const { ledger, counters, clients, faults, left } = run;
  const stragglers = clients.filter((c) => !c.gone).length;
  for (const c of clients) c.destroy();
  let before = await server.ask('report');
  const deadline = performance.now() + 10_000;
  while ((before.sockets > 0 || before.stats.connections > 0) && performance.now() < deadline) {
    await sleep(100);
    before = await server.ask('report');
  }
  const drained = before.sockets === 0 && before.stats.connections === 0;
  const after = before.stats;
  const registryLeak = after.connections + after.clients + after.pairs;
  const socketLeak = before.sockets;
  const rssEnd = before.rss;
  const rssGrowth = rssEnd - rssWarm;
  const final = await server.ask('stop');
  const timerLeak = final.timers;
  unhandled += final.unhandled + before.unhandled;

  const audit = ledger.audit();
  for (const m of audit.lost.slice(0, 10)) console.error('soak: lost', m);
  const violations =
    ledger.wrongPeer + ledger.duplicates + ledger.outOfOrder + ledger.refusedButRelayed + ledger.garbled + audit.unaccounted.length + audit.cutWithoutReason;
  const leaks = registryLeak + socketLeak + timerLeak;
  const failures: string[] = [];
  if (unhandled > 0) failures.push(`${unhandled} unhandled errors`);
  if (audit.lost.length > 0) failures.push(`${audit.lost.length} accepted messages lost`);
  for (const u of audit.unaccounted.slice(0, 10)) console.error('soak:', u);
  if (audit.unaccounted.length > 0) failures.push(`${audit.unaccounted.length} connections whose lines are not all accounted for`);
  if (audit.cutWithoutReason > 0) failures.push(`${audit.cutWithoutReason} connections cut without reading an exit line`);
  if (violations > 0) {
    failures.push(
      `violations: wrongPeer ${ledger.wrongPeer}, duplicates ${ledger.duplicates}, outOfOrder ${ledger.outOfOrder}, refusedButRelayed ${ledger.refusedButRelayed}, garbled ${ledger.garbled}`,
    );
  }
  if (leaks > 0 || !drained) failures.push(`leaks: registry ${registryLeak}, sockets ${socketLeak}, timers ${timerLeak}`);
  if (!left) failures.push(`${stragglers} clients did not close after exit within 10 s`);
  if (rssGrowth > RSS_MARGIN_MIB * 1048576) failures.push(`RSS grew by ${mib(rssGrowth)} MiB (> ${RSS_MARGIN_MIB})`);
  if (audit.accepted === 0) failures.push('no message was accepted: the soak did not exercise the relay');

  const fmt = (m: Map<string, number>): string => [...m].map(([k, v]) => `${k}=${v}`).join(',');
  const faultText = Object.entries(faults).map(([k, v]) => `${k}=${v}`).join(',');
  console.log(
    `soak: ${failures.length === 0 ? 'OK' : 'FAIL'} seconds=${seconds} clients=${clientCount} connections=${after.connectionsOpened} ` +
      `sent=${counters.sent} received=${counters.received} accepted=${audit.accepted} refused=${audit.refused} ` +
      `unconfirmed=${audit.unconfirmed} excused=${audit.excused} losses=${audit.lost.length} violations=${violations} ` +
      `counted=${audit.counted} countedConnections=${audit.countedConnections} unaccounted=${audit.unaccounted.length} cutWithoutReason=${audit.cutWithoutReason} ` +
      `faults{${faultText}} exits{${fmt(counters.exits)}} errors{${fmt(counters.errors)}} ` +
      `leaks=${leaks} unhandled=${unhandled} rss_warm=${mib(rssWarm)}MiB rss_end=${mib(rssEnd)}MiB growth=${mib(rssGrowth)}MiB (limit +${RSS_MARGIN_MIB})`,
  );
  for (const f of failures) console.error(`soak: FAIL ${f}`);
  return failures.length === 0 ? 0 : 1;
}

/**
 * `--cluster`: the same clients through a 3-node cluster behind a balancer; a node is
 * killed (kill -9) every `--kill-every` seconds and started again by the launcher, and
 * Redis is restarted once. At the end: no node exited that the soak did not kill, every
 * missing accepted message is in a counted category (see {@link ClusterFaults}), and no
 * registration or pair row is left in Redis once everyone has left.
 */
async function clusterSoak(options: SoakOptions, unhandledHere: () => number): Promise<number> {
  const { seconds, clients: clientCount, seed } = options;
  const random = seededRandom(seed);
  // A signal ends the soak through process.exit, whose hook stops every process the launcher started.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  const cluster = await startCluster(options);
  console.error(
    `soak: cluster ${cluster.name}, balancer on 127.0.0.1:${cluster.port}, 3 nodes, ${clientCount} clients, ${seconds} s, ` +
      `a node killed every ${options.killEvery || '-'} s, Redis restarted ${options.redisRestartAt > 0 ? `at ${Math.round(options.redisRestartAt * 100)} %` : 'never'}`,
  );
  const faults: ClusterFaults = { kills: [], outages: [], marginMs: CLUSTER_MARGIN_MS, recoveryMs: CLUSTER_RECOVERY_MS, reapMs: CLUSTER_REAP_MS };
  const killed: string[] = [];
  let chaosStart = 0;
  let nextKill = Infinity;
  let redisAt = Infinity;
  let busy = false;
  let run: ClientRun;
  try {
    run = await runClients(options, cluster.port, random, {
      afterWarmUp: async () => {
        chaosStart = performance.now();
        if (options.killEvery > 0) nextKill = chaosStart + options.killEvery * 1000;
        if (options.redisRestartAt > 0) redisAt = chaosStart + options.redisRestartAt * seconds * 1000;
      },
      onTick: async (now) => {
        if (busy) return;
        busy = true;
        try {
          if (now >= redisAt) {
            redisAt = Infinity;
            const down = performance.now();
            await cluster.restartRedis();
            const up = performance.now();
            faults.outages.push({ down, up });
            console.error(`soak: Redis restarted at ${((down - chaosStart) / 1000).toFixed(1)} s (down ${Math.round(up - down)} ms)`);
          }
          if (now >= nextKill) {
            nextKill = now + options.killEvery * 1000;
            const at = performance.now();
            const id = cluster.killNode();
            if (id !== undefined) {
              faults.kills.push(at);
              killed.push(id);
              console.error(`soak: killed node ${id} (kill -9) at ${((at - chaosStart) / 1000).toFixed(1)} s`);
            }
          }
        } finally {
          busy = false;
        }
      },
      // Pairs with a killed node's clients end when its lease lapses: let that pass.
      quiesceMs: () => Math.max(2_000, (faults.kills.at(-1) ?? -Infinity) + CLUSTER_REAP_MS - performance.now()),
    });
  } catch (error) {
    await cluster.close();
    throw error;
  }
  const { ledger, counters, clients, faults: clientFaults, left } = run;
  const stragglers = clients.filter((c) => !c.gone).length;
  for (const c of clients) c.destroy();
  // Rows of killed nodes go when they are reaped; everyone else has left.
  let residue = { own: -1, peer: -1, free: -1 };
  const deadline = performance.now() + 20_000;
  for (;;) {
    residue = await cluster.residue().catch(() => residue);
    if ((residue.own === 0 && residue.peer === 0 && residue.free === 0) || performance.now() > deadline) break;
    await sleep(250);
  }
  const restarted = await cluster.allUp(1_000);
  const dirty = await cluster.close();

  ledger.faults = faults;
  const audit = ledger.audit();
  for (const m of audit.lost.slice(0, 10)) console.error('soak: lost', m);
  for (const u of audit.unaccounted.slice(0, 10)) console.error('soak:', u);
  // How the nodes lived through the Redis restart: closed their clients (`unavailable`) or kept them (rejoin).
  const outage = faults.outages[0];
  let closedUnavailable = 0;
  let survived = 0;
  if (outage !== undefined) {
    for (const c of ledger.connections) {
      if (c.openedAt >= outage.down) {
        continue;
      }
      if (c.exitReason === 'unavailable' && c.endedAt >= outage.down) closedUnavailable++;
      else if (c.endedAt > outage.up + CLUSTER_RECOVERY_MS && c.exitReason !== 'new session') survived++;
    }
  }
  const behaviour = outage === undefined ? 'none' : closedUnavailable > 0 ? (survived > 0 ? 'mixed' : 'closed-unavailable') : 'rejoined';
  const unhandled = unhandledHere() + cluster.unhandled.length;
  const violations =
    ledger.wrongPeer + ledger.duplicates + ledger.outOfOrder + ledger.refusedButRelayed + ledger.garbled + audit.unaccounted.length + audit.cutWithoutReason;
  const failures: string[] = [];
  if (unhandled > 0) failures.push(`${unhandled} unhandled errors (${cluster.unhandled.slice(0, 3).join(' | ')})`);
  if (cluster.crashes.length > 0) failures.push(`nodes exited that the soak did not kill: ${cluster.crashes.join(', ')}`);
  if (dirty.length > 0) failures.push(`nodes did not stop cleanly: ${dirty.join(', ')}`);
  if (audit.lost.length > 0) failures.push(`${audit.lost.length} accepted messages lost without a counted reason`);
  if (audit.unaccounted.length > 0) failures.push(`${audit.unaccounted.length} connections whose lines are not all accounted for`);
  if (audit.cutWithoutReason > 0) failures.push(`${audit.cutWithoutReason} connections cut without reading an exit line (and not by a node kill)`);
  if (violations > 0) {
    failures.push(
      `violations: wrongPeer ${ledger.wrongPeer}, duplicates ${ledger.duplicates}, outOfOrder ${ledger.outOfOrder}, refusedButRelayed ${ledger.refusedButRelayed}, garbled ${ledger.garbled}`,
    );
  }
  if (residue.own !== 0 || residue.peer !== 0 || residue.free !== 0) failures.push(`rows left in Redis after everyone left: own ${residue.own}, peer ${residue.peer}, free ${residue.free}`);
  if (!left) failures.push(`${stragglers} clients did not close after exit within 10 s`);
  if (audit.accepted === 0) failures.push('no message was accepted: the soak did not exercise the relay');

  const fmt = (m: Map<string, number> | Readonly<Record<string, number>>): string =>
    (m instanceof Map ? [...m] : Object.entries(m)).map(([k, v]) => `${k}=${v}`).join(',');
  const c = audit.cluster;
  console.log(
    `soak: ${failures.length === 0 ? 'OK' : 'FAIL'} cluster=3 seconds=${seconds} clients=${clientCount} connections=${ledger.connections.length} ` +
      `sent=${counters.sent} received=${counters.received} accepted=${audit.accepted} refused=${audit.refused} ` +
      `unconfirmed=${audit.unconfirmed} excused=${audit.excused} losses=${audit.lost.length} violations=${violations} ` +
      `counted{crashedConnections=${c.crashedConnections},toCrashedPeer=${c.toCrashedPeer},pairChanged=${c.pairChanged},redisOutage=${c.redisOutage},rateLimited=${audit.counted}} ` +
      `latestMs{${Object.entries(c.lagMs).map(([k, v]) => `${k}=${Number.isFinite(v) ? Math.round(v) : '-'}`).join(',')}} ` +
      `unaccounted=${audit.unaccounted.length} cutWithoutReason=${audit.cutWithoutReason} ` +
      `kills=${killed.length}(${killed.join(',')}) nodeCrashes=${cluster.crashes.length} allNodesUpAtEnd=${restarted} ` +
      `redisRestarts=${faults.outages.length} redisRestart=${behaviour}(closedUnavailable=${closedUnavailable},survived=${survived}) ` +
      `residue{own=${residue.own},peer=${residue.peer},free=${residue.free}} ` +
      `faults{${fmt(clientFaults)}} exits{${fmt(counters.exits)}} errors{${fmt(counters.errors)}} unhandled=${unhandled}`,
  );
  for (const f of failures) console.error(`soak: FAIL ${f}`);
  return failures.length === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
    setTimeout(() => process.exit(code), 1_000).unref();
  },
  (error: unknown) => {
    console.error('soak: failed:', error);
    process.exit(1);
  },
);
