/**
 * The Redis matchmaker against a real redis-server that this file starts on a free port:
 * several RouletteCores (one per "node", each with its own Redis connections) behave as
 * one server. The scenarios are the design's (shared/design/cluster.md §9): S1 cross-node
 * pair and ordered relay, S2/S3 takeover across nodes, S5 a peer leaving, S9 graceful stop,
 * S10 `server full` cluster-wide, S12 Redis down. After each, the invariant check reads
 * Redis and every node's view.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { createClient } from '@redis/client';
import { MemoryConnection, RouletteCore, type RouletteOptions } from 'chat-roulette';
import { redisCluster, type RedisClusterFactory } from '../src/index.js';
import { SCRIPTS } from '../src/scripts.js';
import { skipReason, startRedis, type RedisServer } from './redis-server.js';

const skip = skipReason(true);

let redis: RedisServer;
let clusterNo = 0;

/** Waits until `check` holds (re-checked every few ms), failing after `ms`. */
async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const newProbe = (url: string) => createClient({ url, RESP: 2 });

/** Runs `body` with a Redis connection of its own (to `url`), closed after. */
async function withProbe<T>(url: string, body: (probe: ReturnType<typeof newProbe>) => Promise<T>): Promise<T> {
  const probe = newProbe(url);
  await probe.connect();
  try {
    return await body(probe);
  } finally {
    await probe.close();
  }
}

/** Stops every node and waits until each has handed its clients back. */
async function stopNodes(nodes: readonly Node[]): Promise<void> {
  for (const n of nodes) n.core.stop();
  await Promise.all(nodes.map((n) => n.cluster.closed()));
}

/** Runs `check` until it passes (every 50 ms), rethrowing its last failure after `ms`. */
async function eventually(check: () => Promise<void>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

interface Node {
  readonly core: RouletteCore;
  readonly cluster: RedisClusterFactory;
}

interface TestCluster {
  readonly name: string;
  readonly nodes: Node[];
  /** A client on node `n` that sent `connect` and got its ack. */
  client(n: number, uco: string): Promise<MemoryConnection>;
  /** Symmetric pairs, no ghosts, every node's view equals Redis's. */
  check(): Promise<void>;
  stop(): Promise<void>;
}

type NodeOptions = Omit<RouletteOptions, 'cluster'> & {
  nodeTtlMs?: number;
  beatMs?: number;
  graceMs?: number;
  clusterWaitMs?: number;
  reconcileMs?: number;
  url?: string;
};

function addNode(name: string, id: string, options: NodeOptions = {}): Node {
  const { nodeTtlMs, beatMs, graceMs, clusterWaitMs, reconcileMs, url, ...core } = options;
  const cluster = redisCluster({
    url: url ?? redis.url,
    name,
    nodeId: id,
    ...(nodeTtlMs === undefined ? {} : { nodeTtlMs }),
    ...(beatMs === undefined ? {} : { beatMs }),
    ...(graceMs === undefined ? {} : { graceMs }),
    ...(clusterWaitMs === undefined ? {} : { clusterWaitMs }),
    ...(reconcileMs === undefined ? {} : { reconcileMs }),
  });
  const node = { core: new RouletteCore({ epochMs: 3_600_000, pairDelayMs: 100, pingIntervalMs: 60_000, deadAfterMs: 180_000, ...core, cluster }), cluster };
  node.core.start();
  return node;
}

async function makeCluster(count: number, options: NodeOptions = {}): Promise<TestCluster> {
  const name = `t${process.pid}-${++clusterNo}`;
  const nodes = Array.from({ length: count }, (_, i) => addNode(name, `n${i + 1}`, options));
  await Promise.all(nodes.map((node) => node.cluster.ready()));
  return {
    name,
    nodes,
    async client(n, uco) {
      const conn = new MemoryConnection((nodes[n] as Node).core);
      conn.send({ cmd: 'connect', uco, nonce: 1 });
      await until(`ack of ${uco}`, () => conn.lines.length > 0);
      assert.equal(conn.lines[0], '{"ack":"1"}');
      return conn;
    },
    check: () => checkInvariants(name, nodes),
    async stop() {
      for (const node of nodes) node.core.stop();
      await Promise.all(nodes.map((node) => node.cluster.closed()));
    },
  };
}

/** The design's invariant checks, at quiescence. */
async function checkInvariants(name: string, nodes: readonly Node[], url = redis.url): Promise<void> {
  const client = createClient({ url, RESP: 2 });
  await client.connect();
  try {
    const p = `cr:{${name}}:`;
    const own = await client.hGetAll(`${p}own`);
    const peer = await client.hGetAll(`${p}peer`);
    const free = await client.sMembers(`${p}free`);
    for (const [u, row] of Object.entries(peer)) {
      const [pid, other] = [row.slice(0, row.indexOf('|')), row.slice(row.indexOf('|') + 1)];
      assert.equal(peer[other], `${pid}|${u}`, `peer rows of ${u} and ${other} are symmetric`);
      assert.ok(own[u] !== undefined, `paired ${u} is registered`);
    }
    for (const u of free) {
      assert.ok(own[u] !== undefined, `free ${u} is registered`);
      assert.equal(peer[u], undefined, `free ${u} is not paired`);
    }
    assert.ok(free.length <= 1, `at most one free client, not ${free.join(',')}`);
    // Every node's view equals Redis's; every row is backed by a live local connection.
    const views = new Map<string, string | undefined>();
    for (const node of nodes) {
      if (!node.cluster.stats()?.ready) continue;
      for (const info of node.core.clients()) {
        views.set(info.uco, info.peer);
        assert.ok(own[info.uco]?.startsWith(`${node.cluster.nodeId}|`), `${info.uco} is registered on ${node.cluster.nodeId} in Redis`);
      }
    }
    for (const [u, row] of Object.entries(own)) {
      assert.ok(views.has(u), `row ${u} = ${row} is backed by a local connection (no ghost)`);
      const redisPeer = peer[u] === undefined ? undefined : (peer[u] as string).slice((peer[u] as string).indexOf('|') + 1);
      assert.equal(views.get(u), redisPeer, `${u}'s peer on its node equals Redis's`);
    }
  } finally {
    await client.close();
  }
}

const PING = '{"cmd":"ping"}';

function pairLine(uco: string): string {
  return JSON.stringify({ cmd: 'pair', uco });
}

describe('@chat-roulette/redis against a real redis-server', { skip }, () => {
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.stop();
  });

  test('S1 PROTOCOL §6 pair across nodes, then PROTOCOL §3 comm: 10 000 lines cross byte for byte, in order', async () => {
    // rateLimit: this test sends far more than a student's client would.
    const c = await makeCluster(3, { rateLimit: Infinity });
    const x = await c.client(0, 'x');
    const y = await c.client(2, 'y');
    await until('pair', () => x.lines.length === 2 && y.lines.length === 2);
    assert.equal(x.lines[1], pairLine('y'));
    assert.equal(y.lines[1], pairLine('x'));
    assert.equal(c.nodes[0]?.core.client('x')?.peer, 'y');
    const sent: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      const line = `{ "cmd":"comm","big":1234567890123456789012345,"z":${i},  "a":[1,{"k":"v\\u00e9"}],"uco":"x" }`;
      sent.push(line);
      x.write(`${line}\n`);
      if (i % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    // PROTOCOL §4: pings may come in between; the comm lines are the rest.
    const comms = (): string[] => y.lines.slice(2).filter((line) => line !== PING);
    await until('10 000 lines', () => comms().length === sent.length);
    assert.deepEqual(comms(), sent);
    y.send('{"cmd":"comm","back":true}');
    await until('reply', () => x.lines.includes('{"cmd":"comm","back":true}'));
    const s1 = c.nodes[0]?.cluster.stats();
    const s3 = c.nodes[2]?.cluster.stats();
    assert.equal(s1?.relay.sent, 10_000);
    assert.equal(s3?.relay.delivered, 10_000);
    assert.equal(s3?.relay.droppedStale, 0);
    // core.stats() carries the node's view of the cluster.
    const cluster = c.nodes[2]?.core.stats().cluster;
    assert.equal(cluster?.nodeId, 'n3');
    assert.deepEqual(cluster?.relay, s3?.relay);
    await c.check();
    await c.stop();
  });

  test('S2 PROTOCOL §3 connect: takeover from another node closes the older connection; its peer is paired again', async () => {
    const c = await makeCluster(3);
    const u1 = await c.client(0, 'u');
    const p = await c.client(1, 'p');
    await until('pair', () => p.lines.length === 2);
    const u2 = await c.client(2, 'u');
    await until('new session', () => u1.isClosed);
    assert.equal(u1.lines.at(-1), '{"exit":true,"reason":"new session"}');
    // p is freed and, the only other free client being u's new connection, paired with it.
    await until('re-pair', () => p.lines.length === 3 && u2.lines.length === 2);
    assert.equal(p.lines[2], pairLine('u'));
    assert.equal(u2.lines[1], pairLine('p'));
    u2.send({ cmd: 'comm', t: 1 });
    await until('relay', () => p.lines.length === 4);
    assert.equal(p.lines[3], '{"cmd":"comm","t":1}');
    await c.check();
    await c.stop();
  });

  test('S3 PROTOCOL §3 connect: simultaneous connects of one uco on two nodes: exactly one survives', async () => {
    const c = await makeCluster(2);
    for (let round = 0; round < 5; round++) {
      const a = new MemoryConnection((c.nodes[0] as Node).core);
      const b = new MemoryConnection((c.nodes[1] as Node).core);
      a.send({ cmd: 'connect', uco: `s${round}` });
      b.send({ cmd: 'connect', uco: `s${round}` });
      await until('both answered', () => a.lines.length > 0 && b.lines.length > 0);
      await until('one closed', () => a.isClosed !== b.isClosed);
      const loser = a.isClosed ? a : b;
      assert.equal(loser.lines.at(-1), '{"exit":true,"reason":"new session"}');
    }
    await c.check();
    await c.stop();
  });

  test('S4 PROTOCOL §6 an epoch re-pairs every live client across nodes, never with the previous peer when avoidable; the odd one stays free', async () => {
    const c = await makeCluster(3);
    const conns: MemoryConnection[] = [];
    for (let i = 0; i < 9; i++) conns.push(await c.client(i % 3, `c${i}`));
    const views = (): Map<string, string | undefined> => new Map(c.nodes.flatMap((n) => n.core.clients().map((info) => [info.uco, info.peer] as const)));
    await until('eight paired', () => [...views().values()].filter((peer) => peer !== undefined).length === 8);
    const before = views();
    const counts = conns.map((conn) => conn.lines.length);
    // The leader runs the epoch (it took the leadership on its first lease renewal).
    await until('a leader', () => c.nodes.some((n) => n.cluster.stats()?.leader === n.cluster.nodeId));
    const leader = c.nodes.find((n) => n.cluster.stats()?.leader === n.cluster.nodeId) as Node;
    const started: number[] = [];
    for (const n of c.nodes) n.core.on('epochStarted', (e) => started.push(e.epoch));
    leader.core.nextEpoch();
    await until('every node saw epoch 1', () => started.length === 3 && c.nodes.every((n) => n.core.epoch === 1));
    await until('eight paired again', () => conns.filter((conn, i) => conn.lines.length > (counts[i] as number)).length >= 8);
    const after = views();
    const told = conns.filter((conn, i) => conn.lines.length > (counts[i] as number));
    assert.equal(told.length, 8, 'nine clients: eight get a new pair, one stays free');
    for (const [uco, peer] of after) {
      if (peer === undefined) continue;
      assert.equal(after.get(peer), uco, 'pairs are symmetric across nodes');
      assert.notEqual(peer, before.get(uco), `${uco} keeps its previous peer`);
    }
    for (const conn of told) assert.match(conn.lines.at(-1) as string, /^\{"cmd":"pair","uco":"c\d"\}$/);
    await c.check();
    await c.stop();
  });

  test('S5 PROTOCOL §6 when a client leaves, its peer on another node is unpaired at once and paired with the next free client', async () => {
    const c = await makeCluster(3);
    const a = await c.client(0, 'a');
    const b = await c.client(1, 'b');
    await until('pair', () => a.lines.length === 2);
    b.send({ cmd: 'exit' });
    await until('a unpaired', () => c.nodes[0]?.core.client('a')?.peer === undefined);
    a.send({ cmd: 'comm', t: 'alone' });
    await until('no peer', () => a.lines.length === 3);
    assert.equal(a.lines[2], '{"error":"no peer","msg":{"cmd":"comm","t":"alone"}}');
    const d = await c.client(2, 'd');
    await until('pair with d', () => a.lines.length === 4 && d.lines.length === 2);
    assert.equal(a.lines[3], pairLine('d'));
    // A local pair relays in-process.
    const e = await c.client(0, 'e');
    const f = await c.client(0, 'f');
    await until('local pair', () => e.lines.length === 2 && f.lines.length === 2);
    assert.equal(e.lines[1], pairLine('f'));
    e.write('{"cmd":"comm","n":1}\n');
    assert.equal(f.lines[2], '{"cmd":"comm","n":1}');
    await c.check();
    await c.stop();
  });

  test('S9 a stopped node hands its clients back: their peers elsewhere are paired again at once', async () => {
    const c = await makeCluster(3);
    const a = await c.client(0, 'a');
    const b = await c.client(1, 'b');
    await until('pair a-b', () => a.lines.length === 2);
    const d = await c.client(2, 'd');
    const e = await c.client(1, 'e');
    await until('pair d-e', () => d.lines.length === 2 && e.lines.length === 2);
    (c.nodes[1] as Node).core.stop();
    assert.equal(b.lines.at(-1), '{"exit":true,"reason":"server shutdown"}');
    await (c.nodes[1] as Node).cluster.closed();
    // a and d lost their peers on n2 and are paired with each other, without waiting for
    // n2's lease (5 s, then a grace of 1 s: the bound is below it).
    await until('a-d', () => a.lines.length === 3 && d.lines.length === 3, 4_500);
    assert.equal(a.lines[2], pairLine('d'));
    assert.equal(d.lines[2], pairLine('a'));
    await c.check();
    await c.stop();
  });

  test('S6 kill -9 of a node process: its clients\' peers are freed and paired again once its lease lapses; no ghost rows', async () => {
    const timing = { nodeTtlMs: 1_000, beatMs: 200, graceMs: 200 };
    const c = await makeCluster(2, timing);
    const name = c.name;
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', fileURLToPath(new URL('./fixtures/node.ts', import.meta.url)), redis.url, name, 'n3', 'v'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      await until('child node ready', () => out.includes('ready'), 20_000);
      // v (on n3) waits: a pairs with it; b waits in turn.
      const a = await c.client(0, 'a');
      await until('a paired with v', () => a.lines.length === 2);
      assert.equal(a.lines[1], pairLine('v'));
      const b = await c.client(1, 'b');
      child.kill('SIGKILL');
      await once(child, 'exit');
      // Lease (1 s) + grace (0.2 s) + one beat (0.2 s): whoever was paired with n3's clients
      // is paired again (a with b, the free one) — and no later pair names a client of n3.
      await until('a and b paired with each other', () => c.nodes[0]?.core.client('a')?.peer === 'b' && c.nodes[1]?.core.client('b')?.peer === 'a', 10_000);
      assert.deepEqual(a.lines.slice(2), [pairLine('b')]);
      assert.deepEqual(b.lines.slice(1), [pairLine('a')]);
      await until('n3 reaped', () => c.nodes.some((n) => (n.cluster.stats()?.reaped ?? 0) > 0), 5_000);
      await c.check();
      const probe = createClient({ url: redis.url, RESP: 2 });
      await probe.connect();
      assert.equal(await probe.zScore(`cr:{${name}}:nodes`, 'n3'), null);
      assert.equal(await probe.exists(`cr:{${name}}:byn:n3`), 0);
      await probe.close();
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await c.stop();
  });

  /**
   * Two nodes on a private Redis, with short leases: a and b paired on n1, c (n1) paired
   * with d (n2). Returns them and a waiter for "every client paired again".
   */
  async function fourClients(url: string): Promise<{ nodes: Node[]; name: string; a: MemoryConnection; b: MemoryConnection; c: MemoryConnection; d: MemoryConnection }> {
    const name = `t${process.pid}-${++clusterNo}`;
    const timing = { url, nodeTtlMs: 500, beatMs: 100, graceMs: 100, clusterWaitMs: 5_000 };
    const nodes = [addNode(name, 'n1', timing), addNode(name, 'n2', timing)];
    await Promise.all(nodes.map((n) => n.cluster.ready()));
    const connect = async (n: number, uco: string, lines: number): Promise<MemoryConnection> => {
      const conn = new MemoryConnection((nodes[n] as Node).core);
      conn.send({ cmd: 'connect', uco });
      await until(`${uco}: ${lines} lines`, () => conn.lines.length === lines);
      return conn;
    };
    const a = await connect(0, 'a', 1);
    const b = await connect(0, 'b', 2);
    await until('a-b paired', () => a.lines.length === 2);
    const c = await connect(0, 'c', 1);
    const d = await connect(1, 'd', 2);
    await until('c-d paired', () => c.lines.length === 2);
    assert.deepEqual([a.lines[1], b.lines[1], c.lines[1], d.lines[1]], [pairLine('b'), pairLine('a'), pairLine('d'), pairLine('c')]);
    return { nodes, name, a, b, c, d };
  }

  const peerOf = (nodes: Node[], n: number, uco: string): string | undefined => nodes[n]?.core.client(uco)?.peer;

  test('S7 Redis restarted empty: nobody is closed; a pair on one node goes on unnoticed, a pair across nodes is paired again; registrations are rebuilt', async () => {
    const own = await startRedis();
    try {
      const { nodes, name, a, b, c, d } = await fourClients(own.url);
      await own.stop();
      a.send({ cmd: 'comm', during: 'outage' });
      assert.equal(b.lines.at(-1), '{"cmd":"comm","during":"outage"}');
      const restarted = await startRedis(own.port);
      try {
        await until('registrations taken back', () => nodes.every((n) => n.cluster.stats()?.reclaimed !== 0) && (nodes[0]?.cluster.stats()?.reclaimed ?? 0) >= 3);
        await until('c and d paired again', () => c.lines.length === 3 && d.lines.length === 3);
        assert.equal(c.lines[2], pairLine('d'));
        assert.equal(d.lines[2], pairLine('c'));
        // The local pair went on without a word to its clients.
        assert.deepEqual(a.lines.slice(1), [pairLine('b')]);
        assert.ok([a, b, c, d].every((conn) => !conn.isClosed), 'nobody was closed');
        a.send({ cmd: 'comm', after: 'restart' });
        assert.equal(b.lines.at(-1), '{"cmd":"comm","after":"restart"}');
        c.send({ cmd: 'comm', across: true });
        await until('a line across nodes', () => d.lines.at(-1) === '{"cmd":"comm","across":true}');
        // Registration works again, cluster-wide: a takeover of b from n2 closes it on n1.
        const b2 = new MemoryConnection((nodes[1] as Node).core);
        b2.send({ cmd: 'connect', uco: 'b' });
        await until('b taken over', () => b.isClosed);
        assert.equal(b.lines.at(-1), '{"exit":true,"reason":"new session"}');
        await until('a and b2 paired', () => peerOf(nodes, 0, 'a') === 'b' && peerOf(nodes, 1, 'b') === 'a');
        await checkInvariants(name, nodes, restarted.url);
        await stopNodes(nodes);
      } finally {
        await restarted.stop();
      }
    } finally {
      await own.stop();
    }
  });

  test('S8 Redis paused longer than the leases: nothing crashes, nobody is closed, every client is paired again and relays', async () => {
    const own = await startRedis();
    try {
      const { nodes, name, a, b, c, d } = await fourClients(own.url);
      own.pause(true);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      own.pause(false);
      await until('the leases renewed', () => nodes.every((n) => n.cluster.stats()?.ready === true && n.cluster.stats()?.nodes === 2));
      await until('everyone paired', () => ['a', 'b', 'c'].every((u) => peerOf(nodes, 0, u) !== undefined) && peerOf(nodes, 1, 'd') !== undefined);
      assert.ok([a, b, c, d].every((conn) => !conn.isClosed), 'nobody was closed');
      const dPeer = peerOf(nodes, 1, 'd') as string;
      const byUco = { a, b, c } as Record<string, MemoryConnection>;
      d.send({ cmd: 'comm', to: dPeer });
      await until(`d's line reaches ${dPeer}`, () => byUco[dPeer]?.lines.at(-1) === `{"cmd":"comm","to":"${dPeer}"}`);
      await eventually(() => checkInvariants(name, nodes, own.url));
      await stopNodes(nodes);
    } finally {
      await own.stop();
    }
  });

  test('a node reaped while alive (its lease lapsed, another node reaped it): its clients take their registrations back and are paired again, nobody is closed', async () => {
    const own = await startRedis();
    try {
      const { nodes, name, a, b, c, d } = await fourClients(own.url);
      await withProbe(own.url, async (probe) => {
        // n1 is reaped as if its lease had lapsed (the reap script, run as another node
        // would): a, b and c leave Redis, their pairs end with notices to both nodes, d is
        // freed, and n1's lease is gone.
        const p = `cr:{${name}}:`;
        const keys = ['own', 'peer', 'free', 'nodes', 'seq', 'leader', 'epoch', 'epair', 'byn:n1'].map((k) => p + k);
        while (Number(await probe.sendCommand(['EVAL', SCRIPTS.reap, String(keys.length), ...keys, `${p}in:`, 'n1', '0', '1'])) === 1);
        assert.equal(await probe.hLen(`${p}own`), 1);
      });
      await until('n1 took its registrations back', () => (nodes[0]?.cluster.stats()?.reclaimed ?? 0) >= 3);
      await until('everyone paired', () => ['a', 'b', 'c'].every((u) => peerOf(nodes, 0, u) !== undefined) && peerOf(nodes, 1, 'd') !== undefined);
      assert.ok([a, b, c, d].every((conn) => !conn.isClosed), 'nobody was closed');
      await eventually(() => checkInvariants(name, nodes, own.url));
      await stopNodes(nodes);
    } finally {
      await own.stop();
    }
  });

  test('reconcile: a lost takeover notice, a lost unpair notice and a row nobody holds are repaired', async () => {
    const c = await makeCluster(2, { beatMs: 100, reconcileMs: 300 });
    const p = `cr:{${c.name}}:`;
    const a = await c.client(0, 'a');
    const b = await c.client(1, 'b');
    await until('a-b paired', () => a.lines.length === 2 && b.lines.length === 2);
    const u = await c.client(0, 'u');
    const redisClient = createClient({ url: redis.url, RESP: 2 });
    await redisClient.connect();
    try {
      // The pair a-b ended in Redis but neither node heard of it (as if its U notices were lost).
      await redisClient.hDel(`${p}peer`, ['a', 'b']);
      // u was taken over on n2 (the register script also takes it out of the free set)
      // but n1 never got the K notice.
      await redisClient.sRem(`${p}free`, 'u');
      await redisClient.hSet(`${p}own`, 'u', 'n2|999|999999');
      // A row of n1 that no connection of n1 holds (its leave was lost).
      await redisClient.hSet(`${p}own`, 'ghost', 'n1|4242|7');
      await redisClient.sAdd(`${p}byn:n1`, 'ghost');
      await until('u closed', () => u.isClosed);
      assert.equal(u.lines.at(-1), '{"exit":true,"reason":"new session"}');
      // a and b were unpaired on their nodes and offered again: they pair with each other anew.
      await until('a and b paired again', () => a.lines.length === 3 && b.lines.length === 3);
      assert.equal(a.lines[2], pairLine('b'));
      await until('ghost gone', () => (c.nodes[0]?.cluster.stats()?.reconciled ?? 0) >= 3);
      assert.equal(await redisClient.hExists(`${p}own`, 'ghost'), 0);
      await redisClient.hDel(`${p}own`, 'u');
    } finally {
      await redisClient.close();
    }
    await c.check();
    await c.stop();
  });

  test('reconcile: a pair Redis holds that the node never heard of is ended (after two rounds) and the client waits again', async () => {
    const c = await makeCluster(1, { beatMs: 100, reconcileMs: 200 });
    const p = `cr:{${c.name}}:`;
    const a = await c.client(0, 'a');
    await withProbe(redis.url, async (probe) => {
      await until('a waits', () => c.nodes[0]?.core.client('a') !== undefined);
      await probe.sRem(`${p}free`, 'a');
      await probe.hSet(`${p}peer`, { a: '999999|ghost', ghost: '999999|a' });
      await until('reconciled', () => (c.nodes[0]?.cluster.stats()?.reconciled ?? 0) >= 1);
      await eventually(async () => {
        assert.deepEqual(await probe.hGetAll(`${p}peer`), {});
        assert.deepEqual(await probe.sMembers(`${p}free`), ['a']);
      });
      assert.equal(a.isClosed, false);
    });
    await c.check();
    await c.stop();
  });

  test('reconcile: a registration that vanished from Redis (this node reaped before it heard) is written back; the client stays', async () => {
    const c = await makeCluster(2, { beatMs: 100, reconcileMs: 200 });
    const p = `cr:{${c.name}}:`;
    const a = await c.client(0, 'a');
    const b = await c.client(1, 'b');
    await until('a-b paired', () => a.lines.length === 2 && b.lines.length === 2);
    await withProbe(redis.url, async (probe) => {
      const row = await probe.hGet(`${p}own`, 'a');
      await probe.hDel(`${p}own`, 'a');
      await until('written back', () => (c.nodes[0]?.cluster.stats()?.reclaimed ?? 0) >= 1);
      assert.equal(await probe.hGet(`${p}own`, 'a'), row);
      assert.equal(a.isClosed, false);
    });
    // Its pair with b, left in Redis without a's row, was ended and made again.
    await until('a-b paired again', () => a.lines.length === 3 && b.lines.length === 3);
    assert.equal(a.lines[2], pairLine('b'));
    a.send({ cmd: 'comm', still: 'here' });
    await until('relayed', () => b.lines.at(-1) === '{"cmd":"comm","still":"here"}');
    await c.check();
    await c.stop();
  });

  test('S10 PROTOCOL §3 connect: server full is cluster-wide', async () => {
    const c = await makeCluster(3, { maxClients: 2 });
    await c.client(0, 'a');
    await c.client(1, 'b');
    const third = new MemoryConnection((c.nodes[2] as Node).core);
    third.send({ cmd: 'connect', uco: 'c' });
    await until('refused', () => third.isClosed);
    assert.deepEqual(third.lines, ['{"exit":true,"reason":"server full"}']);
    // A takeover adds no client: it is accepted.
    const again = await c.client(2, 'a');
    assert.equal(again.isClosed, false);
    await c.check();
    await c.stop();
  });

  test('S12 Redis down: no unhandled rejection, connect fails closed with unavailable, local pairs keep relaying', async () => {
    const own = await startRedis();
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown): void => {
      rejections.push(reason);
    };
    process.on('unhandledRejection', onRejection);
    try {
      const name = `t${process.pid}-${++clusterNo}`;
      const n1 = addNode(name, 'n1', { url: own.url, clusterWaitMs: 500, beatMs: 100 });
      const n2 = addNode(name, 'n2', { url: own.url, clusterWaitMs: 500, beatMs: 100 });
      await Promise.all([n1.cluster.ready(), n2.cluster.ready()]);
      const connect = async (node: Node, uco: string): Promise<MemoryConnection> => {
        const conn = new MemoryConnection(node.core);
        conn.send({ cmd: 'connect', uco, nonce: 1 });
        await until(`answer to ${uco}`, () => conn.lines.length > 0);
        return conn;
      };
      const a = await connect(n1, 'a');
      const b = await connect(n1, 'b');
      const x = await connect(n2, 'x');
      await until('a-b paired', () => a.lines.length === 2 && b.lines.length === 2);
      await own.stop();
      // Every path touches Redis: a connect, a leave, a cross-node line, beats, a stop.
      const late = await connect(n2, 'late');
      assert.deepEqual(late.lines, ['{"exit":true,"reason":"unavailable"}']);
      a.write('{"cmd":"comm","still":"local"}\n');
      assert.equal(b.lines.at(-1), '{"cmd":"comm","still":"local"}');
      x.send({ cmd: 'exit' });
      await new Promise((resolve) => setTimeout(resolve, 300));
      n1.core.stop();
      n2.core.stop();
      await Promise.all([n1.cluster.closed(), n2.cluster.closed()]);
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(rejections, []);
      assert.ok((n2.cluster.stats()?.redisErrors ?? 0) > 0, 'the failures were seen and handled');
    } finally {
      process.off('unhandledRejection', onRejection);
      await own.stop();
    }
  });
});
