/**
 * `npm run bench`: the chat-roulette benchmark suite. See bench/README.md.
 *
 * Scenarios: epoch and scan (in process), relay (ours vs a raw TCP relay baseline, at
 * saturation and at paced loads, one table per line size), fairness under flood,
 * pairing latency, idle scale (ours vs a bare `net` server, with the slope). Servers
 * run as separate processes, pinned away from the generator when `taskset` allows.
 * Prints tables, writes SVG pictures, then one JSON line `{"bench":"chat-roulette",…}`.
 *
 * @module
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs, USAGE, type BenchOptions } from './args.js';
import { epochRun, type EpochResult } from './epoch.js';
import { fairnessRun, type FairnessResult } from './fairness.js';
import { idleRun, type IdleResult } from './idle.js';
import { pairingRun, type PairingRunResult } from './pairing.js';
import {
  killAllChildren,
  pinSelf,
  planPinning,
  ROOT,
  SCRIPT_EXT,
  SOURCE_FLAGS,
  startServer,
  stopChild,
  type Pinning,
  type ServerProcess,
} from './processes.js';
import { relayRun, type RelayRunResult, type ServerKind } from './relay.js';
import { scanRun, type ScanResult } from './scan.js';
import { fmt, fmtSpread, round, spread, spreadJson, type Spread } from './stats.js';
import { barChart, leastSquares, lineChart } from './svg.js';
import { printTable } from './table.js';

/** PROTOCOL §8 default the pairing target refers to. */
const PAIR_DELAY_MS = 100;
const PING_MS = 1_000;
/** Long enough that no epoch boundary falls inside a run. */
const EPOCH_MS = 3_600_000;

interface RelayPoint {
  readonly pairs: number;
  readonly payload: number;
  /** Offered lines/s (paced), 0 for saturation. */
  readonly rate: number;
  /** The `--rates` level this point belongs to (0: saturation). */
  readonly level: number;
  readonly runs: Record<ServerKind, RelayRunResult[]>;
  /** 1-minute load average read after each run. */
  readonly load: number[];
}

interface IdlePoint {
  readonly clients: number;
  readonly ours: IdleResult[];
  readonly bare: IdleResult[];
  readonly load: number[];
}

type IdleOk = Extract<IdleResult, { skipped: false }>;
const okRuns = (runs: readonly IdleResult[]): IdleOk[] => runs.filter((r): r is IdleOk => !r.skipped);

interface Target {
  readonly name: string;
  readonly value: number;
  readonly limit: number;
  readonly unit: string;
  /** true / false, or null when not measured. */
  readonly met: boolean | null;
  readonly note: string;
}

function cliEntry(o: BenchOptions): string[] {
  return o.server === 'build'
    ? [join(ROOT, 'dist/cli/main.js')]
    : ['--conditions=source', '--import', 'tsx', join(ROOT, 'src/cli/main.ts')];
}

/**
 * Policy limits the server may have beyond PROTOCOL §9, turned off where the CLI has
 * them (read from `start --help`): a per-connection rate limit would cap the relay
 * scenario at the limit, and a per-address connection cap would refuse the idle
 * clients, which all come from 127.0.0.1.
 */
interface LimitFlags {
  /** For every scenario. */
  readonly all: readonly string[];
  /** For the relay scenario only. */
  readonly relay: readonly string[];
}

function limitFlags(o: BenchOptions): LimitFlags {
  const help = spawnSync(process.execPath, [...cliEntry(o), 'start', '--help'], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  const text = help.stdout ?? '';
  const off = (flag: string): string[] => (text.includes(`--${flag}`) && text.includes("'off'") ? [`--${flag}`, 'off'] : []);
  return { all: off('max-connections-per-address'), relay: off('rate-limit') };
}

function ourServerArgs(o: BenchOptions, extra: readonly string[] = []): string[] {
  const entry = cliEntry(o);
  const profile = o.profileDir === '' ? [] : ['--cpu-prof', '--cpu-prof-dir', o.profileDir];
  return [...o.serverNodeFlags, ...profile, ...entry, 'start', '--host', '127.0.0.1', '--port', '0', '--epoch-ms', String(EPOCH_MS), '--quiet', ...extra];
}

function baselineArgs(name = 'baseline-server'): string[] {
  const script = fileURLToPath(new URL(`./${name}${SCRIPT_EXT}`, import.meta.url));
  return [...SOURCE_FLAGS, script, '--host', '127.0.0.1', '--port', '0'];
}

function serverAvailable(o: BenchOptions): string | undefined {
  const path = join(ROOT, o.server === 'build' ? 'dist/cli/main.js' : 'src/cli/main.ts');
  return existsSync(path) ? undefined : `${path} does not exist${o.server === 'build' ? ' (run npm run build)' : ''}`;
}

const loadNow = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const load1 = (): number => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
const loadRange = (values: readonly number[]): string => {
  const s = spread(values);
  return Number.isNaN(s.median) ? '-' : s.min === s.max ? fmt(s.min, 2) : `${fmt(s.min, 2)}–${fmt(s.max, 2)}`;
};
const loadLabel = (rate: number): string => (rate === 0 ? 'saturation' : `${fmt(rate, 0)}/s`);
/**
 * The paced load offered for `payload`-byte lines at level `rate` (lines/s): the rate
 * itself up to 1 KiB lines, the same bytes/s as 1 KiB lines beyond (100 000 lines/s
 * of 16 KiB would be 1.6 GB/s, more than the loopback pipe itself carries here).
 */
const pacedRate = (rate: number, payload: number): number => (payload <= 1024 ? rate : Math.round((rate * 1024) / payload));

const log = (text: string): void => {
  process.stderr.write(`${text}\n`);
};

// ── scenarios ──────────────────────────────────────────────────────────────────

function runEpoch(o: BenchOptions): EpochResult[] {
  const out: EpochResult[] = [];
  for (const n of o.epochSizes) {
    log(`epoch: ${n} clients`);
    out.push(epochRun(n, o.epochRepetitions, 2));
  }
  return out;
}

function runScan(o: BenchOptions): ScanResult[] {
  return o.payloads.map((payload) => {
    log(`scan: ${payload} B lines`);
    return scanRun(payload, o.quick ? 3 : 7);
  });
}

async function runRelay(o: BenchOptions, pin: Pinning, limits: LimitFlags): Promise<RelayPoint[]> {
  const ours = await startServer(ourServerArgs(o, [...limits.all, ...limits.relay]), pin.serverCpus, 4_096);
  let base: ServerProcess | undefined;
  try {
    base = await startServer(baselineArgs(), pin.serverCpus, 4_096);
    const servers: Record<ServerKind, ServerProcess> = { ours, baseline: base };
    const points: RelayPoint[] = [];
    for (const payload of o.payloads) {
      for (const pairs of o.pairs) {
        for (const level of [0, ...o.rates]) {
          const rate = pacedRate(level, payload);
          const point: RelayPoint = { pairs, payload, rate, level, runs: { ours: [], baseline: [] }, load: [] };
          for (let r = 0; r < o.runs; r++) {
            // Interleaved, so that drift in machine load hits both alike.
            for (const kind of ['ours', 'baseline'] as const) {
              const s = servers[kind];
              const result = await relayRun(
                { kind, host: s.host, port: s.port, pid: s.pid },
                { pairs, payload, window: o.window, warmupMs: o.warmupMs, measureMs: o.measureMs, drainMs: 5_000, rate },
              );
              point.runs[kind].push(result);
              point.load.push(load1());
              log(
                `relay ${kind.padEnd(8)} P=${pairs} ${payload} B ${loadLabel(rate)} run ${r + 1}: ${fmt(result.msgsPerSec)} msg/s, p99 ${fmt(result.p99Us)} µs, server ${fmt(result.serverCpuUsPerLine, 2)} µs CPU/line (${fmt(result.serverCpuPct, 0)} %), lost ${result.lost}, generator CPU ${fmt(result.generatorCpuPct, 0)} %, machine ${fmt(result.machineCpuPct, 0)} %, load ${loadNow()}${result.errors > 0 ? `, ${result.errors} error lines` : ''}`,
              );
            }
          }
          points.push(point);
        }
      }
    }
    return points;
  } finally {
    await stopChild(ours.child);
    if (base !== undefined) await stopChild(base.child);
  }
}

async function runFairness(o: BenchOptions, pin: Pinning, limits: LimitFlags): Promise<{ runs: FairnessResult[]; load: number[] }> {
  const runs: FairnessResult[] = [];
  const load: number[] = [];
  for (let r = 0; r < o.runs; r++) {
    // A fresh server per run: the quiet pair's "idle" window must follow no flood.
    const server = await startServer(ourServerArgs(o, [...limits.all, ...limits.relay]), pin.serverCpus, 4_096);
    try {
      const result = await fairnessRun(
        server,
        { floodPairs: o.floodPairs, floodPayload: 1024, window: o.window, probeMs: o.fairnessMs, generatorCpus: pin.enabled ? pin.generatorCpus : '' },
        `f${r}x`,
      );
      runs.push(result);
      load.push(load1());
      log(
        `fairness run ${r + 1}: quiet pair p99 ${fmt(result.idle.p99Us)} µs idle, ${fmt(result.flooded.p99Us)} µs under a flood of ${fmt(result.flood.msgsPerSec)} msg/s (${fmt(result.p99Ratio, 2)} ×), server CPU ${fmt(result.flooded.serverCpuPct, 0)} % (waiting for its CPU ${fmt(result.flooded.serverWaitPct, 1)} %), load ${loadNow()}`,
      );
    } finally {
      await stopChild(server.child);
    }
  }
  return { runs, load };
}

async function runPairing(o: BenchOptions, pin: Pinning, limits: LimitFlags): Promise<PairingRunResult[]> {
  const args = ourServerArgs(o, [...limits.all, '--pair-delay-ms', String(PAIR_DELAY_MS)]);
  const server = await startServer(args, pin.serverCpus, 4_096);
  try {
    const runs: PairingRunResult[] = [];
    for (let r = 0; r < o.runs; r++) {
      const result = await pairingRun({ kind: 'ours', host: server.host, port: server.port, pid: server.pid }, o.pairingSamples);
      log(`pairing run ${r + 1}: p50 ${fmt(result.p50Ms, 2)} ms, p99 ${fmt(result.p99Ms, 2)} ms (${result.samples} samples)`);
      runs.push(result);
    }
    return runs;
  } finally {
    await stopChild(server.child);
  }
}

async function runIdle(o: BenchOptions, pin: Pinning, limits: LimitFlags): Promise<IdlePoint[]> {
  const out: IdlePoint[] = [];
  for (const n of o.idle) {
    const point: IdlePoint = { clients: n, ours: [], bare: [], load: [] };
    for (let r = 0; r < o.idleRuns; r++) {
      for (const kind of ['ours', 'bare'] as const) {
        log(`idle ${kind}: ${n} clients, run ${r + 1}`);
        // A failed point (a timeout on a loaded machine) is reported, not the end of the scenario.
        const result: IdleResult = await idleRun({
          clients: n,
          kind,
          serverArgs: kind === 'ours' ? ourServerArgs(o, [...limits.all, '--ping-ms', String(PING_MS)]) : [...baselineArgs('bare-server'), ...(o.barePings ? ['--ping-ms', String(PING_MS)] : [])],
          pingMs: PING_MS,
          pings: kind === 'ours' || o.barePings,
          settleMs: o.idleSettleMs,
          windowMs: o.idleWindowMs,
          pin,
        }).catch((err: unknown) => ({ clients: n, kind, skipped: true as const, reason: `failed: ${(err as Error).message.slice(0, 300)}` }));
        point[kind].push(result);
        point.load.push(load1());
        if (result.skipped) {
          log(`idle ${kind} ${n}: skipped: ${result.reason}`);
          continue;
        }
        log(
          `idle ${kind} ${n}: RSS +${fmt(result.rssAfterKiB - result.rssBeforeKiB, 0)} KiB (${fmt(result.rssPerClientBytes, 0)} B per client), ${Number.isNaN(result.cpuPerRoundMs) ? '' : `${fmt(result.cpuPerRoundMs, 2)} ms CPU per ping round, `}${result.openAtEnd} open, load ${loadNow()}`,
        );
      }
    }
    out.push(point);
    // An open-files limit will not change for a larger point.
    if ([...point.ours, ...point.bare].some((r) => r.skipped && r.reason.includes('open-files limit'))) break;
  }
  return out;
}

/** Marginal bytes per client (least squares over the points' medians) and the fixed cost. */
interface IdleFit {
  /** Slope of RSS growth against clients, B/client. */
  readonly slope: number;
  /** Intercept of that line: RSS growth not proportional to clients, KiB. */
  readonly interceptKiB: number;
  /** Median RSS of the server before any client, KiB. */
  readonly emptyKiB: number;
  readonly points: number;
}

function idleFit(points: readonly IdlePoint[], kind: 'ours' | 'bare'): IdleFit {
  const xy: [number, number][] = [];
  const empty: number[] = [];
  for (const pt of points) {
    const ok = okRuns(pt[kind]);
    if (ok.length === 0) continue;
    xy.push([pt.clients, spread(ok.map((r) => (r.rssAfterKiB - r.rssBeforeKiB) * 1024)).median]);
    empty.push(...ok.map((r) => r.rssBeforeKiB));
  }
  const { slope, intercept } = leastSquares(xy);
  return { slope, interceptKiB: intercept / 1024, emptyKiB: spread(empty).median, points: xy.length };
}

// ── report ─────────────────────────────────────────────────────────────────────

function relaySpreads(runs: readonly RelayRunResult[]): Record<string, Spread> {
  const pick = (f: (r: RelayRunResult) => number): Spread => spread(runs.map(f));
  return {
    msgsPerSec: pick((r) => r.msgsPerSec),
    mbPerSec: pick((r) => r.mbPerSec),
    p50Us: pick((r) => r.p50Us),
    p99Us: pick((r) => r.p99Us),
    p999Us: pick((r) => r.p999Us),
    maxUs: pick((r) => r.maxUs),
    cpuUsPerLine: pick((r) => r.serverCpuUsPerLine),
    lost: pick((r) => r.lost),
    serverCpuPct: pick((r) => r.serverCpuPct),
    generatorCpuPct: pick((r) => r.generatorCpuPct),
    machineCpuPct: pick((r) => r.machineCpuPct),
  };
}

function main(): Promise<void> | void {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(USAGE);
    return;
  }
  let o: BenchOptions;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`bench: ${(err as Error).message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  return run(o);
}

async function run(o: BenchOptions): Promise<void> {
  const watchdog = setTimeout(() => {
    log(`bench: still running after ${o.maxMinutes} min: killing our child processes and giving up`);
    killAllChildren();
    process.exit(1);
  }, o.maxMinutes * 60_000);
  watchdog.unref();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killAllChildren();
      process.exit(130);
    });
  }
  if (o.profileDir !== '') mkdirSync(o.profileDir, { recursive: true });

  const pin = planPinning(o.pin);
  if (pin.enabled && !pinSelf(pin.generatorCpus)) log('bench: could not pin the generator');
  log(`bench: ${pin.note}; ${o.runs} run(s) per point${o.quick ? ' (quick)' : ''}`);
  const loadBefore = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

  const missing = serverAvailable(o);
  const skipped: Record<string, string> = {};
  const wants = (s: 'relay' | 'fairness' | 'pairing' | 'idle'): boolean => {
    if (!o.only.has(s)) return false;
    if (missing !== undefined) skipped[s] = `server not available: ${missing}`;
    return missing === undefined;
  };

  if (o.cluster) {
    if (missing !== undefined) throw new Error(`bench --cluster: server not available: ${missing}`);
    process.exitCode = await runCluster(o, pin, limitFlags(o), loadBefore, pkg.version);
    clearTimeout(watchdog);
    return;
  }
  const epoch = o.only.has('epoch') ? runEpoch(o) : [];
  const scan = o.only.has('scan') ? runScan(o) : [];
  let relay: RelayPoint[] = [];
  let fairness: { runs: FairnessResult[]; load: number[] } = { runs: [], load: [] };
  let pairing: PairingRunResult[] = [];
  let idle: IdlePoint[] = [];
  const attempt = async <T>(name: string, f: () => Promise<T>, fallback: T): Promise<T> => {
    try {
      return await f();
    } catch (err) {
      skipped[name] = `failed: ${(err as Error).message}`;
      log(`bench: ${name} ${skipped[name]}`);
      return fallback;
    }
  };
  const limits: LimitFlags = missing === undefined ? limitFlags(o) : { all: [], relay: [] };
  const limitNote = [...limits.all, ...limits.relay].length === 0 ? '' : `; server limits turned off: ${[
    ...limits.relay.map((f) => `${f} (relay and fairness only)`),
    ...limits.all,
  ].filter((f) => f.startsWith('--')).join(', ')}`;
  if (limitNote !== '') log(`bench${limitNote}`);
  if (wants('relay')) relay = await attempt('relay', () => runRelay(o, pin, limits), []);
  if (wants('fairness')) fairness = await attempt('fairness', () => runFairness(o, pin, limits), fairness);
  if (wants('pairing')) pairing = await attempt('pairing', () => runPairing(o, pin, limits), []);
  if (wants('idle')) idle = await attempt('idle', () => runIdle(o, pin, limits), []);

  // Tables.
  const runsNote = `median [min–max] of ${o.runs} run(s)`;
  const nodeFlagsNote = o.serverNodeFlags.length === 0 ? '' : `, our server's node flags: ${o.serverNodeFlags.join(' ')}`;
  console.log(
    `chat-roulette bench — ${new Date().toISOString()}, node ${process.version}, ${pin.cpus} CPUs (${cpuModel()}), ${pin.note}, server from ${o.server}${nodeFlagsNote}${limitNote}; load average ${loadBefore} before, ${loadNow()} after`,
  );
  if (scan.length > 0) {
    printTable('scan (in process: validating one relayed comm line; median of the timed batches)', [
      'line',
      'JSON.parse(toString) ns',
      'scanComm ns',
      'speed-up',
      'accepted',
    ], scan.map((r) => [`${r.payload} B`, fmt(r.parseNs, 0), fmt(r.scanNs, 0), `${fmt(r.parseNs / r.scanNs, 2)} ×`, r.accepted ? 'yes' : 'NO']));
  }
  const med = (runs: readonly RelayRunResult[], f: (r: RelayRunResult) => number): number => spread(runs.map(f)).median;
  for (const payload of o.payloads) {
    const pts = relay.filter((pt) => pt.payload === payload);
    if (pts.length === 0) continue;
    const rows: string[][] = [];
    for (const pt of pts) {
      for (const kind of ['ours', 'baseline'] as const) {
        const s = relaySpreads(pt.runs[kind]);
        rows.push([
          String(pt.pairs),
          loadLabel(pt.rate),
          kind,
          fmtSpread(s.msgsPerSec as Spread, 0),
          fmt((s.mbPerSec as Spread).median, 1),
          fmt((s.p50Us as Spread).median, 0),
          fmtSpread(s.p99Us as Spread, 0),
          fmt((s.p999Us as Spread).median, 0),
          fmtSpread(s.cpuUsPerLine as Spread, 2),
          fmt((s.serverCpuPct as Spread).median, 0),
          fmt((s.generatorCpuPct as Spread).median, 0),
          fmt((s.machineCpuPct as Spread).median, 0),
          fmt(pt.runs[kind].reduce((a, r) => a + r.lost, 0), 0),
        ]);
      }
      const o1 = pt.runs.ours;
      const b1 = pt.runs.baseline;
      rows.push([
        '',
        '',
        'ours/base',
        `${fmt((med(o1, (r) => r.msgsPerSec) / med(b1, (r) => r.msgsPerSec)) * 100, 0)} %`,
        '',
        '',
        `${fmt(med(o1, (r) => r.p99Us) / med(b1, (r) => r.p99Us), 2)} ×`,
        '',
        `${fmt(med(o1, (r) => r.serverCpuUsPerLine) / med(b1, (r) => r.serverCpuUsPerLine), 2)} ×`,
        '',
        '',
        '',
        '',
      ]);
    }
    printTable(
      `relay, ${payload} B lines (saturation: W=${o.window} in flight per sender; paced: lines/s offered in total, the same bytes/s as 1 KiB lines above 1 KiB; ${o.measureMs} ms window; ${runsNote}; load average ${loadRange(pts.flatMap((p) => p.load))})`,
      ['pairs', 'load', 'server', 'msgs/s', 'MB/s', 'p50 µs', 'p99 µs', 'p999 µs', 'srv CPU µs/line', 'srv CPU%', 'gen CPU%', 'box CPU%', 'lost'],
      rows,
    );
  }
  if (fairness.runs.length > 0) {
    const f = fairness.runs;
    const row = (name: string, pick: (r: FairnessResult) => FairnessResult['idle']): string[] => [
      name,
      String(f.reduce((a, r) => a + pick(r).samples, 0)),
      fmtSpread(spread(f.map((r) => pick(r).p50Us)), 0),
      fmtSpread(spread(f.map((r) => pick(r).p99Us)), 0),
      fmt(Math.max(...f.map((r) => pick(r).maxUs)), 0),
      fmt(spread(f.map((r) => pick(r).serverCpuPct)).median, 0),
      fmt(spread(f.map((r) => pick(r).serverWaitPct)).median, 1),
    ];
    printTable(
      `fairness (a quiet pair's round trip, one 64 B-ish line at a time, on an idle server, then while ${o.floodPairs} pairs flood 1 KiB lines at saturation: ${fmt(spread(f.map((r) => r.flood.msgsPerSec)).median, 0)} msg/s; ${runsNote}; load average ${loadRange(fairness.load)})`,
      ['server', 'samples', 'p50 µs', 'p99 µs', 'max µs', 'srv CPU%', 'srv wait%'],
      [
        row('idle', (r) => r.idle),
        row('flooded', (r) => r.flooded),
        ['flooded/idle', '', '', `${fmt(spread(f.map((r) => r.p99Ratio)).median, 2)} ×`, '', '', ''],
      ],
    );
  }
  if (pairing.length > 0) {
    const p50 = spread(pairing.map((r) => r.p50Ms));
    const p99 = spread(pairing.map((r) => r.p99Ms));
    printTable(`pairing (connect → pair with a free peer waiting, pairDelayMs=${PAIR_DELAY_MS}; ${runsNote})`, [
      'samples',
      'p50 ms',
      'p99 ms',
      'max ms',
      'ack p50 ms',
      'unexpected',
    ], [[
      String(pairing.reduce((a, r) => a + r.samples, 0)),
      fmtSpread(p50, 2),
      fmtSpread(p99, 2),
      fmt(Math.max(...pairing.map((r) => r.maxMs)), 2),
      fmt(spread(pairing.map((r) => r.ackP50Ms)).median, 2),
      String(pairing.reduce((a, r) => a + r.unexpected, 0)),
    ]]);
  }
  const fits = { ours: idleFit(idle, 'ours'), bare: idleFit(idle, 'bare') };
  if (idle.length > 0) {
    const cell = (runs: readonly IdleResult[], f: (r: IdleOk) => number, digits = 0): string => {
      const ok = okRuns(runs);
      if (ok.length === 0) {
        const why = runs.find((r): r is Extract<IdleResult, { skipped: true }> => r.skipped)?.reason;
        return why === undefined ? '-' : 'skipped';
      }
      return fmtSpread(spread(ok.map(f)), digits);
    };
    const rows = idle.map((pt) => [
      String(pt.clients),
      cell(pt.ours, (r) => (r.rssAfterKiB - r.rssBeforeKiB) / 1024, 1),
      cell(pt.bare, (r) => (r.rssAfterKiB - r.rssBeforeKiB) / 1024, 1),
      cell(pt.ours, (r) => r.rssPerClientBytes),
      cell(pt.bare, (r) => r.rssPerClientBytes),
      cell(pt.ours, (r) => r.cpuPerRoundMs, 2),
      cell(pt.bare, (r) => r.cpuPerRoundMs, 2),
      cell(pt.ours, (r) => (r.cpuPerRoundMs * 1000) / r.clients, 2),
      `${cell(pt.ours, (r) => r.openAtEnd)} / ${cell(pt.bare, (r) => r.openAtEnd)}`,
      loadRange(pt.load),
    ]);
    for (const pt of idle) {
      for (const r of [...pt.ours, ...pt.bare]) if (r.skipped) skipped[`idle ${r.kind} ${r.clients}`] = `skipped: ${r.reason}`;
    }
    printTable(`idle scale (ours: registered clients answering pings every ${PING_MS} ms; bare: a Node net server holding connected sockets${o.barePings ? `, pinging them every ${PING_MS} ms (they answer)` : ', silent'}; RSS growth after ${o.idleSettleMs} ms settled; median [min–max] of ${o.idleRuns} run(s))`, [
      'clients',
      'ours +MiB',
      'bare +MiB',
      'ours B/client',
      'bare B/client',
      'ours CPU ms/round',
      'bare CPU ms/round',
      'ours CPU µs/client/round',
      'open ours/bare',
      'load avg',
    ], rows);
    printTable('idle fit (least squares of RSS growth against clients over the points above)', [
      'server',
      'slope B/client',
      'fixed cost KiB (intercept)',
      'empty server RSS KiB',
      'points',
    ], [
      ['ours', fmt(fits.ours.slope, 0), fmt(fits.ours.interceptKiB, 0), fmt(fits.ours.emptyKiB, 0), String(fits.ours.points)],
      ['bare', fmt(fits.bare.slope, 0), fmt(fits.bare.interceptKiB, 0), fmt(fits.bare.emptyKiB, 0), String(fits.bare.points)],
      ['ours/bare', `${fmt(fits.ours.slope / fits.bare.slope, 2)} ×`, '', '', ''],
    ]);
  }
  if (epoch.length > 0) {
    printTable(`epoch (core.nextEpoch() in process, no-op transports; median [min–max] of ${o.epochRepetitions})`, [
      'clients',
      'ms',
      'pair lines',
    ], epoch.map((e) => [String(e.clients), fmtSpread(e.ms, 2), String(e.pairLinesPerEpoch)]));
  }
  for (const [name, why] of Object.entries(skipped)) console.log(`\n${name}: ${why}`);

  // Targets (issue 14).
  const targets: Target[] = [];
  const sat = (payload: number): RelayPoint | undefined => relay.find((pt) => pt.payload === payload && pt.rate === 0);
  const paced = (payload: number): RelayPoint | undefined => relay.find((pt) => pt.payload === payload && pt.level === o.rates[0]);
  for (const payload of [1024, 4096]) {
    const pt = sat(payload);
    if (pt === undefined) {
      targets.push({ name: `relay ${payload} B saturation msgs/s vs pipe`, value: NaN, limit: 85, unit: '% (≥)', met: null, note: 'not measured' });
    } else {
      const ratio = (med(pt.runs.ours, (r) => r.msgsPerSec) / med(pt.runs.baseline, (r) => r.msgsPerSec)) * 100;
      targets.push({ name: `relay ${payload} B saturation msgs/s vs pipe`, value: ratio, limit: 85, unit: '% (≥)', met: ratio >= 85, note: '' });
    }
  }
  for (const payload of [64, 1024, 4096]) {
    const pt = paced(payload);
    const name = `relay ${payload} B CPU/line vs pipe at ${loadLabel(pacedRate(o.rates[0] ?? 0, payload))}`;
    if (pt === undefined) {
      targets.push({ name, value: NaN, limit: 1.3, unit: '× (≤)', met: null, note: 'not measured' });
    } else {
      const ratio = med(pt.runs.ours, (r) => r.serverCpuUsPerLine) / med(pt.runs.baseline, (r) => r.serverCpuUsPerLine);
      targets.push({ name, value: ratio, limit: 1.3, unit: '× (≤)', met: ratio <= 1.3, note: '' });
    }
  }
  const allLost = relay.flatMap((pt) => [...pt.runs.ours, ...pt.runs.baseline]).reduce((a, r) => a + r.lost, 0);
  if (relay.length > 0) targets.push({ name: 'relay losses (all runs)', value: allLost, limit: 0, unit: 'msgs (=)', met: allLost === 0, note: '' });
  if (fairness.runs.length > 0) {
    const ratio = spread(fairness.runs.map((r) => r.p99Ratio)).median;
    targets.push({ name: 'quiet pair p99 flooded vs idle', value: ratio, limit: 2, unit: '× (≤)', met: ratio <= 2, note: '' });
  }
  if (Number.isFinite(fits.ours.slope) && Number.isFinite(fits.bare.slope)) {
    const ratio = fits.ours.slope / fits.bare.slope;
    targets.push({ name: 'idle RSS slope vs bare net server', value: ratio, limit: 1.15, unit: '× (≤)', met: ratio <= 1.15, note: '' });
  }
  if (pairing.length > 0) {
    const p99 = spread(pairing.map((r) => r.p99Ms)).median;
    targets.push({ name: 'pairing p99', value: p99, limit: PAIR_DELAY_MS + 5, unit: 'ms (≤)', met: p99 <= PAIR_DELAY_MS + 5, note: '' });
  }
  const e50 = epoch.find((e) => e.clients === 50_000);
  if (e50 !== undefined) {
    targets.push({ name: 'epoch re-pairs 50 000', value: e50.ms.median, limit: 50, unit: 'ms (≤)', met: e50.ms.median <= 50, note: '' });
  }
  printTable('targets', ['target', 'measured', 'limit', 'met'], targets.map((t) => [
    t.name,
    Number.isNaN(t.value) ? '-' : fmt(t.value, 2),
    Number.isNaN(t.limit) ? '' : `${fmt(t.limit, t.limit < 10 ? 2 : 0)} ${t.unit}`,
    t.met === null ? `n/a (${t.note})` : t.met ? 'yes' : 'NO',
  ]));

  // Pictures.
  const pictures = writePictures(o, relay, idle);
  if (pictures.length > 0) log(`bench: wrote ${pictures.join(', ')}`);

  const json = {
    bench: 'chat-roulette',
    date: new Date().toISOString(),
    version: pkg.version,
    node: process.version,
    cpus: pin.cpus,
    cpuModel: cpuModel(),
    pinning: pin.enabled ? { server: pin.serverCpus, generator: pin.generatorCpus } : null,
    pinningNote: pin.note,
    loadAverage: { before: loadBefore, after: loadNow() },
    server: o.server,
    serverNodeFlags: o.serverNodeFlags,
    serverFlags: { all: limits.all, relay: limits.relay },
    runs: o.runs,
    quick: o.quick,
    scan,
    relay: relay.map((pt) => {
      const ours = relaySpreads(pt.runs.ours);
      const base = relaySpreads(pt.runs.baseline);
      const js = (s: Record<string, Spread>): Record<string, unknown> =>
        Object.fromEntries(Object.entries(s).map(([k, v]) => [k, spreadJson(v)]));
      return {
        pairs: pt.pairs,
        payload: pt.payload,
        rate: pt.rate,
        level: pt.level,
        window: o.window,
        ours: js(ours),
        baseline: js(base),
        ratioMsgsPerSec: round((ours.msgsPerSec as Spread).median / (base.msgsPerSec as Spread).median),
        ratioP99: round((ours.p99Us as Spread).median / (base.p99Us as Spread).median),
        ratioCpuPerLine: round((ours.cpuUsPerLine as Spread).median / (base.cpuUsPerLine as Spread).median),
        shed: [...pt.runs.ours, ...pt.runs.baseline].reduce((a, r) => a + r.shed, 0),
        errors: [...pt.runs.ours, ...pt.runs.baseline].reduce((a, r) => a + r.errors + r.outOfOrder + r.corrupt, 0),
        load1: pt.load,
      };
    }),
    fairness:
      fairness.runs.length === 0
        ? null
        : {
            floodPairs: o.floodPairs,
            idleP99Us: spreadJson(spread(fairness.runs.map((r) => r.idle.p99Us))),
            floodedP99Us: spreadJson(spread(fairness.runs.map((r) => r.flooded.p99Us))),
            p99Ratio: spreadJson(spread(fairness.runs.map((r) => r.p99Ratio))),
            floodMsgsPerSec: spreadJson(spread(fairness.runs.map((r) => r.flood.msgsPerSec))),
            load1: fairness.load,
          },
    pairing:
      pairing.length === 0
        ? null
        : {
            pairDelayMs: PAIR_DELAY_MS,
            samples: pairing.reduce((a, r) => a + r.samples, 0),
            p50Ms: spreadJson(spread(pairing.map((r) => r.p50Ms))),
            p99Ms: spreadJson(spread(pairing.map((r) => r.p99Ms))),
            maxMs: round(Math.max(...pairing.map((r) => r.maxMs))),
            unexpected: pairing.reduce((a, r) => a + r.unexpected, 0),
          },
    idle: idle.map((pt) => ({
      clients: pt.clients,
      ours: okRuns(pt.ours).map((r) => ({ rssBeforeKiB: r.rssBeforeKiB, rssAfterKiB: r.rssAfterKiB, cpuPerRoundMs: round(r.cpuPerRoundMs), openAtEnd: r.openAtEnd })),
      bare: okRuns(pt.bare).map((r) => ({ rssBeforeKiB: r.rssBeforeKiB, rssAfterKiB: r.rssAfterKiB, cpuPerRoundMs: Number.isNaN(r.cpuPerRoundMs) ? null : round(r.cpuPerRoundMs), openAtEnd: r.openAtEnd })),
      load1: pt.load,
    })),
    barePings: o.barePings,
    idleFit: { ours: { ...fits.ours, slope: round(fits.ours.slope, 0), interceptKiB: round(fits.ours.interceptKiB, 0) }, bare: { ...fits.bare, slope: round(fits.bare.slope, 0), interceptKiB: round(fits.bare.interceptKiB, 0) } },
    epoch: epoch.map((e) => ({ clients: e.clients, ms: spreadJson(e.ms), repetitions: e.repetitions })),
    skipped,
    targets: targets.map((t) => ({ name: t.name, value: round(t.value), limit: t.limit, met: t.met, note: t.note || undefined })),
  };
  console.log(JSON.stringify(json));
  clearTimeout(watchdog);
}

/** The module of packages/redis/bench/cluster-suite.ts, as this file uses it (loaded on demand). */
interface ClusterSuite {
  clusterBench(context: {
    runs: number;
    quick: boolean;
    pairs: number;
    payload: number;
    rates: readonly number[];
    window: number;
    warmupMs: number;
    measureMs: number;
    pairingSamples: number;
    clients: number;
    epochs: number;
    pin: Pinning;
    serverArgs(extra: readonly string[]): string[];
    log(text: string): void;
    load1(): number;
  }): Promise<Record<string, unknown>>;
}

/**
 * `--cluster`: the Redis cluster bench (packages/redis/bench/cluster-suite.ts, imported
 * on demand so that the rest of the bench needs no Redis package). Returns the exit code.
 */
async function runCluster(o: BenchOptions, pin: Pinning, limits: LimitFlags, loadBefore: string, version: string): Promise<number> {
  const path = join(ROOT, `packages/redis/bench/cluster-suite${SCRIPT_EXT}`);
  let suite: ClusterSuite;
  try {
    suite = (await import(pathToFileURL(path).href)) as ClusterSuite;
  } catch (err) {
    log(`bench --cluster: cannot load ${path} (it needs @chat-roulette/redis, installed by npm ci in this repository): ${(err as Error).message}`);
    return 2;
  }
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) {
    log('bench --cluster: redis-server not found (e.g. apt-get install -y redis-server)');
    return 2;
  }
  const given = (flag: string): boolean => o.given.has(flag);
  const context = {
    runs: o.runs,
    quick: o.quick,
    pairs: o.pairs[0] ?? 10,
    payload: given('--payloads') ? (o.payloads[0] ?? 64) : 64,
    rates: given('--rates') ? o.rates : [20_000],
    window: o.window,
    warmupMs: o.warmupMs,
    measureMs: o.measureMs,
    pairingSamples: given('--pairing-samples') ? o.pairingSamples : o.quick ? 50 : 200,
    clients: o.clusterClients,
    epochs: o.clusterEpochs,
    pin,
    serverArgs: (extra: readonly string[]) => ourServerArgs(o, [...limits.all, ...limits.relay, ...extra]),
    log,
    load1,
  };
  const flags = [...limits.all, ...limits.relay].join(' ');
  log(`bench --cluster: ${context.pairs} pairs of ${context.payload} B lines, rates ${context.rates.join(',')}, ${context.pairingSamples} pairing samples, ${context.clients} epoch clients, ${o.runs} run(s)`);
  console.log(
    `chat-roulette cluster bench — ${new Date().toISOString()}, node ${process.version}, redis-server ${/v=(\S+)/.exec(probe.stdout)?.[1] ?? '?'}, ${pin.cpus} CPUs (${cpuModel()}), ${pin.note} (Redis with the servers), server from ${o.server}${flags === '' ? '' : `, server flags ${flags}`}; load average ${loadBefore} before`,
  );
  const result = await suite.clusterBench(context);
  console.log(`\nload average after: ${loadNow()}`);
  console.log(
    JSON.stringify({
      bench: 'chat-roulette-cluster',
      date: new Date().toISOString(),
      version,
      node: process.version,
      cpus: pin.cpus,
      cpuModel: cpuModel(),
      pinningNote: pin.note,
      loadAverage: { before: loadBefore, after: loadNow() },
      server: o.server,
      serverFlags: [...limits.all, ...limits.relay],
      runs: o.runs,
      quick: o.quick,
      ...result,
    }),
  );
  return 0;
}

function cpuModel(): string {
  const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
  return m === null ? 'unknown CPU' : (m[1] as string).trim();
}

/** The SVG pictures: relay throughput and CPU/line by line size (ours vs the pipe), RSS against clients (ours vs bare). */
function writePictures(o: BenchOptions, relay: readonly RelayPoint[], idle: readonly IdlePoint[]): string[] {
  if (o.svgDir === '') return [];
  mkdirSync(o.svgDir, { recursive: true });
  const written: string[] = [];
  const write = (name: string, svg: string): void => {
    const path = join(o.svgDir, name);
    writeFileSync(path, svg);
    written.push(path);
  };
  const pairs = o.pairs[0];
  const payloads = o.payloads.filter((p) => relay.some((pt) => pt.payload === p && pt.pairs === pairs));
  const groups = payloads.map((p) => (p >= 1024 ? `${p / 1024} KiB` : `${p} B`));
  const value = (payload: number, level: number, kind: ServerKind, f: (r: RelayRunResult) => number): number => {
    const pt = relay.find((x) => x.payload === payload && x.pairs === pairs && x.level === level);
    return pt === undefined ? NaN : spread(pt.runs[kind].map(f)).median;
  };
  if (payloads.length > 0) {
    write(
      'relay-throughput.svg',
      barChart(`Relay at saturation, ${pairs} pairs: MB/s by line size`, 'MB/s (10⁶ B)', 'line size', groups, [
        { name: 'chat-roulette', values: payloads.map((p) => value(p, 0, 'ours', (r) => r.mbPerSec)) },
        { name: 'raw pipe', values: payloads.map((p) => value(p, 0, 'baseline', (r) => r.mbPerSec)) },
      ]),
    );
    const rate = o.rates[0] ?? 0;
    write(
      'relay-cpu-per-line.svg',
      barChart(`Server CPU per relayed line, ${pairs} pairs, paced: ${loadLabel(rate)} (${fmt((rate * 1024) / 1e6, 1)} MB/s above 1 KiB)`, 'µs CPU / line (user + system)', 'line size', groups, [
        { name: 'chat-roulette', values: payloads.map((p) => value(p, rate, 'ours', (r) => r.serverCpuUsPerLine)) },
        { name: 'raw pipe', values: payloads.map((p) => value(p, rate, 'baseline', (r) => r.serverCpuUsPerLine)) },
      ]),
    );
  }
  const line = (kind: 'ours' | 'bare'): [number, number][] =>
    idle
      .map((pt): [number, number] => [pt.clients, spread(okRuns(pt[kind]).map((r) => (r.rssAfterKiB - r.rssBeforeKiB) / 1024)).median])
      .filter(([, y]) => Number.isFinite(y));
  if (idle.length > 0) {
    write(
      'idle-rss.svg',
      lineChart('Idle clients: server RSS growth', 'MiB over the empty server', 'connected idle clients', [
        { name: 'chat-roulette', points: line('ours') },
        { name: 'bare net server', points: line('bare') },
      ]),
    );
  }
  return written;
}

await main();
