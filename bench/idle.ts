/**
 * Idle scale: N registered clients that only answer pings. Measures the server's
 * resident memory per client and the CPU time of one ping round (ping to every
 * client, and its pong back). Clients live in separate worker processes, each under
 * its own open-files limit.
 *
 * @module
 */
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import {
  cpuSeconds,
  openFilesLimit,
  rssKiB,
  SCRIPT_EXT,
  sleep,
  SOURCE_FLAGS,
  startNode,
  startServer,
  stopChild,
  tail,
  waitForLine,
  type Pinning,
} from './processes.js';

const WORKER = fileURLToPath(new URL(`./idle-worker${SCRIPT_EXT}`, import.meta.url));

/** Settings of one idle-scale point. */
export interface IdleParams {
  readonly clients: number;
  /** Our server (clients register and answer pings), or the bare `net` server (clients connect, and answer its pings if it sends any). */
  readonly kind: 'ours' | 'bare';
  /** Node arguments that start our server (without flags after `start`'s host/port). */
  readonly serverArgs: readonly string[];
  /** The server's ping interval, ms (for rounds per window). */
  readonly pingMs: number;
  /** Whether the server pings (ours always; the bare server unless `--bare-silent`). */
  readonly pings: boolean;
  /** Wait after every client registered, before measuring memory, ms. */
  readonly settleMs: number;
  /** CPU measuring window, ms. */
  readonly windowMs: number;
  readonly pin: Pinning;
}

/** What one idle-scale point measured, or why it was skipped. */
export type IdleResult =
  | {
      readonly clients: number;
      readonly skipped: false;
      readonly rssBeforeKiB: number;
      readonly rssAfterKiB: number;
      /** (after − before) / clients, bytes. */
      readonly rssPerClientBytes: number;
      readonly kind: 'ours' | 'bare';
      /** Server CPU time per ping round, ms (NaN for a server that does not ping). */
      readonly cpuPerRoundMs: number;
      /** Server CPU use during the window, % of one core. */
      readonly serverCpuPct: number;
      /** Pings each client received during the window (≈ rounds). */
      readonly pingsPerClient: number;
      /** Clients still open at the end (should equal `clients`). */
      readonly openAtEnd: number;
      readonly workers: number;
      readonly registerSeconds: number;
    }
  | { readonly clients: number; readonly kind: 'ours' | 'bare'; readonly skipped: true; readonly reason: string };

interface Worker {
  readonly child: ChildProcess;
  readonly stderr: () => string;
}

interface WorkerStats {
  pings: number;
  open: number;
  errors: number;
  exits: number;
}

async function allStats(workers: readonly Worker[]): Promise<WorkerStats> {
  const total: WorkerStats = { pings: 0, open: 0, errors: 0, exits: 0 };
  const replies = await Promise.all(
    workers.map((w) => {
      const reply = waitForLine(w.child, /\{"pings".*\}/, 10_000, w.stderr);
      w.child.stdin?.write('stats\n');
      return reply;
    }),
  );
  for (const m of replies) {
    const s = JSON.parse(m[0]) as WorkerStats;
    total.pings += s.pings;
    total.open += s.open;
    total.errors += s.errors;
    total.exits += s.exits;
  }
  return total;
}

/** Runs one idle-scale point with its own server. */
export async function idleRun(p: IdleParams): Promise<IdleResult> {
  const n = p.clients;
  const server = await startServer(p.serverArgs, p.pin.serverCpus, n + 10_000);
  const workers: Worker[] = [];
  try {
    const serverLimit = openFilesLimit(server.pid);
    if (serverLimit < n + 100) {
      return {
        clients: n,
        kind: p.kind,
        skipped: true,
        reason: `server open-files limit is ${serverLimit} (hard limit; raising it was refused), ${n} clients need more: raise \`ulimit -Hn\` (as root) and retry`,
      };
    }
    await sleep(1_000);
    const rssBefore = rssKiB(server.pid);

    // Each worker stays well inside the open-files limit it can get; one loopback
    // source address carries at most ~28 000 connections to one port.
    const perWorkerCap = 12_500;
    const workerCount = Math.max(1, Math.ceil(n / perWorkerCap));
    const needSourceAddresses = n > 20_000;
    // Registering is slow on a loaded machine: 60 s plus 20 ms per client of a worker.
    const readyTimeoutMs = 60_000 + 20 * Math.ceil(n / workerCount);
    const started = Date.now();
    for (let w = 0; w < workerCount; w++) {
      const count = Math.floor(n / workerCount) + (w < n % workerCount ? 1 : 0);
      const args = [
        ...SOURCE_FLAGS,
        WORKER,
        '--host',
        server.host,
        '--port',
        String(server.port),
        '--count',
        String(count),
        '--tag',
        `i${w}x`,
        '--max-life-ms',
        String(readyTimeoutMs + 60_000 + p.settleMs + p.windowMs),
        ...(needSourceAddresses ? ['--local-address', `127.0.0.${2 + w}`] : []),
        ...(p.kind === 'bare' ? ['--no-register'] : []),
      ];
      const child = startNode({ nodeArgs: args, cpus: p.pin.generatorCpus, openFiles: count + 1_000, stdin: 'pipe' });
      workers.push({ child, stderr: tail(child.stderr as NodeJS.ReadableStream) });
    }
    const readies = await Promise.all(workers.map((w) => waitForLine(w.child, /\{"ready".*\}/, readyTimeoutMs, w.stderr)));
    const registerSeconds = (Date.now() - started) / 1000;
    let ready = 0;
    let lastError = '';
    for (const m of readies) {
      const r = JSON.parse(m[0]) as { ready: number; lastError: string };
      ready += r.ready;
      if (r.lastError !== '') lastError = r.lastError;
    }
    if (ready < n) {
      const exit = server.child.exitCode ?? server.child.signalCode;
      const state = exit === null ? 'server still running' : `server exited (${exit}): ${server.stderr().trim().slice(-300)}`;
      return {
        clients: n,
        kind: p.kind,
        skipped: true,
        reason: `only ${ready} of ${n} clients registered (${lastError || 'no error reported'}; ${state})`,
      };
    }

    await sleep(p.settleMs);
    const rssAfter = rssKiB(server.pid);
    const s0 = await allStats(workers);
    const cpu0 = cpuSeconds(server.pid);
    const t0 = performance.now();
    await sleep(p.pings ? p.windowMs : 100);
    const cpu1 = cpuSeconds(server.pid);
    const seconds = (performance.now() - t0) / 1000;
    const s1 = await allStats(workers);
    const rounds = (seconds * 1000) / p.pingMs;
    const cpuSecondsUsed = cpu1 - cpu0;
    return {
      clients: n,
      kind: p.kind,
      skipped: false,
      rssBeforeKiB: rssBefore,
      rssAfterKiB: rssAfter,
      rssPerClientBytes: ((rssAfter - rssBefore) * 1024) / n,
      cpuPerRoundMs: p.pings ? (cpuSecondsUsed * 1000) / rounds : NaN,
      serverCpuPct: p.pings ? (cpuSecondsUsed / seconds) * 100 : NaN,
      pingsPerClient: (s1.pings - s0.pings) / n,
      openAtEnd: s1.open,
      workers: workerCount,
      registerSeconds,
    };
  } finally {
    for (const w of workers) w.child.stdin?.end();
    await Promise.all(workers.map((w) => stopChild(w.child, 5_000)));
    await stopChild(server.child);
  }
}
