/**
 * Where an idle client's bytes go (issue 14): a server process, ours (`RouletteCore`
 * + `listen`, defaults but a 1 h epoch) or a bare `net` server, that answers `mem` on
 * stdin with one JSON line of `process.memoryUsage()` and V8's heap spaces after two
 * full garbage collections, and `snap` by writing a heap snapshot (its file name on
 * stdout; `node bench/heap-by-type.ts A B N` compares two per client). Drive it with idle clients (bench/idle-worker.ts) and
 * compare the deltas per client: a manual tool, run by hand:
 *
 *   node --expose-gc --conditions=source --import tsx bench/memory-probe.ts ours|bare [PING_MS]
 *
 * (`bare` pings only when PING_MS is given.)
 *
 * It prints `listening on <host>:<port>` like the CLI.
 *
 * @module
 */
import { createServer, type Socket } from 'node:net';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';
import { listen, RouletteCore } from '../src/index.js';

const kind = process.argv[2] === 'bare' ? 'bare' : 'ours';
const gc = (globalThis as { gc?: () => void }).gc;

function snapshot(): string {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, { size: s.space_size, used: s.space_used_size }]));
  return JSON.stringify({ rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, spaces });
}

process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  for (const cmd of chunk.split('\n')) {
    if (cmd.trim() === 'mem') process.stdout.write(`${snapshot()}\n`);
    if (cmd.trim() === 'snap') process.stdout.write(`${JSON.stringify({ snapshot: writeHeapSnapshot() })}\n`);
  }
});
process.stdin.on('end', () => process.exit(0));

if (kind === 'bare') {
  // With PING_MS, pings every socket like bench/bare-server.ts --ping-ms.
  const ping = Number(process.argv[3] ?? '0');
  const sockets = new Set<Socket>();
  const server = createServer({ noDelay: true }, (socket) => {
    socket.on('data', () => undefined);
    socket.on('error', () => socket.destroy());
    if (ping > 0) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    }
  });
  if (ping > 0) setInterval(() => sockets.forEach((s) => s.write('{"cmd":"ping"}\n')), ping);
  server.listen(0, '127.0.0.1', () => {
    const a = server.address();
    if (a !== null && typeof a !== 'string') process.stdout.write(`listening on ${a.address}:${a.port}\n`);
  });
} else {
  const ping = Number(process.argv[3] ?? '1000');
  const core = new RouletteCore({ epochMs: 3_600_000, pingIntervalMs: ping, deadAfterMs: 3 * ping });
  core.start();
  const server = await listen(core, { host: '127.0.0.1', port: 0 });
  const a = server.address();
  process.stdout.write(`listening on ${a.host}:${a.port}\n`);
}
