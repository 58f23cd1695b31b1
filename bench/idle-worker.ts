/**
 * A client process for the idle-scale scenario: opens `--count` connections,
 * registers each, answers every ping, and reports on stdin commands:
 *   `stats` → `{"pings":…,"open":…,"errors":…,"exits":…}`
 * It prints `{"ready":…}` once every client is registered (or gave up), and exits when
 * stdin closes or after `--max-life-ms`, whichever comes first. With `--no-register`
 * (for the bare `net` server) a client is ready once connected and sends nothing.
 *
 * @module
 */
import { BenchClient, openClient, pool } from './client.js';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? (process.argv[i + 1] as string) : fallback;
}

const host = flag('--host', '127.0.0.1');
const port = Number(flag('--port', '0'));
const count = Number(flag('--count', '0'));
const tag = flag('--tag', 'idle');
const localAddress = flag('--local-address', '');
const maxLifeMs = Number(flag('--max-life-ms', '300000'));
const register = !process.argv.includes('--no-register');

const clients: BenchClient[] = [];

function stats(): string {
  let pings = 0;
  let open = 0;
  let errors = 0;
  let exits = 0;
  for (const c of clients) {
    pings += c.counters.pings;
    errors += c.counters.errors;
    exits += c.counters.exits;
    if (!c.closed) open++;
  }
  return JSON.stringify({ pings, open, errors, exits });
}

function shutdown(): void {
  for (const c of clients) c.socket.destroy();
  setTimeout(() => process.exit(0), 200).unref();
}

setTimeout(shutdown, maxLifeMs).unref();
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  for (const cmd of chunk.split('\n')) if (cmd.trim() === 'stats') process.stdout.write(`${stats()}\n`);
});
process.stdin.on('end', shutdown);

let failed = 0;
let lastError = '';
const started = Date.now();
await pool(count, 200, async (i) => {
  try {
    const c = await openClient(host, port, 30_000, localAddress === '' ? undefined : localAddress);
    c.uco = `${tag}n${i}`;
    clients.push(c);
    if (!register) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 30_000);
      c.onControl = (msg) => {
        if (msg.ack !== undefined || msg.exit !== undefined) {
          clearTimeout(timer);
          c.onControl = undefined;
          resolve();
        }
      };
      c.send({ cmd: 'connect', uco: c.uco, nonce: i });
    });
    if (c.acked === undefined) failed++;
  } catch (err) {
    failed++;
    lastError = (err as Error).message;
  }
});
process.stdout.write(`${JSON.stringify({ ready: count - failed, failed, lastError, ms: Date.now() - started })}\n`);
