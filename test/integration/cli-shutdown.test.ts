/**
 * PROTOCOL §7, §9: `chat-roulette start` stops with exit code 0 on SIGTERM / SIGINT
 * whatever its clients do after the shutdown notice: the course's Java and Python
 * clients read it but never close their socket; a frozen client never reads. Real
 * sockets on 127.0.0.1; every wait is bounded; processes are killed by pid after.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { afterEach, test } from 'node:test';
import { LineClient, ServerProcess, SHUTDOWN, until } from '../helpers/cli-process.js';
import { TEST_TIMEOUT_MS } from '../helpers/bounds.js';

const T = { timeout: TEST_TIMEOUT_MS };
const servers: ServerProcess[] = [];
const clients: LineClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.socket.destroy();
  for (const s of servers.splice(0)) s.kill();
});

/** A client; with `allowHalfOpen` it keeps its side open after the server's end, as the course clients do. */
function connect(port: number, allowHalfOpen: boolean): Promise<LineClient> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen }, () => {
      const client = new LineClient(socket);
      clients.push(client);
      resolve(client);
    });
    socket.once('error', reject);
  });
}

async function registeredPair(port: number, allowHalfOpen: boolean): Promise<[LineClient, LineClient]> {
  const a = await connect(port, allowHalfOpen);
  const b = await connect(port, allowHalfOpen);
  a.send({ cmd: 'connect', uco: '67', nonce: 1 });
  b.send({ cmd: 'connect', uco: '220', nonce: 2 });
  await a.waitLine(/^\{"cmd":"pair"/);
  await b.waitLine(/^\{"cmd":"pair"/);
  return [a, b];
}

function start(extra: string[]): ServerProcess {
  const server = new ServerProcess(['--pair-delay-ms', '0', ...extra]);
  servers.push(server);
  return server;
}

function signal(server: ServerProcess, name: NodeJS.Signals): void {
  assert.ok(server.child.pid !== undefined);
  process.kill(server.child.pid, name);
}

for (const name of ['SIGTERM', 'SIGINT'] as const) {
  test(`PROTOCOL §7 ${name} with clients that read the notice but never close (the course clients): exit 0, no error`, T, async () => {
    // The default grace: the stop must end well without any flag.
    const server = start([]);
    const [a, b] = await registeredPair(await server.port(), true);
    signal(server, name);
    for (const c of [a, b]) await c.waitLine(/"server shutdown"/);
    assert.deepEqual(await server.exit(), { code: 0, signal: null });
    for (const c of [a, b]) assert.equal(c.lines.at(-1), SHUTDOWN);
    assert.doesNotMatch(server.stderr, / ERROR /);
    assert.match(server.stderr, /INFO Server stopped\n$/);
  });
}

test('PROTOCOL §7 SIGTERM with a client that never reads while its peer floods it: exit 0', T, async () => {
  const server = start(['--max-buffered-bytes', 'off', '--shutdown-grace-ms', '300', '--quiet']);
  const [frozen, flooder] = await registeredPair(await server.port(), false);
  frozen.socket.pause();
  const line = `${JSON.stringify({ cmd: 'comm', p: 'x'.repeat(1_000) })}\n`;
  flooder.socket.write(line.repeat(8_192)); // 8 MiB, more than the socket buffers hold
  await until('the frozen client to stop reading with data waiting', () => frozen.socket.readableLength >= 16_384);
  signal(server, 'SIGTERM');
  assert.deepEqual(await server.exit(), { code: 0, signal: null });
  assert.equal(server.stderr, '');
});

test('PROTOCOL §7 a second signal cuts the grace short; still exit 0', T, async () => {
  const server = start(['--shutdown-grace-ms', '600000']);
  const [a] = await registeredPair(await server.port(), true);
  signal(server, 'SIGINT');
  await a.waitLine(/"server shutdown"/);
  await until('the shutdown to be logged', () => /INFO Received SIGINT: /.test(server.stderr));
  // npm start forwards the terminal's Ctrl-C: the server sees SIGINT twice.
  signal(server, 'SIGINT');
  assert.deepEqual(await server.exit(), { code: 0, signal: null });
  assert.match(server.stderr, /INFO Received SIGINT again: closing the remaining 2 connections now\n/);
});
