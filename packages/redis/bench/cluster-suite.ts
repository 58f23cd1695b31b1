/**
 * `npm run bench -- --cluster`: the Redis cluster's figures, each against a baseline
 * measured in the same run (reported, never asserted). bench/index.ts imports this
 * module on demand, so the core bench runs without `@chat-roulette/redis`.
 *
 * - **relay**: P pairs on two node processes (`chat-roulette start --redis`), each
 *   pair across the nodes (half each way) against each pair on one node (half on each),
 *   same lines, same pacing (saturation, then `--rates`); lines/s per node, p99, and the
 *   nodes' CPU per line (and Redis's) from /proc.
 * - **pairing**: connect → `pair` with the waiter on the other node, against the waiter
 *   on the same node.
 * - **epoch**: N clients (`--cluster-clients`) on in-memory transports over three
 *   in-process nodes: Redis bytes per client (INFO used_memory), then the leader's
 *   epochs: the time from the boundary to the last `pair` line, and the largest
 *   single command and script Redis ran meanwhile (SLOWLOG, every command logged);
 *   against the single process's `core.nextEpoch()` for N clients.
 *
 * A private `redis-server --save ''` on a free port, stopped by its pid at the end.
 *
 * @module
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createClient } from '@redis/client';
import { RouletteCore, type Transport } from 'chat-roulette';
import type { BenchClient } from '../../../bench/client.js';
import { openClient, until } from '../../../bench/client.js';
import { epochRun } from '../../../bench/epoch.js';
import { pairingRun, type PairingRunResult } from '../../../bench/pairing.js';
import { startServer, stopChild, type Pinning, type ServerProcess } from '../../../bench/processes.js';
import { relayRun, type RelayRunResult, type RelayTarget } from '../../../bench/relay.js';
import { fmt, fmtSpread, round, spread, spreadJson, type Spread } from '../../../bench/stats.js';
import { printTable } from '../../../bench/table.js';
import { redisCluster, type RedisClusterFactory } from '../src/index.js';
import { SCRIPTS } from '../src/scripts.js';
import { startRedis, type RedisServer } from '../test/redis-server.js';

/** What the cluster bench needs from bench/index.ts. */
export interface ClusterBenchContext {
  readonly runs: number;
  readonly quick: boolean;
  readonly pairs: number;
  readonly payload: number;
  readonly rates: readonly number[];
  readonly window: number;
  readonly warmupMs: number;
  readonly measureMs: number;
  readonly pairingSamples: number;
  readonly clients: number;
  readonly epochs: number;
  readonly pin: Pinning;
  /** Arguments of our server process (`start …`), to which the cluster flags are added. */
  serverArgs(extra: readonly string[]): string[];
  log(text: string): void;
  /** 1-minute load average now. */
  load1(): number;
}

/** Placement of a relay run's pairs. */
type Placement = 'local' | 'cross';

const PAIR_DELAY_MS = 100;
/** The epoch scenario logs every Redis command that runs this long or longer, µs. */
const SLOWLOG_US = 200;

/** The script an EVAL ran (the slow log keeps the first 128 characters of its source). */
function evalName(source: string): string {
  const head = source.slice(0, 100);
  return Object.entries(SCRIPTS).find(([, text]) => text.startsWith(head))?.[0] ?? '?';
}

/** Calls and µs of scripts from INFO commandstats (since CONFIG RESETSTAT). */
function scriptStats(info: string): { calls: number; usec: number } {
  let calls = 0;
  let usec = 0;
  for (const m of info.matchAll(/^cmdstat_(evalsha|eval):calls=(\d+),usec=(\d+)/gm)) {
    calls += Number(m[2]);
    usec += Number(m[3]);
  }
  return { calls, usec };
}
const sha = (source: string): string => createHash('sha1').update(source).digest('hex');
const SCRIPT_BY_SHA = new Map(Object.entries(SCRIPTS).map(([name, source]) => [sha(source), name] as const));

/** Pins `pid` to `cpus` (no-op without pinning). */
function pinPid(pid: number, cpus: string): void {
  if (cpus !== '') spawnSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

/** Opens pair k's two ends: sender on `a`, receiver on `b`, one pair at a time so that they meet. */
async function placePairs(nodes: readonly [ServerProcess, ServerProcess], placement: Placement, pairs: number, tag: string): Promise<Array<readonly [BenchClient, BenchClient]>> {
  const out: Array<readonly [BenchClient, BenchClient]> = [];
  const opened: BenchClient[] = [];
  const open = async (node: ServerProcess, uco: string, nonce: number): Promise<BenchClient> => {
    const c = await openClient(node.host, node.port, 10_000);
    opened.push(c);
    c.uco = uco;
    c.send({ cmd: 'connect', uco, nonce });
    return c;
  };
  try {
    for (let k = 0; k < pairs; k++) {
      const a = nodes[k % 2] as ServerProcess;
      const b = placement === 'cross' ? (nodes[(k + 1) % 2] as ServerProcess) : a;
      const sender = await open(a, `${tag}s${k}`, 2 * k);
      await until(() => sender.acked !== undefined, 10_000, `${sender.uco} to be registered`);
      const receiver = await open(b, `${tag}r${k}`, 2 * k + 1);
      await until(() => sender.peer !== undefined && receiver.peer !== undefined, 10_000, `${sender.uco} and ${receiver.uco} to be paired`);
      if (sender.peer !== receiver.uco) throw new Error(`${sender.uco} was paired with ${sender.peer ?? '?'}, not ${receiver.uco}`);
      out.push([sender, receiver]);
    }
    return out;
  } catch (err) {
    for (const c of opened) c.close();
    throw err;
  }
}

interface RelayPoint {
  readonly rate: number;
  readonly runs: Record<Placement, RelayRunResult[]>;
  readonly load: number[];
}

interface EpochFigures {
  /** Boundary (`nextEpoch()` on the leader) → the last `pair` line, ms. */
  readonly lastPairMs: number;
  /** Boundary → the first `pair` line, ms. */
  readonly firstPairMs: number;
  readonly pairLines: number;
  /** The largest single command / script Redis ran during the epoch, µs, and which. */
  readonly maxCommandUs: number;
  readonly maxCommand: string;
  readonly maxScriptUs: number;
  readonly maxScript: string;
  /** Scripts Redis ran during the epoch (INFO commandstats), and their total time, ms. */
  readonly scripts: number;
  readonly scriptMs: number;
}

interface EpochPart {
  readonly clients: number;
  readonly registerSeconds: number;
  readonly bytesPerClient: number;
  readonly usedMemoryDelta: number;
  readonly epochs: EpochFigures[];
  readonly singleProcessMs: Spread;
}

const lineText = (line: string | Uint8Array): string => (typeof line === 'string' ? line : Buffer.from(line).toString('utf8'));

/** Clients on in-memory transports over three in-process nodes; Redis memory, then epochs. */
async function epochPart(c: ClusterBenchContext, redis: RedisServer): Promise<EpochPart> {
  const admin = createClient({ url: redis.url, RESP: 2 });
  admin.on('error', () => undefined);
  await admin.connect();
  const name = `be${process.pid}`;
  const nodes: Array<{ core: RouletteCore; cluster: RedisClusterFactory }> = [];
  try {
    const usedMemory = async (): Promise<number> => {
      const info = String(await admin.sendCommand(['INFO', 'memory']));
      return Number(/used_memory:(\d+)/.exec(info)?.[1]);
    };
    for (const id of ['e1', 'e2', 'e3']) {
      const cluster = redisCluster({ url: redis.url, name, nodeId: id });
      const core = new RouletteCore({
        cluster,
        maxClients: 10_000_000,
        rateLimit: Infinity,
        pingIntervalMs: 3_600_000,
        deadAfterMs: 7_200_000,
        registerTimeoutMs: 600_000,
        epochMs: 3_600_000,
      });
      core.start();
      await cluster.ready();
      nodes.push({ core, cluster });
    }
    const before = await usedMemory();
    let acks = 0;
    let pairLines = 0;
    let measuring = false;
    let epochPairs = 0;
    let firstAt = 0n;
    let lastAt = 0n;
    const transport: Transport = {
      send: (line) => {
        const text = lineText(line);
        if (text.startsWith('{"cmd":"pair"')) {
          pairLines++;
          if (measuring) {
            lastAt = process.hrtime.bigint();
            if (epochPairs++ === 0) firstAt = lastAt;
          }
        } else if (text.startsWith('{"ack"')) acks++;
        return true;
      },
      close: () => undefined,
    };
    // Register in waves, so that no node queues tens of thousands of scripts at once.
    const t0 = performance.now();
    const wave = 2_000;
    for (let i = 0; i < c.clients; i += wave) {
      for (let j = i; j < Math.min(c.clients, i + wave); j++) {
        const node = nodes[j % nodes.length] as (typeof nodes)[0];
        node.core.connect(transport).receiveLine(`{"cmd":"connect","uco":"e${j}","nonce":${j}}`);
      }
      const upTo = Math.min(c.clients, i + wave);
      await until(() => acks >= upTo, 120_000, `${upTo} registrations`);
    }
    const even = c.clients - (c.clients % 2);
    await until(() => pairLines >= even, 120_000, `${c.clients} clients to be paired`);
    const registerSeconds = (performance.now() - t0) / 1000;
    c.log(`cluster epoch: ${c.clients} clients registered and paired over 3 nodes in ${fmt(registerSeconds, 1)} s, load ${c.load1()}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const after = await usedMemory();

    await admin.sendCommand(['CONFIG', 'SET', 'slowlog-max-len', '100000']);
    const epochs: EpochFigures[] = [];
    // Epoch 0 is a warm-up (untimed): Redis compiles each script at its first EVAL.
    for (let e = -1; e < c.epochs; e++) {
      // The leader as the nodes last saw it (refreshed at every lease renewal).
      const leader = nodes.find((n) => n.cluster.stats()?.leader === n.cluster.nodeId);
      if (leader === undefined) throw new Error('no leader among the bench nodes');
      // Every command of 0.2 ms or more (with 0, the commands run inside scripts flood the log).
      await admin.sendCommand(['CONFIG', 'SET', 'slowlog-log-slower-than', String(SLOWLOG_US)]);
      await admin.sendCommand(['SLOWLOG', 'RESET']);
      await admin.sendCommand(['CONFIG', 'RESETSTAT']);
      epochPairs = 0;
      measuring = true;
      const t = process.hrtime.bigint();
      leader.core.nextEpoch();
      await until(() => epochPairs >= even, 60_000, `the epoch's ${even} pair lines`);
      // Lines still coming (there should be none): let a moment pass before reading the log.
      await new Promise((resolve) => setTimeout(resolve, 200));
      measuring = false;
      await admin.sendCommand(['CONFIG', 'SET', 'slowlog-log-slower-than', '10000']);
      const log = (await admin.sendCommand(['SLOWLOG', 'GET', '100000'])) as unknown as Array<[number, number, number, string[]]>;
      const stats = scriptStats(String(await admin.sendCommand(['INFO', 'commandstats'])));
      let maxCommandUs = 0;
      let maxCommand = '';
      let maxScriptUs = 0;
      let maxScript = '';
      const counts = new Map<string, number>();
      for (const [, , us, args] of log) {
        const cmd = String(args[0]).toUpperCase();
        const label =
          cmd === 'EVALSHA' ? `${SCRIPT_BY_SHA.get(String(args[1])) ?? '?'}` : cmd === 'EVAL' ? `${evalName(String(args[1]))} (EVAL)` : cmd;
        if (cmd === 'SLOWLOG' || cmd === 'CONFIG') continue;
        counts.set(label, (counts.get(label) ?? 0) + 1);
        if (Number(us) > maxCommandUs) {
          maxCommandUs = Number(us);
          maxCommand = label;
        }
        if (cmd === 'EVALSHA' || cmd === 'EVAL') {
          if (Number(us) > maxScriptUs) {
            maxScriptUs = Number(us);
            maxScript = label;
          }
        }
      }
      const figures: EpochFigures = {
        lastPairMs: Number(lastAt - t) / 1e6,
        firstPairMs: Number(firstAt - t) / 1e6,
        pairLines: epochPairs,
        maxCommandUs,
        maxCommand,
        maxScriptUs,
        maxScript,
        scripts: stats.calls,
        scriptMs: stats.usec / 1000,
      };
      if (e >= 0) epochs.push(figures);
      c.log(
        `cluster epoch ${e < 0 ? '(warm-up)' : e + 1}: boundary → first pair ${fmt(figures.firstPairMs, 0)} ms, → last pair ${fmt(figures.lastPairMs, 0)} ms (${figures.pairLines} pair lines); largest script ${fmt(maxScriptUs / 1000, 2)} ms (${maxScript}), largest command ${fmt(maxCommandUs / 1000, 2)} ms (${maxCommand}), ${figures.scripts} scripts in ${fmt(figures.scriptMs, 0)} ms of Redis time (slow log, ≥ ${SLOWLOG_US} µs: ${[...counts].map(([k, v]) => `${k} ${v}`).join(', ')}); load ${c.load1()}`,
      );
    }
    for (const n of nodes) n.core.stop();
    await Promise.all(nodes.map((n) => n.cluster.closed()));
    nodes.length = 0;
    c.log(`cluster epoch: single process, core.nextEpoch() with ${c.clients} clients`);
    const single = epochRun(c.clients, c.quick ? 3 : 9, 2);
    return {
      clients: c.clients,
      registerSeconds,
      usedMemoryDelta: after - before,
      bytesPerClient: (after - before) / c.clients,
      epochs,
      singleProcessMs: single.ms,
    };
  } finally {
    for (const n of nodes) n.core.stop();
    await Promise.allSettled(nodes.map((n) => n.cluster.closed()));
    await admin.close().catch(() => undefined);
  }
}

/** Runs the cluster bench, prints its tables, returns its part of the JSON line. */
export async function clusterBench(c: ClusterBenchContext): Promise<Record<string, unknown>> {
  const redis = await startRedis();
  const redisPid = redis.process.pid as number;
  pinPid(redisPid, c.pin.serverCpus);
  // An abort (the bench's watchdog, Ctrl-C) exits the process: our redis-server goes with it.
  const killRedis = (): void => {
    if (redis.process.exitCode === null && redis.process.signalCode === null) process.kill(redisPid, 'SIGKILL');
  };
  process.once('exit', killRedis);
  c.log(`cluster: redis-server (pid ${redisPid}) on 127.0.0.1:${redis.port}`);
  const skipped: Record<string, string> = {};
  let relay: RelayPoint[] = [];
  const pairing: Record<Placement, PairingRunResult[]> = { local: [], cross: [] };
  let epoch: EpochPart | undefined;
  try {
    const name = `bench${process.pid}`;
    const servers: ServerProcess[] = [];
    try {
      for (const id of ['n1', 'n2']) {
        servers.push(await startServer(c.serverArgs(['--redis', redis.url, '--cluster', name, '--node-id', id]), c.pin.serverCpus, 4_096));
      }
      const pair = servers as [ServerProcess, ServerProcess];
      const pids = servers.map((s) => s.pid);
      try {
        relay = await relayPart(c, pair, pids, redisPid);
      } catch (err) {
        skipped.relay = `failed: ${(err as Error).message}`;
        c.log(`cluster relay ${skipped.relay}`);
      }
      try {
        for (let r = 0; r < c.runs; r++) {
          for (const placement of ['local', 'cross'] as const) {
            const [a, b] = pair;
            const ta: RelayTarget = { kind: 'ours', host: a.host, port: a.port, pid: a.pid };
            const tb: RelayTarget = { kind: 'ours', host: b.host, port: b.port, pid: b.pid };
            const result = await pairingRun(ta, c.pairingSamples, placement === 'cross' ? [tb] : []);
            pairing[placement].push(result);
            c.log(`cluster pairing ${placement} run ${r + 1}: p50 ${fmt(result.p50Ms, 2)} ms, p99 ${fmt(result.p99Ms, 2)} ms, max ${fmt(result.maxMs, 2)} ms (${result.samples} samples, ${result.unexpected} unexpected), load ${c.load1()}`);
          }
        }
      } catch (err) {
        skipped.pairing = `failed: ${(err as Error).message}`;
        c.log(`cluster pairing ${skipped.pairing}`);
      }
    } finally {
      for (const s of servers) await stopChild(s.child);
    }
    try {
      epoch = await epochPart(c, redis);
    } catch (err) {
      skipped.epoch = `failed: ${(err as Error).message}`;
      c.log(`cluster epoch ${skipped.epoch}`);
    }
  } finally {
    await redis.stop();
    process.off('exit', killRedis);
  }
  report(c, relay, pairing, epoch, skipped);
  return json(c, relay, pairing, epoch, skipped);
}

async function relayPart(c: ClusterBenchContext, nodes: readonly [ServerProcess, ServerProcess], pids: number[], redisPid: number): Promise<RelayPoint[]> {
  const points: RelayPoint[] = [];
  for (const rate of [0, ...c.rates]) {
    const point: RelayPoint = { rate, runs: { local: [], cross: [] }, load: [] };
    for (let r = 0; r < c.runs; r++) {
      // Interleaved, so that drift in machine load hits both alike.
      for (const placement of ['local', 'cross'] as const) {
        const target: RelayTarget = {
          kind: 'ours',
          host: nodes[0].host,
          port: nodes[0].port,
          pid: nodes[0].pid,
          cpuPids: pids,
          auxPid: redisPid,
          connect: (pairs, tag) => placePairs(nodes, placement, pairs, tag),
        };
        const result = await relayRun(target, { pairs: c.pairs, payload: c.payload, window: c.window, warmupMs: c.warmupMs, measureMs: c.measureMs, drainMs: 5_000, rate });
        point.runs[placement].push(result);
        point.load.push(c.load1());
        c.log(
          `cluster relay ${placement.padEnd(5)} ${c.payload} B ${rate === 0 ? 'saturation' : `${rate}/s`} run ${r + 1}: ${fmt(result.msgsPerSec)} lines/s, p99 ${fmt(result.p99Us)} µs, nodes ${fmt(result.serverCpuUsPerLine, 2)} µs CPU/line, Redis ${fmt(result.auxCpuUsPerLine, 2)} µs/line, lost ${result.lost}, load ${c.load1()}`,
        );
      }
    }
    points.push(point);
  }
  return points;
}

const med = (runs: readonly RelayRunResult[], f: (r: RelayRunResult) => number): number => spread(runs.map(f)).median;
const loadRange = (values: readonly number[]): string => {
  const s = spread(values);
  return Number.isNaN(s.median) ? '-' : s.min === s.max ? fmt(s.min, 2) : `${fmt(s.min, 2)}–${fmt(s.max, 2)}`;
};

function report(c: ClusterBenchContext, relay: readonly RelayPoint[], pairing: Record<Placement, PairingRunResult[]>, epoch: EpochPart | undefined, skipped: Record<string, string>): void {
  const runsNote = `median [min–max] of ${c.runs} run(s)`;
  if (relay.length > 0) {
    const rows: string[][] = [];
    for (const pt of relay) {
      for (const placement of ['local', 'cross'] as const) {
        const runs = pt.runs[placement];
        const s = (f: (r: RelayRunResult) => number): Spread => spread(runs.map(f));
        rows.push([
          pt.rate === 0 ? 'saturation' : `${fmt(pt.rate, 0)}/s`,
          placement === 'local' ? 'local (on one node)' : 'cross-node',
          fmtSpread(s((r) => r.msgsPerSec / 2), 0),
          fmt(s((r) => r.p50Us).median, 0),
          fmtSpread(s((r) => r.p99Us), 0),
          fmtSpread(s((r) => r.serverCpuUsPerLine), 2),
          fmt(s((r) => r.auxCpuUsPerLine).median, 2),
          fmt(s((r) => r.serverCpuPct).median, 0),
          fmt(s((r) => r.generatorCpuPct).median, 0),
          fmt(runs.reduce((a, r) => a + r.lost, 0), 0),
        ]);
      }
      const l = pt.runs.local;
      const x = pt.runs.cross;
      rows.push([
        '',
        'cross/local',
        `${fmt((med(x, (r) => r.msgsPerSec) / med(l, (r) => r.msgsPerSec)) * 100, 0)} %`,
        '',
        `${fmt(med(x, (r) => r.p99Us) / med(l, (r) => r.p99Us), 2)} ×`,
        `${fmt(med(x, (r) => r.serverCpuUsPerLine) / med(l, (r) => r.serverCpuUsPerLine), 2)} ×`,
        '',
        '',
        '',
        '',
      ]);
    }
    printTable(
      `cluster relay, ${c.payload} B lines, ${c.pairs} pairs over 2 node processes (local: each pair on one node, half on each; cross-node: each pair spans the nodes, half each way; saturation: W=${c.window} in flight per sender; paced: lines/s offered in total); ${c.measureMs} ms window; ${runsNote}; load average ${loadRange(relay.flatMap((p) => p.load))}`,
      ['load', 'pairs placed', 'lines/s per node', 'p50 µs', 'p99 µs', 'nodes CPU µs/line', 'Redis CPU µs/line', 'nodes CPU%', 'gen CPU%', 'lost'],
      rows,
    );
  }
  if (pairing.local.length > 0 || pairing.cross.length > 0) {
    const row = (label: string, runs: readonly PairingRunResult[]): string[] => [
      label,
      String(runs.reduce((a, r) => a + r.samples, 0)),
      fmtSpread(spread(runs.map((r) => r.p50Ms)), 2),
      fmtSpread(spread(runs.map((r) => r.p99Ms)), 2),
      fmt(Math.max(...runs.map((r) => r.maxMs)), 2),
      fmt(spread(runs.map((r) => r.ackP50Ms)).median, 2),
      String(runs.reduce((a, r) => a + r.unexpected, 0)),
    ];
    printTable(`cluster pairing (connect → pair with a free client waiting; ${runsNote})`, ['waiter', 'samples', 'p50 ms', 'p99 ms', 'max ms', 'ack p50 ms', 'unexpected'], [
      row('same node', pairing.local),
      row('other node', pairing.cross),
    ]);
  }
  if (epoch !== undefined) {
    const e = epoch.epochs;
    const s = (f: (x: EpochFigures) => number): Spread => spread(e.map(f));
    const maxScript = e.reduce((a, x) => (x.maxScriptUs > a.maxScriptUs ? x : a), e[0] as EpochFigures);
    const maxCmd = e.reduce((a, x) => (x.maxCommandUs > a.maxCommandUs ? x : a), e[0] as EpochFigures);
    printTable(
      `cluster epoch (${epoch.clients} clients on in-memory transports over 3 in-process nodes, one private Redis; ${e.length} epoch(s), median [min–max]; the single process: core.nextEpoch() in process)`,
      ['figure', 'cluster', 'single process'],
      [
        ['boundary → last pair, ms', fmtSpread(s((x) => x.lastPairMs), 0), fmtSpread(epoch.singleProcessMs, 1)],
        ['boundary → first pair, ms', fmtSpread(s((x) => x.firstPairMs), 0), ''],
        ['pair lines per epoch', fmtSpread(s((x) => x.pairLines), 0), ''],
        ['largest single script, ms', `${fmt(maxScript.maxScriptUs / 1000, 2)} (${maxScript.maxScript})`, ''],
        ['largest single command, ms', `${fmt(maxCmd.maxCommandUs / 1000, 2)} (${maxCmd.maxCommand})`, ''],
        ['scripts per epoch (Redis ms in scripts)', `${fmtSpread(s((x) => x.scripts), 0)} (${fmtSpread(s((x) => x.scriptMs), 0)})`, ''],
        ['Redis bytes per client (paired)', fmt(epoch.bytesPerClient, 0), ''],
        ['register + pair everyone, s', fmt(epoch.registerSeconds, 1), ''],
      ],
    );
  }
  const targets: Array<[string, number, string, boolean | null]> = [];
  const pr = spread(pairing.cross.map((r) => r.p99Ms)).median;
  targets.push(['connect → pair p99 across nodes', pr, `≤ ${PAIR_DELAY_MS + 5} ms`, Number.isNaN(pr) ? null : pr <= PAIR_DELAY_MS + 5]);
  if (epoch !== undefined && epoch.clients >= 50_000) {
    const last = spread(epoch.epochs.map((x) => x.lastPairMs)).median;
    const script = Math.max(...epoch.epochs.map((x) => x.maxScriptUs)) / 1000;
    targets.push(['epoch at 50 000: boundary → last pair', last, '≤ 2000 ms', last <= 2000]);
    targets.push(['epoch at 50 000: largest single script', script, '≤ 5 ms', script <= 5]);
  } else {
    targets.push(['epoch at 50 000', NaN, `n/a (${epoch === undefined ? 'not measured' : `${epoch.clients} clients`})`, null]);
  }
  if (epoch !== undefined) targets.push(['Redis bytes per client', epoch.bytesPerClient, '≤ 400 B', epoch.bytesPerClient <= 400]);
  printTable("cluster targets (the design's acceptance checks, reported, not asserted)", ['target', 'measured', 'limit', 'met'], targets.map(([n, v, l, m]) => [n, fmt(v, 2), l, m === null ? 'n/a' : m ? 'yes' : 'NO']));
  for (const [name, why] of Object.entries(skipped)) console.log(`\ncluster ${name}: ${why}`);
}

function json(c: ClusterBenchContext, relay: readonly RelayPoint[], pairing: Record<Placement, PairingRunResult[]>, epoch: EpochPart | undefined, skipped: Record<string, string>): Record<string, unknown> {
  const relaySpread = (runs: readonly RelayRunResult[]): Record<string, unknown> => ({
    linesPerSecPerNode: spreadJson(spread(runs.map((r) => r.msgsPerSec / 2))),
    p50Us: spreadJson(spread(runs.map((r) => r.p50Us))),
    p99Us: spreadJson(spread(runs.map((r) => r.p99Us))),
    nodesCpuUsPerLine: spreadJson(spread(runs.map((r) => r.serverCpuUsPerLine))),
    redisCpuUsPerLine: spreadJson(spread(runs.map((r) => r.auxCpuUsPerLine))),
    lost: runs.reduce((a, r) => a + r.lost, 0),
    errors: runs.reduce((a, r) => a + r.errors + r.outOfOrder + r.corrupt, 0),
    shed: runs.reduce((a, r) => a + r.shed, 0),
  });
  const pairingJson = (runs: readonly PairingRunResult[]): Record<string, unknown> | null =>
    runs.length === 0
      ? null
      : {
          samples: runs.reduce((a, r) => a + r.samples, 0),
          p50Ms: spreadJson(spread(runs.map((r) => r.p50Ms))),
          p99Ms: spreadJson(spread(runs.map((r) => r.p99Ms))),
          maxMs: round(Math.max(...runs.map((r) => r.maxMs))),
          unexpected: runs.reduce((a, r) => a + r.unexpected, 0),
        };
  return {
    pairs: c.pairs,
    payload: c.payload,
    window: c.window,
    relay: relay.map((pt) => ({
      rate: pt.rate,
      local: relaySpread(pt.runs.local),
      cross: relaySpread(pt.runs.cross),
      ratioLinesPerSec: round(med(pt.runs.cross, (r) => r.msgsPerSec) / med(pt.runs.local, (r) => r.msgsPerSec)),
      ratioP99: round(med(pt.runs.cross, (r) => r.p99Us) / med(pt.runs.local, (r) => r.p99Us)),
      ratioCpuPerLine: round(med(pt.runs.cross, (r) => r.serverCpuUsPerLine) / med(pt.runs.local, (r) => r.serverCpuUsPerLine)),
      load1: pt.load,
    })),
    pairing: { sameNode: pairingJson(pairing.local), otherNode: pairingJson(pairing.cross) },
    epoch:
      epoch === undefined
        ? null
        : {
            clients: epoch.clients,
            registerSeconds: round(epoch.registerSeconds),
            redisBytesPerClient: round(epoch.bytesPerClient, 0),
            usedMemoryDelta: epoch.usedMemoryDelta,
            lastPairMs: spreadJson(spread(epoch.epochs.map((x) => x.lastPairMs))),
            firstPairMs: spreadJson(spread(epoch.epochs.map((x) => x.firstPairMs))),
            maxScriptMs: round(Math.max(...epoch.epochs.map((x) => x.maxScriptUs)) / 1000),
            maxScript: epoch.epochs.reduce((a, x) => (x.maxScriptUs > a.maxScriptUs ? x : a), epoch.epochs[0] as EpochFigures)?.maxScript,
            maxCommandMs: round(Math.max(...epoch.epochs.map((x) => x.maxCommandUs)) / 1000),
            maxCommand: epoch.epochs.reduce((a, x) => (x.maxCommandUs > a.maxCommandUs ? x : a), epoch.epochs[0] as EpochFigures)?.maxCommand,
            epochs: epoch.epochs.length,
            singleProcessMs: spreadJson(epoch.singleProcessMs),
          },
    skipped,
  };
}
