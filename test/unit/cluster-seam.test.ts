/**
 * The matchmaking seam, proved by a second implementation (test/helpers/memory-cluster.ts):
 * three cores sharing one in-memory directory behave as one server. A client on node 1
 * pairs with, relays to, and is taken over by clients on nodes 2 and 3; registration is
 * decided asynchronously, so the engine holds a connection's input meanwhile.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock, MemoryConnection, RouletteCore, seededRandom, type RouletteOptions } from '../../src/index.js';
import { inspectCore } from '../../src/testing/index.js';
import { exitLine, fresh, pairLine, pong } from '../helpers/core.js';
import { MemoryDirectory } from '../helpers/memory-cluster.js';

const TIMING = { epochMs: 30_000, pairDelayMs: 100, maxClients: 100 };

/** Lets the directory's asynchronous answers arrive. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

interface Cluster {
  readonly clock: ManualClock;
  readonly directory: MemoryDirectory;
  readonly nodes: readonly RouletteCore[];
  /** A client on node `n` (0-based) that sent `connect` and got its ack. */
  client(n: number, uco: string): Promise<MemoryConnection>;
  stop(): void;
}

function cluster(options: Partial<typeof TIMING> & Omit<RouletteOptions, 'clock' | 'cluster'> = {}): Cluster {
  const clock = new ManualClock();
  const timing = { ...TIMING, ...options };
  const directory = new MemoryDirectory(clock, seededRandom('cluster'), timing);
  const nodes = ['n1', 'n2', 'n3'].map((name) => new RouletteCore({ ...options, clock, cluster: directory.node(name) }));
  for (const core of nodes) core.start();
  return {
    clock,
    directory,
    nodes,
    async client(n, uco) {
      const conn = new MemoryConnection(nodes[n] as RouletteCore);
      conn.send({ cmd: 'connect', uco, nonce: 1 });
      await settle();
      assert.deepEqual(fresh(conn).at(-1), '{"ack":"1"}');
      return conn;
    },
    stop() {
      for (const core of nodes) core.stop();
    },
  };
}

test('cluster seam: clients on two nodes are paired within pairDelayMs and each is told the other', async () => {
  const c = cluster();
  const a = await c.client(0, 'alice');
  const b = await c.client(1, 'bob');
  assert.equal(c.directory.nodeOf('alice'), 'n1');
  assert.equal(c.directory.nodeOf('bob'), 'n2');
  c.clock.advance(TIMING.pairDelayMs);
  assert.deepEqual(fresh(a), [pairLine('bob')]);
  assert.deepEqual(fresh(b), [pairLine('alice')]);
  assert.equal(c.nodes[0]?.client('alice')?.peer, 'bob');
  assert.equal(c.nodes[1]?.client('bob')?.peer, 'alice');
  c.stop();
});

test('cluster seam: PROTOCOL §3 comm crosses nodes byte for byte, both ways, only to the current peer', async () => {
  const c = cluster();
  const a = await c.client(0, 'alice');
  const b = await c.client(2, 'bob');
  c.clock.advance(TIMING.pairDelayMs);
  fresh(a);
  fresh(b);
  const line = '{ "cmd":"comm","big":1234567890123456789012345,  "z":1,"a":[1,{"k":"v"}] }';
  a.send(line);
  b.send('{"cmd":"comm","uco":"bob","t":"back"}');
  assert.deepEqual(fresh(b), [line]);
  assert.deepEqual(fresh(a), ['{"cmd":"comm","uco":"bob","t":"back"}']);
  assert.equal(c.directory.relay.crossed, 2);
  // bob leaves: alice has no peer any more, and nothing reaches bob's old connection.
  b.send({ cmd: 'exit' });
  assert.equal(b.last()?.reason, 'client exit');
  a.send({ cmd: 'comm', t: 'alone' });
  assert.deepEqual(fresh(a), ['{"error":"no peer","msg":{"cmd":"comm","t":"alone"}}']);
  // PROTOCOL §6: a freed client is paired again with a free client on yet another node.
  const carol = await c.client(1, 'carol');
  c.clock.advance(TIMING.pairDelayMs);
  assert.deepEqual(fresh(a), [pairLine('carol')]);
  assert.deepEqual(fresh(carol), [pairLine('alice')]);
  a.send('{"cmd":"comm","n":1}');
  assert.deepEqual(fresh(carol), ['{"cmd":"comm","n":1}']);
  c.stop();
});

test('cluster seam: PROTOCOL §3 connect takeover from another node closes the older connection; its peer is freed and re-paired', async () => {
  const c = cluster();
  const u1 = await c.client(0, 'u');
  const peer = await c.client(1, 'p');
  c.clock.advance(TIMING.pairDelayMs);
  assert.equal(c.nodes[1]?.client('p')?.peer, 'u');
  fresh(peer);
  const u2 = await c.client(2, 'u');
  assert.equal(u1.last()?.reason, 'new session');
  assert.equal(u1.lines.at(-1), exitLine('new session'));
  assert.equal(u1.closedBy, 'server');
  assert.equal(c.directory.nodeOf('u'), 'n3');
  assert.equal(c.nodes[0]?.client('u'), undefined);
  assert.equal(c.nodes[1]?.client('p')?.peer, undefined);
  c.clock.advance(TIMING.pairDelayMs);
  // The old peer is paired again — with the new holder of the uco, the only free client.
  assert.deepEqual(fresh(peer), [pairLine('u')]);
  assert.deepEqual(fresh(u2), [pairLine('p')]);
  c.stop();
});

test('cluster seam: PROTOCOL §3 server full is cluster-wide', async () => {
  const c = cluster({ maxClients: 2 });
  await c.client(0, 'a');
  await c.client(1, 'b');
  const third = new MemoryConnection(c.nodes[2] as RouletteCore);
  third.send({ cmd: 'connect', uco: 'c' });
  await settle();
  assert.deepEqual(third.lines, [exitLine('server full')]);
  assert.equal(third.closedBy, 'server');
  c.stop();
});

test('cluster seam: lines sent while the registration is being decided wait, in order', async () => {
  const c = cluster();
  const a = await c.client(0, 'alice');
  const b = new MemoryConnection(c.nodes[1] as RouletteCore);
  b.send({ cmd: 'connect', uco: 'bob', nonce: 7 });
  b.send({ cmd: 'comm', t: 'early' });
  b.send({ cmd: 'pong' });
  assert.deepEqual(b.lines, [], 'nothing answered before the verdict');
  await settle();
  assert.deepEqual(b.lines, ['{"ack":"7"}', '{"error":"no peer","msg":{"cmd":"comm","t":"early"}}']);
  c.clock.advance(TIMING.pairDelayMs);
  assert.deepEqual(fresh(a), [pairLine('bob')]);
  c.stop();
});

test('cluster seam: PROTOCOL §6 an epoch re-pairs every live client across nodes, never with the previous peer when avoidable', async () => {
  const c = cluster({ epochMs: 10_000, pingIntervalMs: 1_000, deadAfterMs: 5_000 });
  const conns: MemoryConnection[] = [];
  for (let i = 0; i < 9; i++) conns.push(await c.client(i % 3, `c${i}`));
  c.clock.advance(TIMING.pairDelayMs);
  const before = new Map(c.nodes.flatMap((core) => core.clients().map((info) => [info.uco, info.peer])));
  for (let t = 0; t < 10; t++) {
    c.clock.advance(1_000);
    pong(...conns);
  }
  assert.equal(c.nodes[0]?.epoch, 1);
  const after = c.nodes.flatMap((core) => core.clients());
  const unpaired = after.filter((info) => info.peer === undefined);
  assert.equal(unpaired.length, 1, 'nine clients: one stays free');
  for (const info of after) {
    if (info.peer === undefined) continue;
    const peerInfo = after.find((other) => other.uco === info.peer);
    assert.equal(peerInfo?.peer, info.uco, 'pairs are symmetric across nodes');
    assert.notEqual(info.peer, before.get(info.uco), `${info.uco} keeps its previous peer`);
  }
  // Every node's view agrees with the directory.
  const views = c.nodes.map((core) => inspectCore(core));
  assert.equal(views.reduce((n, v) => n + v.clients.length, 0), 9);
  c.stop();
});
