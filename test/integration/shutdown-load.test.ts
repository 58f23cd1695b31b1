/**
 * Graceful shutdown under load (PROTOCOL §7, §9): SIGTERM while 20 clients flood the
 * CLI server. Every client receives `server shutdown` as its last line and the
 * process exits 0. 127.0.0.1 only; the flood is bounded in count and time.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, test } from 'node:test';
import { LineClient, ServerProcess, SHUTDOWN, until } from '../helpers/cli-process.js';
import { TEST_TIMEOUT_MS, WAIT_MS } from '../helpers/bounds.js';

const CLIENTS = 20;
const servers: ServerProcess[] = [];
const clients: LineClient[] = [];
after(() => {
  for (const c of clients) c.socket.destroy();
  for (const s of servers) s.kill();
});

function connect(port: number): Promise<LineClient> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(new LineClient(socket)));
    socket.once('error', reject);
  });
}

test('SIGTERM while 20 clients flood: all get the notice as their last line; exit 0', { timeout: TEST_TIMEOUT_MS }, async () => {
  // A grace far above what flushing takes: this test is about the notice arriving last,
  // on a machine however busy (cli-shutdown.test.ts checks the bounded grace).
  const server = new ServerProcess(['--pair-delay-ms', '10', '--quiet', '--shutdown-grace-ms', String(WAIT_MS)]);
  servers.push(server);
  const port = await server.port();
  for (let i = 0; i < CLIENTS; i++) clients.push(await connect(port));
  clients.forEach((c, i) => c.send({ cmd: 'connect', uco: `flood${i}`, nonce: i }));
  await until('every client to be paired', () => clients.every((c) => c.lines.some((l) => l.startsWith('{"cmd":"pair"'))));

  // Flood: each client writes batches of comm lines (and pongs) as long as its socket takes them.
  const line = `{"cmd":"comm","p":"${'x'.repeat(200)}"}\n`;
  const batch = line.repeat(200);
  let flooding = true;
  let batches = 0;
  const pump = (c: LineClient): void => {
    // Bounded: at most 2 000 batches per client, and only while flooding.
    for (let k = 0; flooding && k < 2_000 && !c.socket.destroyed; k++) {
      batches++;
      if (!c.socket.write(batch)) {
        c.socket.once('drain', () => pump(c));
        return;
      }
    }
  };
  for (const c of clients) pump(c);
  // Under way: every client has had relayed lines from its peer.
  await until('every client to get relayed lines', () => clients.every((c) => c.lines.some((l) => l.startsWith('{"cmd":"comm"'))));
  assert.ok(batches > 0);

  assert.ok(server.child.pid !== undefined);
  process.kill(server.child.pid, 'SIGTERM');
  await until('every client to get the shutdown notice', () => clients.every((c) => c.lines.includes(SHUTDOWN)));
  flooding = false;
  await until('every client socket to close', () => clients.every((c) => c.closed));
  for (const [i, c] of clients.entries()) assert.equal(c.lines.at(-1), SHUTDOWN, `client ${i}: the notice is the last line`);
  assert.deepEqual(await server.exit(), { code: 0, signal: null });
});
