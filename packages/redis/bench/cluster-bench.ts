/**
 * A small measurement of the Redis cluster on this machine (reported, never asserted):
 * a private redis-server, two nodes in this process (each with its own Redis
 * connections), in-memory clients.
 * - cross-node relay: one pair across the nodes, LINES lines of 64 bytes, lines/s end to end;
 *   the same through a pair on one node, for comparison;
 * - connect → `pair` across nodes: a client waits on node 1, another connects on node 2;
 *   the time from its `connect` to both `pair` lines, ROUNDS times, p50/p99.
 *
 * Run: node --conditions=source --import tsx packages/redis/bench/cluster-bench.ts [LINES] [ROUNDS]
 */
import { MemoryConnection, RouletteCore } from 'chat-roulette';
import { redisCluster, type RedisClusterFactory } from '../src/index.js';
import { startRedis } from '../test/redis-server.js';

const LINES = Number(process.argv[2] ?? 200_000);
const ROUNDS = Number(process.argv[3] ?? 500);

const redis = await startRedis();
const name = `bench${process.pid}`;
const nodes: Array<{ core: RouletteCore; cluster: RedisClusterFactory }> = [];
for (const id of ['n1', 'n2']) {
  const cluster = redisCluster({ url: redis.url, name, nodeId: id });
  const core = new RouletteCore({ cluster, rateLimit: Infinity, pingIntervalMs: 600_000, deadAfterMs: 1_800_000, epochMs: 3_600_000 });
  core.start();
  await cluster.ready();
  nodes.push({ core, cluster });
}
const [n1, n2] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];

function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 1));
}

async function connect(core: RouletteCore, uco: string): Promise<MemoryConnection> {
  const conn = new MemoryConnection(core);
  conn.send({ cmd: 'connect', uco, nonce: 1 });
  await until(() => conn.lines.length > 0);
  return conn;
}

async function relay(label: string, a: RouletteCore, b: RouletteCore, tag: string): Promise<void> {
  const x = await connect(a, `x${tag}`);
  const y = await connect(b, `y${tag}`);
  await until(() => x.lines.length === 2 && y.lines.length === 2);
  const line = `{"cmd":"comm","data":"${'a'.repeat(64 - 24)}"}`; // 64 bytes + "\n"
  const chunk = Buffer.from(`${line}\n`.repeat(1_000));
  const start = process.hrtime.bigint();
  for (let sent = 0; sent < LINES; sent += 1_000) {
    x.write(chunk);
    await tick();
  }
  await until(() => y.lines.length >= 2 + LINES);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`${label}: ${LINES} lines of ${line.length} B in ${seconds.toFixed(2)} s = ${Math.round(LINES / seconds).toLocaleString('en')} lines/s`);
  x.send({ cmd: 'exit' });
  y.send({ cmd: 'exit' });
  y.lines.length = 0;
}

await relay('cross-node pair (n1 → Redis → n2)', n1.core, n2.core, 'c');
await relay('pair on one node (in-process)     ', n1.core, n1.core, 'l');

const times: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  const w = await connect(n1.core, `w${i}`);
  await tick();
  const start = process.hrtime.bigint();
  const c = new MemoryConnection(n2.core);
  c.send({ cmd: 'connect', uco: `c${i}`, nonce: 1 });
  await until(() => c.lines.length >= 2 && w.lines.length >= 2);
  times.push(Number(process.hrtime.bigint() - start) / 1e6);
  w.send({ cmd: 'exit' });
  c.send({ cmd: 'exit' });
}
times.sort((p, q) => p - q);
const pct = (p: number): string => (times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))] as number).toFixed(2);
console.log(`connect → pair across nodes, ${ROUNDS} rounds: p50 ${pct(50)} ms, p99 ${pct(99)} ms, max ${pct(100)} ms`);

for (const node of nodes) node.core.stop();
await Promise.all(nodes.map((node) => node.cluster.closed()));
await redis.stop();
