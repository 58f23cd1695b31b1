/**
 * The Lua scripts on their own, against a real redis-server, over 10 000 random steps
 * (seeded): registrations on three nodes (with takeovers), joins, leaves (some with a
 * stale gen), chosen pairs, lease renewals, a node that stops renewing and is reaped,
 * comes back and (mostly) reclaims the clients it still holds, epochs. A JS model follows the registry from the scripts' replies; after every step
 * the invariants are checked: the registry equals the model, pairs are symmetric and
 * only between registered clients, a free client is registered and unpaired, at most
 * one client of a live node waits, and a reaped node has no rows left.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createClient } from '@redis/client';
import { planEpoch, seededRandom } from 'chat-roulette';
import { SCRIPTS, type ScriptName } from '../src/scripts.js';
import { skipReason, startRedis, type RedisServer } from './redis-server.js';

const skip = skipReason();
const STEPS = 10_000;
const NAME = `model${process.pid}`;
const P = `cr:{${NAME}}:`;
const KEYS = ['own', 'peer', 'free', 'nodes', 'seq', 'leader', 'epoch', 'epair'].map((k) => P + k);
const NODES = ['n1', 'n2', 'n3'];

let redis: RedisServer;
before(async () => {
  if (skip === false) redis = await startRedis();
});
after(async () => {
  await redis?.stop();
});

test(`the scripts keep the registry and the pairs consistent over ${STEPS} random steps`, { skip }, async () => {
  const client = createClient({ url: redis.url, RESP: 2 });
  await client.connect();
  const run = (name: ScriptName, node: string, args: string[]): Promise<unknown> =>
    client.sendCommand(['EVAL', SCRIPTS[name], String(KEYS.length + 1), ...KEYS, `${P}byn:${node}`, `${P}in:`, node, ...args]);
  const random = seededRandom('scripts-model');
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  /** The model: uco → node|conn|gen, from the scripts' replies. */
  const model = new Map<string, string>();
  let conn = 0;
  /** Nodes that renew their lease; a stopped node is reaped by the others. */
  const renewing = new Set(NODES);
  const reaped = new Set<string>();
  /** A reaped node's clients as it still holds them (uco, conn, gen, local peer): a restart may reclaim them. */
  const lost = new Map<string, Array<[string, string, string, string]>>();
  for (const node of NODES) await run('beat', node, ['60000', '0', '1', '3600000']);
  const counts: Record<string, number> = {};
  try {
    for (let step = 0; step < STEPS; step++) {
      const live = NODES.filter((n) => renewing.has(n));
      const r = random();
      let op: string;
      if (r < 0.35 && live.length > 0) {
        op = 'register';
        const node = pick(live);
        const uco = `u${Math.floor(random() * 40)}`;
        const c = ++conn;
        const reply = (await run('register', node, [String(c), uco, '30'])) as [number, number];
        if (reply[0] === 1) {
          model.set(uco, `${node}|${c}|${reply[1]}`);
          if (random() < 0.8) await run('join', node, [uco, String(c), String(reply[1])]);
        } else {
          assert.equal(reply[0], 0, 'a live node is refused only when full');
          assert.ok(!model.has(uco) && model.size >= 30, 'server full only without takeover, at 30 clients');
        }
      } else if (r < 0.6 && model.size > 0) {
        op = 'leave';
        const [uco, row] = pick([...model]);
        const [node, c, gen] = row.split('|') as [string, string, string];
        const stale = random() < 0.2;
        const done = await run('leave', node, [c, stale ? String(Number(gen) - 1) : gen, uco, 'client exit']);
        if (stale) assert.equal(done, 0, 'a stale leave changes nothing');
        else model.delete(uco);
      } else if (r < 0.7 && model.size > 1) {
        op = 'choose';
        const [a, ar] = pick([...model]);
        const same = [...model].filter(([u, row]) => u !== a && row.split('|')[0] === ar.split('|')[0]);
        if (same.length > 0) {
          const [b, br] = pick(same);
          const [node, ca, ga] = ar.split('|') as [string, string, string];
          const [, cb, gb] = br.split('|') as [string, string, string];
          if (renewing.has(node)) await run('choose', node, [a, ca, ga, b, cb, gb]);
        }
      } else if (r < 0.75) {
        op = 'epoch';
        const leader = await client.get(`${P}leader`);
        if (leader !== null && renewing.has(leader)) await epoch(leader);
      } else if (r < 0.77 && live.length > 1) {
        op = 'kill';
        // The node stops renewing: its lease is ended now, and another node reaps it.
        const node = pick(live);
        renewing.delete(node);
        const peers = await client.hGetAll(`${P}peer`);
        const held: Array<[string, string, string, string]> = [];
        for (const [u, row] of model) {
          if (!row.startsWith(`${node}|`)) continue;
          const [, c, gen] = row.split('|') as [string, string, string];
          const other = peers[u]?.slice(peers[u].indexOf('|') + 1);
          held.push([u, c, gen, other !== undefined && model.get(other)?.startsWith(`${node}|`) === true ? other : '']);
        }
        lost.set(node, held);
        await client.zAdd(`${P}nodes`, { score: 1, value: node });
        const reaper = pick(NODES.filter((n) => renewing.has(n)));
        await run('beat', reaper, ['60000', '0', '0', '3600000']);
        while ((await run('reap', node, ['0', '0'])) === 1);
        reaped.add(node);
        for (const [u, row] of model) if (row.startsWith(`${node}|`)) model.delete(u);
      } else if (r < 0.79 && renewing.size < NODES.length) {
        op = 'restart';
        const node = pick(NODES.filter((n) => !renewing.has(n)));
        renewing.add(node);
        reaped.delete(node);
        await run('beat', node, ['60000', '0', '1', '3600000']);
        const held = lost.get(node) ?? [];
        lost.delete(node);
        if (random() < 0.6 && held.length > 0) {
          // The node was alive all along (its lease lapsed): its clients take their rows back.
          op = 'reclaim';
          const args = [String(conn)];
          for (const entry of held) args.push(...entry);
          const reply = (await run('reclaim', node, args)) as Array<number | string>;
          const restored = new Set<string>();
          for (let i = held.length; i < reply.length; i += 2) {
            const a = held.find(([u]) => u === String(reply[i]));
            assert.ok(a !== undefined && a[3] !== '', `restored ${String(reply[i])} had a local peer`);
            restored.add(a[0]).add(a[3]);
          }
          for (const [i, [u, c, gen]] of held.entries()) {
            const taken = model.has(u);
            assert.equal(reply[i], taken ? 0 : 2, `reclaim of ${u}: ${taken ? 'held by a newer registration' : 'written back'}`);
            if (taken) continue;
            model.set(u, `${node}|${c}|${gen}`);
          }
          for (const [u, c, gen, other] of held) {
            if (model.get(u) !== `${node}|${c}|${gen}`) continue;
            if (other !== '' && model.get(other)?.startsWith(`${node}|`) === true) assert.ok(restored.has(u), `the local pair ${u}-${other} is restored`);
            if (!restored.has(u)) await run('join', node, [u, c, gen]);
          }
        }
      } else {
        op = 'beat';
        if (live.length > 0) await run('beat', pick(live), ['60000', '0', '0', '3600000']);
      }
      counts[op] = (counts[op] ?? 0) + 1;
      await check(step, op);
    }
  } finally {
    await client.close();
  }
  assert.ok((counts.register ?? 0) > 2_000 && (counts.kill ?? 0) > 50 && (counts.epoch ?? 0) > 200 && (counts.reclaim ?? 0) > 20, JSON.stringify(counts));

  async function epoch(leader: string): Promise<void> {
    const begun = (await run('epochBegin', leader, ['3600000', '1'])) as [number, number];
    const n = begun[0];
    const own = await client.hGetAll(`${P}own`);
    const peer = await client.hGetAll(`${P}peer`);
    const clients = Object.keys(own).filter((u) => renewing.has((own[u] as string).split('|')[0] as string));
    const pairs = planEpoch(clients, (u) => peer[u]?.split('|')[1], random);
    const leftOut = clients.length % 2 === 1 ? [clients[clients.length - 1] as string] : [];
    const args = [String(n), String(clients.length)];
    for (const [a, b] of pairs) args.push(a, own[a] as string, b, own[b] as string);
    const left = (await run('epochCommit', leader, args)) as string[];
    await run('epochFinish', leader, [String(n), ...leftOut, ...left]);
    // Nobody keeps the previous peer when another choice exists.
    const now = await client.hGetAll(`${P}peer`);
    if (clients.length > 2) {
      for (const u of clients) if (now[u] !== undefined && peer[u] !== undefined) assert.notEqual(now[u]?.split('|')[1], peer[u]?.split('|')[1], `epoch ${n}: ${u} repeats its peer`);
    }
  }

  async function check(step: number, op: string): Promise<void> {
    const [own, peer, free] = await Promise.all([client.hGetAll(`${P}own`), client.hGetAll(`${P}peer`), client.sMembers(`${P}free`)]);
    const where = `step ${step} (${op})`;
    assert.deepEqual(own, Object.fromEntries(model), `${where}: the registry equals the model`);
    for (const [u, row] of Object.entries(peer)) {
      const i = row.indexOf('|');
      const other = row.slice(i + 1);
      assert.equal(peer[other], `${row.slice(0, i)}|${u}`, `${where}: ${u}'s pair is symmetric`);
      assert.ok(own[u] !== undefined, `${where}: paired ${u} is registered`);
    }
    let waiting = 0;
    for (const u of free) {
      assert.ok(own[u] !== undefined, `${where}: free ${u} is registered`);
      assert.equal(peer[u], undefined, `${where}: free ${u} is unpaired`);
      if (renewing.has((own[u] as string).split('|')[0] as string)) waiting++;
    }
    assert.ok(waiting <= 1, `${where}: ${waiting} clients of live nodes wait`);
    for (const node of reaped) assert.equal(await client.exists(`${P}byn:${node}`), 0, `${where}: reaped ${node} has no rows`);
  }
});
