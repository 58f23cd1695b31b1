/**
 * `chat-roulette start --redis URL --cluster NAME --node-id ID` (docs/scaling.md): two
 * CLI processes against a private redis-server behave as one server over TCP — a
 * client on each is paired with the other, a `comm` crosses, SIGTERM of one node exits
 * 0 and its client's peer is free again at once.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { LineClient, ServerProcess, SHUTDOWN, until } from '../../../test/helpers/cli-process.js';
import { TEST_TIMEOUT_MS } from '../../../test/helpers/bounds.js';
import { skipReason, startRedis, type RedisServer } from './redis-server.js';

const skip = skipReason();
let redis: RedisServer;
const servers: ServerProcess[] = [];
const sockets: net.Socket[] = [];

before(async () => {
  if (skip === false) redis = await startRedis();
});
after(async () => {
  for (const s of sockets) s.destroy();
  for (const server of servers) server.kill();
  await redis?.stop();
});

async function client(port: number): Promise<LineClient> {
  const socket = net.connect(port, '127.0.0.1');
  sockets.push(socket);
  await once(socket, 'connect');
  return new LineClient(socket);
}

test('PROTOCOL §9 start --redis: two nodes are one server over TCP; SIGTERM of a node exits 0', { skip, timeout: TEST_TIMEOUT_MS }, async () => {
  const flags = ['--redis', redis.url, '--cluster', `cli${process.pid}`, '--ping-ms', '60000', '--dead-ms', '180000', '--register-timeout-ms', '180000'];
  const n1 = new ServerProcess([...flags, '--node-id', 'n1']);
  const n2 = new ServerProcess([...flags, '--node-id', 'n2']);
  servers.push(n1, n2);
  const [p1, p2] = await Promise.all([n1.port(), n2.port()]);
  const a = await client(p1);
  const b = await client(p2);
  a.send({ cmd: 'connect', uco: 'a', nonce: 1 });
  await a.waitLine(/"ack"/);
  b.send({ cmd: 'connect', uco: 'b', nonce: 2 });
  assert.equal(await a.waitLine(/"pair"/), '{"cmd":"pair","uco":"b"}');
  assert.equal(await b.waitLine(/"pair"/), '{"cmd":"pair","uco":"a"}');
  a.send({ cmd: 'comm', big: '1', t: 'across' });
  assert.equal(await b.waitLine(/across/), '{"cmd":"comm","big":"1","t":"across"}');
  n2.child.kill('SIGTERM');
  await b.waitLine(/server shutdown/);
  assert.equal(b.lines.at(-1), SHUTDOWN);
  assert.deepEqual(await n2.exit(), { code: 0, signal: null });
  // b left at once: a's comm now has no peer.
  await until('a unpaired', () => {
    a.send({ cmd: 'comm', t: 'probe' });
    return a.lines.some((line) => line.startsWith('{"error":"no peer"'));
  });
  n1.child.kill('SIGTERM');
  assert.deepEqual(await n1.exit(), { code: 0, signal: null });
});

test('PROTOCOL §9 start --cluster without --redis is a usage error (exit 2)', { timeout: TEST_TIMEOUT_MS }, async () => {
  const server = new ServerProcess(['--cluster', 'x']);
  servers.push(server);
  assert.deepEqual(await server.exit(), { code: 2, signal: null });
  assert.match(server.stderr, /options --cluster and --node-id need --redis/);
  assert.equal(server.stdout, '');
});
