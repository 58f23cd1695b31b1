/**
 * `npm run bench`: the chat-roulette benchmark suite. See bench/README.md.
 *
 * Scenarios: epoch (in process), relay (ours vs a raw TCP relay baseline), pairing
 * latency, idle scale. Servers run as separate processes, pinned away from the
 * generator when `taskset` allows. Prints tables, then one JSON line
 * `{"bench":"chat-roulette",…}`.
 *
 * @module
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, USAGE, type BenchOptions } from './args.js';
import { epochRun, type EpochResult } from './epoch.js';
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
import { fmt, fmtSpread, round, spread, spreadJson, type Spread } from './stats.js';
import { printTable } from './table.js';

/** PROTOCOL §8 default the pairing target refers to. */
const PAIR_DELAY_MS = 100;
const PING_MS = 1_000;
/** Long enough that no epoch boundary falls inside a run. */
const EPOCH_MS = 3_600_000;

interface RelayPoint {
  readonly pairs: number;
  readonly payload: number;
  readonly runs: Record<ServerKind, RelayRunResult[]>;
}

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
  return [...profile, ...entry, 'start', '--host', '127.0.0.1', '--port', '0', '--epoch-ms', String(EPOCH_MS), '--quiet', ...extra];
}

function baselineArgs(): string[] {
  const script = fileURLToPath(new URL(`./baseline-server${SCRIPT_EXT}`, import.meta.url));
  return [...SOURCE_FLAGS, script, '--host', '127.0.0.1', '--port', '0'];
}

function serverAvailable(o: BenchOptions): string | undefined {
  const path = join(ROOT, o.server === 'build' ? 'dist/cli/main.js' : 'src/cli/main.ts');
  return existsSync(path) ? undefined : `${path} does not exist${o.server === 'build' ? ' (run npm run build)' : ''}`;
}

const loadNow = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

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

async function runRelay(o: BenchOptions, pin: Pinning, limits: LimitFlags): Promise<RelayPoint[]> {
  const ours = await startServer(ourServerArgs(o, [...limits.all, ...limits.relay]), pin.serverCpus, 4_096);
  let base: ServerProcess | undefined;
  try {
    base = await startServer(baselineArgs(), pin.serverCpus, 4_096);
    const servers: Record<ServerKind, ServerProcess> = { ours, baseline: base };
    const points: RelayPoint[] = [];
    for (const pairs of o.pairs) {
      for (const payload of o.payloads) {
        const point: RelayPoint = { pairs, payload, runs: { ours: [], baseline: [] } };
        for (let r = 0; r < o.runs; r++) {
          // Interleaved, so that drift in machine load hits both alike.
          for (const kind of ['ours', 'baseline'] as const) {
            const s = servers[kind];
            const result = await relayRun(
              { kind, host: s.host, port: s.port, pid: s.pid },
              { pairs, payload, window: o.window, warmupMs: o.warmupMs, measureMs: o.measureMs, drainMs: 5_000 },
            );
            point.runs[kind].push(result);
            log(
              `relay ${kind.padEnd(8)} P=${pairs} ${payload} B run ${r + 1}: ${fmt(result.msgsPerSec)} msg/s, p99 ${fmt(result.p99Us)} µs, lost ${result.lost}, server CPU ${fmt(result.serverCpuPct, 0)} %, generator CPU ${fmt(result.generatorCpuPct, 0)} %, machine ${fmt(result.machineCpuPct, 0)} %${result.errors > 0 ? `, ${result.errors} error lines` : ''}`,
            );
          }
        }
        points.push(point);
      }
    }
    return points;
  } finally {
    await stopChild(ours.child);
    if (base !== undefined) await stopChild(base.child);
  }
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

async function runIdle(o: BenchOptions, pin: Pinning, limits: LimitFlags): Promise<IdleResult[][]> {
  const out: IdleResult[][] = [];
  for (const n of o.idle) {
    const runs: IdleResult[] = [];
    for (let r = 0; r < o.runs; r++) {
      log(`idle: ${n} clients, run ${r + 1}`);
      const result = await idleRun({
        clients: n,
        serverArgs: ourServerArgs(o, [...limits.all, '--ping-ms', String(PING_MS)]),
        pingMs: PING_MS,
        settleMs: o.idleSettleMs,
        windowMs: o.idleWindowMs,
        pin,
      });
      runs.push(result);
      if (result.skipped) {
        log(`idle ${n}: skipped: ${result.reason}`);
        // An open-files limit will not change on the next run; anything else might.
        if (result.reason.includes('open-files limit')) break;
        continue;
      }
      log(
        `idle ${n}: ${fmt(result.rssPerClientBytes, 0)} B RSS per client, ${fmt(result.cpuPerRoundMs, 2)} ms CPU per ping round, ${result.openAtEnd} open`,
      );
    }
    out.push(runs);
  }
  return out;
}

// ── report ─────────────────────────────────────────────────────────────────────

function relaySpreads(runs: readonly RelayRunResult[]): Record<string, Spread> {
  const pick = (f: (r: RelayRunResult) => number): Spread => spread(runs.map(f));
  return {
    msgsPerSec: pick((r) => r.msgsPerSec),
    mbPerSec: pick((r) => r.mbPerSec),
    p50Us: pick((r) => r.p50Us),
    p99Us: pick((r) => r.p99Us),
    maxUs: pick((r) => r.maxUs),
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
  const wants = (s: 'relay' | 'pairing' | 'idle'): boolean => {
    if (!o.only.has(s)) return false;
    if (missing !== undefined) skipped[s] = `server not available: ${missing}`;
    return missing === undefined;
  };

  const epoch = o.only.has('epoch') ? runEpoch(o) : [];
  let relay: RelayPoint[] = [];
  let pairing: PairingRunResult[] = [];
  let idle: IdleResult[][] = [];
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
    ...limits.relay.map((f) => `${f} (relay only)`),
    ...limits.all,
  ].filter((f) => f.startsWith('--')).join(', ')}`;
  if (limitNote !== '') log(`bench${limitNote}`);
  if (wants('relay')) relay = await attempt('relay', () => runRelay(o, pin, limits), []);
  if (wants('pairing')) pairing = await attempt('pairing', () => runPairing(o, pin, limits), []);
  if (wants('idle')) idle = await attempt('idle', () => runIdle(o, pin, limits), []);

  // Tables.
  const runsNote = `median [min–max] of ${o.runs} run(s)`;
  console.log(`chat-roulette bench — node ${process.version}, ${pin.cpus} CPUs, ${pin.note}, server from ${o.server}${limitNote}; load average ${loadBefore} before, ${loadNow()} after`);
  if (relay.length > 0) {
    const rows: string[][] = [];
    for (const pt of relay) {
      for (const kind of ['ours', 'baseline'] as const) {
        const s = relaySpreads(pt.runs[kind]);
        rows.push([
          `${pt.pairs} × ${pt.payload} B`,
          kind,
          fmtSpread(s.msgsPerSec as Spread, 0),
          fmtSpread(s.mbPerSec as Spread, 2),
          fmtSpread(s.p50Us as Spread, 0),
          fmtSpread(s.p99Us as Spread, 0),
          fmtSpread(s.maxUs as Spread, 0),
          fmtSpread(s.lost as Spread, 0),
          fmt((s.serverCpuPct as Spread).median, 0),
          fmt((s.generatorCpuPct as Spread).median, 0),
          fmt((s.machineCpuPct as Spread).median, 0),
        ]);
      }
      const ours = relaySpreads(pt.runs.ours);
      const base = relaySpreads(pt.runs.baseline);
      rows.push([
        '',
        'ours/base',
        `${fmt(((ours.msgsPerSec as Spread).median / (base.msgsPerSec as Spread).median) * 100, 0)} %`,
        '',
        '',
        `${fmt((ours.p99Us as Spread).median / (base.p99Us as Spread).median, 2)} ×`,
        '',
        '',
        '',
        '',
        '',
      ]);
    }
    printTable(`relay (W=${o.window} in flight per sender, ${o.measureMs} ms window; ${runsNote})`, [
      'pairs × line',
      'server',
      'msgs/s',
      'MB/s',
      'p50 µs',
      'p99 µs',
      'max µs',
      'lost',
      'srv CPU%',
      'gen CPU%',
      'box CPU%',
    ], rows);
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
  if (idle.length > 0) {
    const rows = idle.map((runs) => {
      const ok = runs.filter((r): r is Extract<IdleResult, { skipped: false }> => !r.skipped);
      const n = runs[0]?.clients ?? 0;
      if (ok.length === 0) {
        const why = runs.find((r): r is Extract<IdleResult, { skipped: true }> => r.skipped)?.reason ?? 'not run';
        skipped[`idle ${n}`] = `skipped: ${why}`;
        return [String(n), 'skipped', '', '', '', ''];
      }
      return [
        String(n),
        fmtSpread(spread(ok.map((r) => r.rssPerClientBytes)), 0),
        fmtSpread(spread(ok.map((r) => r.cpuPerRoundMs)), 2),
        fmtSpread(spread(ok.map((r) => (r.cpuPerRoundMs * 1000) / r.clients)), 2),
        fmt(spread(ok.map((r) => r.serverCpuPct)).median, 1),
        fmt(Math.min(...ok.map((r) => r.openAtEnd)), 0),
      ];
    });
    printTable(`idle scale (registered clients answering pings every ${PING_MS} ms; ${runsNote})`, [
      'clients',
      'RSS B/client',
      'CPU ms/round',
      'CPU µs/client/round',
      'srv CPU%',
      'open at end',
    ], rows);
  }
  if (epoch.length > 0) {
    printTable(`epoch (core.nextEpoch() in process, no-op transports; median [min–max] of ${o.epochRepetitions})`, [
      'clients',
      'ms',
      'pair lines',
    ], epoch.map((e) => [String(e.clients), fmtSpread(e.ms, 2), String(e.pairLinesPerEpoch)]));
  }
  for (const [name, why] of Object.entries(skipped)) console.log(`\n${name}: ${why}`);

  // Targets.
  const targets: Target[] = [];
  const big = relay.find((pt) => pt.pairs === 100 && pt.payload === 64);
  if (big !== undefined) {
    const ours = relaySpreads(big.runs.ours);
    const base = relaySpreads(big.runs.baseline);
    const ratio = (ours.msgsPerSec as Spread).median / (base.msgsPerSec as Spread).median;
    const p99 = (ours.p99Us as Spread).median / (base.p99Us as Spread).median;
    targets.push({ name: 'relay 100×64 B msgs/s vs baseline', value: ratio * 100, limit: 80, unit: '% (≥)', met: ratio >= 0.8, note: '' });
    targets.push({ name: 'relay 100×64 B p99 vs baseline', value: p99, limit: 2, unit: '× (≤)', met: p99 <= 2, note: '' });
  } else {
    targets.push({ name: 'relay 100×64 B vs baseline', value: NaN, limit: NaN, unit: '', met: null, note: 'not measured' });
  }
  const allLost = relay.flatMap((pt) => [...pt.runs.ours, ...pt.runs.baseline]).reduce((a, r) => a + r.lost, 0);
  if (relay.length > 0) targets.push({ name: 'relay losses (all runs)', value: allLost, limit: 0, unit: 'msgs (=)', met: allLost === 0, note: '' });
  if (pairing.length > 0) {
    const p99 = spread(pairing.map((r) => r.p99Ms)).median;
    targets.push({ name: 'pairing p99', value: p99, limit: PAIR_DELAY_MS + 5, unit: 'ms (≤)', met: p99 <= PAIR_DELAY_MS + 5, note: '' });
  }
  const idle50 = idle.find((runs) => runs[0]?.clients === 50_000);
  const idle50ok = idle50?.filter((r): r is Extract<IdleResult, { skipped: false }> => !r.skipped) ?? [];
  if (idle50ok.length > 0) {
    const perClient = spread(idle50ok.map((r) => r.rssPerClientBytes)).median;
    targets.push({ name: '50 000 idle: RSS per client', value: perClient, limit: 4096, unit: 'B (≤)', met: perClient <= 4096, note: '' });
  } else {
    const largest = idle
      .map((runs) => runs.filter((r): r is Extract<IdleResult, { skipped: false }> => !r.skipped))
      .filter((ok) => ok.length > 0)
      .pop();
    const note =
      largest === undefined
        ? 'not measured'
        : `not measured at 50 000; at ${largest[0]?.clients}: ${fmt(spread(largest.map((r) => r.rssPerClientBytes)).median, 0)} B`;
    targets.push({ name: '50 000 idle: RSS per client', value: NaN, limit: 4096, unit: 'B (≤)', met: null, note });
  }
  const e50 = epoch.find((e) => e.clients === 50_000);
  if (e50 !== undefined) {
    targets.push({ name: 'epoch re-pairs 50 000', value: e50.ms.median, limit: 50, unit: 'ms (≤)', met: e50.ms.median <= 50, note: '' });
  }
  printTable('targets', ['target', 'measured', 'limit', 'met'], targets.map((t) => [
    t.name,
    Number.isNaN(t.value) ? '-' : fmt(t.value, 2),
    Number.isNaN(t.limit) ? '' : `${fmt(t.limit, 0)} ${t.unit}`,
    t.met === null ? `n/a (${t.note})` : t.met ? 'yes' : 'NO',
  ]));

  const json = {
    bench: 'chat-roulette',
    version: pkg.version,
    node: process.version,
    cpus: pin.cpus,
    pinning: pin.enabled ? { server: pin.serverCpus, generator: pin.generatorCpus } : null,
    pinningNote: pin.note,
    loadAverage: { before: loadBefore, after: loadNow() },
    server: o.server,
    serverFlags: { all: limits.all, relay: limits.relay },
    runs: o.runs,
    quick: o.quick,
    relay: relay.map((pt) => {
      const ours = relaySpreads(pt.runs.ours);
      const base = relaySpreads(pt.runs.baseline);
      const js = (s: Record<string, Spread>): Record<string, unknown> =>
        Object.fromEntries(Object.entries(s).map(([k, v]) => [k, spreadJson(v)]));
      return {
        pairs: pt.pairs,
        payload: pt.payload,
        window: o.window,
        ours: js(ours),
        baseline: js(base),
        ratioMsgsPerSec: round((ours.msgsPerSec as Spread).median / (base.msgsPerSec as Spread).median),
        ratioP99: round((ours.p99Us as Spread).median / (base.p99Us as Spread).median),
        errors: [...pt.runs.ours, ...pt.runs.baseline].reduce((a, r) => a + r.errors + r.outOfOrder + r.corrupt, 0),
      };
    }),
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
    idle: idle.map((runs) => {
      const ok = runs.filter((r): r is Extract<IdleResult, { skipped: false }> => !r.skipped);
      const skip = runs.find((r): r is Extract<IdleResult, { skipped: true }> => r.skipped);
      return {
        clients: runs[0]?.clients ?? 0,
        runs: ok.length,
        rssPerClientBytes: spreadJson(spread(ok.map((r) => r.rssPerClientBytes)), 0),
        cpuPerRoundMs: spreadJson(spread(ok.map((r) => r.cpuPerRoundMs))),
        rssBeforeKiB: ok[0]?.rssBeforeKiB ?? null,
        openAtEnd: ok.length === 0 ? null : Math.min(...ok.map((r) => r.openAtEnd)),
        skipped: skip?.reason ?? null,
      };
    }),
    epoch: epoch.map((e) => ({ clients: e.clients, ms: spreadJson(e.ms), repetitions: e.repetitions })),
    skipped,
    targets: targets.map((t) => ({ name: t.name, value: round(t.value), limit: t.limit, met: t.met, note: t.note || undefined })),
  };
  console.log(JSON.stringify(json));
  clearTimeout(watchdog);
}

await main();
