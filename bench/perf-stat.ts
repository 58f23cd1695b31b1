/**
 * Where a paced relay's CPU goes, ours against the raw pipe: Linux `perf stat` counters
 * (CPU time, context switches, system calls by kind) per relayed line over one paced
 * window, and with `--record DIR` a sampled profile (`perf record -g`; ours runs with
 * `--perf-basic-prof`, so JavaScript frames have names) to read with
 * `perf report -i DIR/ours.data --no-children --sort sym`.
 *
 * Run: node --conditions=source --import tsx bench/perf-stat.ts [PAYLOAD] [RATE] [--record DIR]
 * (defaults 1024 B, 100 000 lines/s over 10 pairs; needs `perf` and
 * `perf_event_paranoid` ≤ 1 or root). Server on CPU 1, this generator on CPU 0.
 *
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { relayRun, type ServerKind } from './relay.js';
import { pinSelf, SCRIPT_EXT, SOURCE_FLAGS, startServer, stopChild } from './processes.js';

const argv = process.argv.slice(2);
const recordAt = argv.indexOf('--record');
const recordDir = recordAt >= 0 ? argv.splice(recordAt, 2)[1] : undefined;
const payload = Number(argv[0] ?? 1024);
const rate = Number(argv[1] ?? 100_000);
if (!Number.isInteger(payload) || payload < 64 || !Number.isInteger(rate) || rate <= 0 || recordDir === '') {
  console.error('usage: perf-stat.ts [PAYLOAD >= 64] [RATE > 0] [--record DIR]');
  process.exit(2);
}
if (recordDir !== undefined) mkdirSync(recordDir, { recursive: true });

const PAIRS = 10;
const MEASURE_MS = 4_000;
const EVENTS = [
  'task-clock',
  'context-switches',
  'raw_syscalls:sys_enter',
  'syscalls:sys_enter_read',
  'syscalls:sys_enter_write',
  'syscalls:sys_enter_epoll_pwait',
  'syscalls:sys_enter_futex',
];
const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));
const servers: Record<ServerKind, string[]> = {
  ours: [
    ...(recordDir === undefined ? [] : ['--perf-basic-prof']),
    ...SOURCE_FLAGS,
    here(`../src/cli/main${SCRIPT_EXT}`),
    'start',
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--quiet',
    '--max-connections-per-address',
    'off',
    '--rate-limit',
    'off',
  ],
  baseline: [...SOURCE_FLAGS, here(`./baseline-server${SCRIPT_EXT}`), '--host', '127.0.0.1', '--port', '0'],
};

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
}

pinSelf('0');
console.log(`perf-stat: ${payload} B lines, ${rate} lines/s over ${PAIRS} pairs, ${MEASURE_MS} ms window`);
for (const kind of ['ours', 'baseline'] as const) {
  const server = await startServer(servers[kind], '1', 4_096);
  try {
    const target = { kind, host: server.host, port: server.port, pid: server.pid };
    const params = { pairs: PAIRS, payload, window: 64, warmupMs: 1_000, drainMs: 5_000, rate };
    await relayRun(target, { ...params, measureMs: 1_000 }); // warm-up, not counted
    const perfArgs =
      recordDir === undefined
        ? ['stat', '-x', ',', '-e', EVENTS.join(','), '-p', String(server.pid)]
        : ['record', '-F', '2000', '-g', '-o', `${recordDir}/${kind}.data`, '-p', String(server.pid)];
    const perf = spawn('perf', perfArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
    let report = '';
    perf.stderr?.on('data', (d: Buffer) => (report += d.toString()));
    await new Promise((r) => setTimeout(r, 300));
    const result = await relayRun(target, { ...params, warmupMs: 0, measureMs: MEASURE_MS });
    perf.kill('SIGINT');
    await exited(perf);
    const name = kind === 'ours' ? 'chat-roulette' : 'raw pipe';
    console.log(`${name}: ${Math.round(result.msgsPerSec)} lines/s, server ${result.serverCpuUsPerLine.toFixed(2)} µs CPU/line, p99 ${Math.round(result.p99Us)} µs, lost ${result.lost}`);
    if (recordDir !== undefined) {
      console.log(`  recorded ${recordDir}/${kind}.data`);
      continue;
    }
    // perf counts from attach to SIGINT: the whole measured run (no warm-up), so per
    // line over everything this run received.
    for (const row of report.trim().split('\n')) {
      const [value, , event] = row.split(',');
      if (event === undefined || value === undefined || !EVENTS.includes(event)) continue;
      const perLine = Number(value) / result.received;
      console.log(`  ${event.padEnd(32)} ${value.padStart(12)}  per line ${event === 'task-clock' ? `${(perLine * 1000).toFixed(2)} µs` : perLine.toFixed(4)}`);
    }
  } finally {
    await stopChild(server.child);
  }
}
