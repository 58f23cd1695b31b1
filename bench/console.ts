/**
 * What the teacher's console costs the server, in-process on a ManualClock (no
 * network: MemoryConnection clients, a fake response as the page's event stream).
 *
 * 1. idle: N registered clients answer every ping for S simulated seconds; CPU of the
 *    whole process without a console, then with a console and one open page stream.
 * 2. flood: P pairs relay L comm lines per simulated second for S seconds, the same
 *    two ways.
 * 3. one-off costs with N clients: a view (the SSE message) and a /metrics exposition.
 *
 * Reports CPU (user + system) per simulated second, the median of R runs after a
 * warm-up run of each, alternating the order; never
 * asserts. `node --conditions=source --import tsx bench/console.ts [--clients N]
 * [--pairs P] [--lines L] [--seconds S] [--runs R]`
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import { createConsole, type RouletteConsole } from '../src/console/index.js';
import { ConsoleState } from '../src/console/state.js';
import { ManualClock, MemoryConnection, RouletteCore } from '../src/index.js';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '10000' },
    pairs: { type: 'string', default: '1000' },
    lines: { type: 'string', default: '100000' },
    seconds: { type: 'string', default: '20' },
    runs: { type: 'string', default: '3' },
  },
});
const CLIENTS = Number(values.clients);
const PAIRS = Number(values.pairs);
const LINES = Number(values.lines);
const SECONDS = Number(values.seconds);
const RUNS = Number(values.runs);

/** The page's event stream: counts what it is sent. */
class CountingResponse extends EventEmitter {
  bytes = 0;
  messages = 0;
  writableNeedDrain = false;
  readonly req = { method: 'GET' };
  writeHead(): this {
    return this;
  }
  write(chunk: string): boolean {
    this.bytes += chunk.length;
    if (chunk.startsWith('event: state')) this.messages++;
    return true;
  }
  end(): this {
    return this;
  }
}

function openPage(dashboard: RouletteConsole): CountingResponse {
  const req = Object.assign(new EventEmitter(), { method: 'GET', url: '/events', headers: { host: '127.0.0.1' }, socket: {} });
  const res = new CountingResponse();
  dashboard(req as unknown as IncomingMessage, res as unknown as ServerResponse);
  return res;
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

interface Result {
  cpuMsPerSecond: number;
  sseMessages: number;
  sseBytesPerSecond: number;
}

function idle(withConsole: boolean): Result {
  const clock = new ManualClock();
  const core = new RouletteCore({ clock, epochMs: 30_000, maxConnectionsPerAddress: Infinity });
  core.start();
  const dashboard = withConsole ? createConsole(core) : undefined;
  const page = dashboard === undefined ? undefined : openPage(dashboard);
  const clients: MemoryConnection[] = [];
  for (let i = 0; i < CLIENTS; i++) {
    const c = new MemoryConnection(core);
    c.send({ cmd: 'connect', uco: `s${i}`, nonce: 1 });
    clients.push(c);
  }
  clock.advance(1000);
  const pong = '{"cmd":"pong"}';
  const start = cpuMs();
  for (let s = 0; s < SECONDS; s++) {
    for (const c of clients) {
      c.send(pong);
      c.lines.length = 0;
    }
    clock.advance(1000);
  }
  const cpu = cpuMs() - start;
  dashboard?.close();
  core.stop();
  return { cpuMsPerSecond: cpu / SECONDS, sseMessages: page?.messages ?? 0, sseBytesPerSecond: (page?.bytes ?? 0) / SECONDS };
}

function flood(withConsole: boolean): Result {
  const clock = new ManualClock();
  const core = new RouletteCore({ clock, epochMs: 3_600_000, rateLimit: Infinity, maxConnectionsPerAddress: Infinity });
  core.start();
  const dashboard = withConsole ? createConsole(core) : undefined;
  const page = dashboard === undefined ? undefined : openPage(dashboard);
  const senders: MemoryConnection[] = [];
  const all: MemoryConnection[] = [];
  for (let i = 0; i < PAIRS * 2; i++) {
    const c = new MemoryConnection(core);
    c.send({ cmd: 'connect', uco: `s${i}`, nonce: 1 });
    all.push(c);
    if (i % 2 === 0) senders.push(c);
  }
  clock.advance(1000);
  const line = Buffer.from('{"cmd":"comm","sub":"dh1","dhpub":"' + 'A'.repeat(300) + '"}\n');
  const perSender = Math.max(1, Math.round(LINES / senders.length));
  const start = cpuMs();
  for (let s = 0; s < SECONDS; s++) {
    for (let k = 0; k < perSender; k++) for (const c of senders) c.handle.feed(line);
    for (const c of all) {
      c.send('{"cmd":"pong"}');
      c.lines.length = 0;
    }
    clock.advance(1000);
  }
  const cpu = cpuMs() - start;
  dashboard?.close();
  core.stop();
  return { cpuMsPerSecond: cpu / SECONDS, sseMessages: page?.messages ?? 0, sseBytesPerSecond: (page?.bytes ?? 0) / SECONDS };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function measure(name: string, run: (withConsole: boolean) => Result): void {
  const without: number[] = [];
  const withC: number[] = [];
  let last: Result | undefined;
  // A warm-up of each (JIT), then alternating runs, the order swapped every run.
  run(false);
  run(true);
  for (let r = 0; r < RUNS; r++) {
    const order = r % 2 === 0 ? [false, true] : [true, false];
    for (const withConsole of order) {
      const result = run(withConsole);
      if (withConsole) {
        withC.push(result.cpuMsPerSecond);
        last = result;
      } else {
        without.push(result.cpuMsPerSecond);
      }
    }
  }
  const a = median(without);
  const b = median(withC);
  console.log(
    `${name.padEnd(44)} ${a.toFixed(1).padStart(8)} ${b.toFixed(1).padStart(8)} ${(b - a).toFixed(1).padStart(8)} ${(((b - a) / a) * 100).toFixed(1).padStart(6)} %` +
      `   page: ${last?.sseMessages ?? 0} messages, ${Math.round((last?.sseBytesPerSecond ?? 0) / 1024)} KiB/s`,
  );
}

function oneOff(): void {
  const clock = new ManualClock();
  const core = new RouletteCore({ clock, maxConnectionsPerAddress: Infinity });
  core.start();
  for (let i = 0; i < CLIENTS; i++) new MemoryConnection(core).send({ cmd: 'connect', uco: `s${i}`, nonce: 1 });
  clock.advance(1000);
  const state = new ConsoleState(core, { sampleMs: 1000, samples: 300, maxClientRows: 500, recentExits: 50 }, undefined, () => undefined);
  const time = (fn: () => string): [number, number] => {
    let size = 0;
    const n = 50;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) size = fn().length;
    return [(performance.now() - t0) / n, size];
  };
  const [viewMs, viewBytes] = time(() => JSON.stringify(state.view()));
  const [metricsMs, metricsBytes] = time(() => state.metrics({ sseClients: 1 }));
  console.log(`one view (SSE message), ${CLIENTS} clients, 500 rows: ${viewMs.toFixed(2)} ms, ${Math.round(viewBytes / 1024)} KiB`);
  console.log(`one /metrics exposition, ${CLIENTS} clients:        ${metricsMs.toFixed(2)} ms, ${metricsBytes} bytes`);
  state.close();
  core.stop();
}

console.log(`chat-roulette console cost — node ${process.version}, ${SECONDS} simulated s per run, median of ${RUNS} runs`);
console.log(`${'scenario (CPU ms per simulated second)'.padEnd(44)} ${'without'.padStart(8)} ${'with'.padStart(8)} ${'added'.padStart(8)} ${'added'.padStart(8)}`);
measure(`idle: ${CLIENTS} clients answering pings`, idle);
measure(`flood: ${PAIRS} pairs, ${LINES} lines/s of 338 B`, flood);
oneOff();
