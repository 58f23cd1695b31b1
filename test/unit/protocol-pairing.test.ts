/** PROTOCOL §6 Pairing. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MemoryConnection, RouletteCore } from '../../src/index.js';
import { exitLine, fresh, harness, pairLine, PING, pong, ucoOf } from '../helpers/core.js';

/** Current pairs as sorted "a-b" strings. */
function pairsOf(core: RouletteCore): string[] {
  const out = new Set<string>();
  for (const c of core.clients()) if (c.peer !== undefined) out.add([c.uco, c.peer].sort().join('-'));
  return [...out].sort();
}

/** Lines other than pings. */
function notPings(conn: MemoryConnection): string[] {
  return fresh(conn).filter((l) => l !== PING);
}

test('PROTOCOL §6 epoch: every epochMs (default 30000) a new epoch starts and every live registered client is paired', () => {
  const h = harness({ seed: 1 });
  const conns = ['a', 'b', 'c', 'd'].map((u) => h.client(u));
  h.clock.advance(100);
  for (let t = 0; t < 29; t++) {
    h.clock.advance(1000);
    pong(...conns);
  }
  assert.equal(h.core.epoch, 0);
  h.clock.advance(29_999 - h.clock.now());
  assert.equal(h.core.epoch, 0);
  h.clock.advance(1);
  assert.equal(h.core.epoch, 1);
  assert.equal(pairsOf(h.core).length, 2);
  for (const conn of conns) assert.ok(h.core.client(ucoOf(h.core, conn) as string)?.peer !== undefined);
  h.clock.advance(30_000 - 1000);
  for (const conn of conns) pong(conn);
  h.clock.advance(1000);
  assert.equal(h.core.epoch, 2);
});

test('PROTOCOL §6 epoch: all pairs are dissolved and re-formed; each side of a new pair receives {"cmd":"pair","uco":"<the other\'s uco>"}', () => {
  const h = harness({ seed: 'x' });
  const conns = new Map(['a', 'b', 'c', 'd'].map((u) => [u, h.client(u)] as const));
  h.clock.advance(100);
  const before = pairsOf(h.core);
  for (const conn of conns.values()) fresh(conn);
  h.core.nextEpoch();
  const after = pairsOf(h.core);
  assert.equal(after.length, 2);
  assert.notDeepEqual(after, before);
  for (const [uco, conn] of conns) {
    assert.deepEqual(fresh(conn), [pairLine(h.core.client(uco)?.peer as string)]);
  }
});

test('PROTOCOL §6 epoch: with an odd number one client stays free (and gets no pair message)', () => {
  const h = harness({ seed: 3 });
  const conns = ['a', 'b', 'c', 'd', 'e'].map((u) => h.client(u));
  for (const conn of conns) fresh(conn);
  h.core.nextEpoch();
  const free = h.core.clients().filter((c) => c.peer === undefined);
  assert.equal(free.length, 1);
  assert.equal(pairsOf(h.core).length, 2);
  const freeConn = conns.find((c) => ucoOf(h.core, c) === free[0]?.uco) as MemoryConnection;
  assert.deepEqual(fresh(freeConn), []);
  freeConn.send({ cmd: 'comm' });
  assert.deepEqual(fresh(freeConn), ['{"error":"no peer","msg":{"cmd":"comm"}}']);
});

test('PROTOCOL §6 epoch: a client is not given the same peer as in the previous epoch when another choice exists (4 clients)', () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    const h = harness({ seed: seed });
    for (const u of ['a', 'b', 'c', 'd']) h.client(u);
    let previous = new Map<string, string | undefined>();
    for (let epoch = 0; epoch < 20; epoch++) {
      h.core.nextEpoch();
      const now = new Map(h.core.clients().map((c) => [c.uco, c.peer]));
      for (const [uco, peer] of now) {
        assert.ok(peer !== undefined);
        assert.notEqual(peer, previous.get(uco), `seed ${seed} epoch ${epoch}: ${uco} got ${peer} again`);
      }
      previous = now;
    }
  }
});

test('PROTOCOL §6 epoch: no repeat with 3 clients (the free one is chosen instead)', () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    const h = harness({ seed: seed });
    for (const u of ['a', 'b', 'c']) h.client(u);
    let previous = pairsOf(h.core);
    for (let epoch = 0; epoch < 20; epoch++) {
      h.core.nextEpoch();
      const now = pairsOf(h.core);
      assert.equal(now.length, 1);
      assert.notDeepEqual(now, previous, `seed ${seed} epoch ${epoch}`);
      previous = now;
    }
  }
});

test('PROTOCOL §6 epoch: no repeat among many clients, over many epochs', () => {
  const h = harness({ seed: 'many' });
  for (let i = 0; i < 31; i++) h.client(`u${i}`);
  let previous = new Map<string, string | undefined>();
  for (let epoch = 0; epoch < 50; epoch++) {
    h.core.nextEpoch();
    const now = new Map(h.core.clients().map((c) => [c.uco, c.peer]));
    assert.equal([...now.values()].filter((p) => p === undefined).length, 1);
    for (const [uco, peer] of now) if (peer !== undefined) assert.notEqual(peer, previous.get(uco));
    previous = now;
  }
});

test('PROTOCOL §6 epoch: with exactly two clients the same peer is the only choice and is given again', () => {
  const h = harness();
  const [a, b] = h.pair('a', 'b');
  h.core.nextEpoch();
  assert.deepEqual(fresh(a), [pairLine('b')]);
  assert.deepEqual(fresh(b), [pairLine('a')]);
});

test('PROTOCOL §6 epoch: pairing is at random (different seeds give different pairings; one seed is reproducible)', () => {
  const run = (seed: number) => {
    const h = harness({ seed: seed });
    for (const u of ['a', 'b', 'c', 'd', 'e', 'f']) h.client(u);
    const seen: string[] = [];
    for (let i = 0; i < 5; i++) {
      h.core.nextEpoch();
      seen.push(pairsOf(h.core).join(' '));
    }
    return seen.join(' | ');
  };
  assert.equal(run(11), run(11));
  const distinct = new Set([1, 2, 3, 4, 5, 6].map(run));
  assert.ok(distinct.size > 1);
});

test('PROTOCOL §6: between epochs, a newly registered client is paired with another free one within pairDelayMs (default 100)', () => {
  const h = harness();
  const a = h.client('alice');
  h.clock.advance(5000);
  pong(a);
  assert.deepEqual(notPings(a), []);
  const b = h.client('bob');
  h.clock.advance(100);
  assert.deepEqual(notPings(a), [pairLine('bob')]);
  assert.deepEqual(notPings(b), [pairLine('alice')]);
  assert.equal(h.core.epoch, 0);
});

test('PROTOCOL §6: pairDelayMs is configurable (0 pairs on the next timer turn)', () => {
  const h = harness({ pairDelayMs: 0 });
  const a = h.client('alice');
  const b = h.client('bob');
  assert.equal(h.core.client('alice')?.peer, undefined);
  h.clock.flush();
  assert.deepEqual(fresh(a), [pairLine('bob')]);
  assert.deepEqual(fresh(b), [pairLine('alice')]);
  const h2 = harness({ pairDelayMs: 2000 });
  h2.client('x');
  h2.client('y');
  h2.clock.advance(1999);
  assert.equal(h2.core.client('x')?.peer, undefined);
  h2.clock.advance(1);
  assert.equal(h2.core.client('x')?.peer, 'y');
});

test('PROTOCOL §6: a lone free client stays free (no pair message) until another free client exists', () => {
  const h = harness();
  const a = h.client('alice');
  for (let t = 0; t < 20; t++) {
    h.clock.advance(1000);
    pong(a);
  }
  assert.deepEqual(notPings(a), []);
});

test('PROTOCOL §6: pairs formed between epochs are "immediate", at boundaries "epoch" (paired event)', () => {
  const h = harness();
  const kinds: string[] = [];
  h.core.on('paired', (e) => kinds.push(`${e.kind}@${e.epoch}`));
  h.pair('a', 'b');
  h.core.nextEpoch();
  assert.deepEqual(kinds, ['immediate@0', 'epoch@1']);
});

type Harness = ReturnType<typeof harness>;
for (const [how, comesBack, leave] of [
  ['exit', false, (_h: Harness, c: MemoryConnection) => c.send({ cmd: 'exit' })],
  ['closed', false, (_h: Harness, c: MemoryConnection) => c.end()],
  ['errored', false, (_h: Harness, c: MemoryConnection) => c.fail()],
  ['replaced', true, (h: Harness) => h.open().send({ cmd: 'connect', uco: 'bob', nonce: 1 })],
  ['re-registered', true, (_h: Harness, c: MemoryConnection) => c.send({ cmd: 'connect', uco: 'zed' })],
] as const) {
  test(`PROTOCOL §6: when a client leaves (${how}), its peer becomes free and is paired again; no "unpaired" message`, () => {
    const h = harness();
    const [a, b] = h.pair('alice', 'bob');
    // The only other free client: carol, or the leaver under its new connection or uco.
    const other = comesBack ? (how === 'replaced' ? 'bob' : 'zed') : 'carol';
    if (!comesBack) h.client('carol');
    leave(h, b);
    assert.equal(h.core.client('alice')?.peer, undefined);
    assert.deepEqual(fresh(a), [], 'nothing is sent to the freed peer');
    h.clock.advance(h.core.options.pairDelayMs);
    assert.equal(h.core.client('alice')?.peer, other);
    assert.deepEqual(fresh(a), [pairLine(other)]);
  });
}

test('PROTOCOL §6: when a client times out, its peer becomes free and is paired again; no "unpaired" message', () => {
  const h = harness();
  const [a, b] = h.pair('alice', 'bob');
  let c: MemoryConnection | undefined;
  for (let t = 1; t <= 7; t++) {
    h.clock.advance(1000);
    pong(a);
    if (c !== undefined) pong(c);
    if (t === 3) c = h.client('carol');
  }
  assert.equal(b.lines.at(-1), exitLine('timeout'));
  assert.deepEqual(notPings(a), [pairLine('carol')]);
});

test('PROTOCOL §6: the epoch timer keeps its schedule when an epoch is started by hand', () => {
  const h = harness();
  const conns = [h.client('a'), h.client('b')];
  h.clock.advance(10_000 - 1000);
  h.core.nextEpoch();
  for (let t = 0; t < 20; t++) {
    pong(...conns);
    h.clock.advance(1000);
  }
  assert.equal(h.core.epoch, 1);
  pong(...conns);
  h.clock.advance(1000);
  assert.equal(h.core.epoch, 2);
});

test('PROTOCOL §6: epochStarted reports the live clients and the pairs formed', () => {
  const h = harness();
  const events: unknown[] = [];
  h.core.on('epochStarted', (e) => events.push(e));
  for (const u of ['a', 'b', 'c']) h.client(u);
  h.core.nextEpoch();
  assert.deepEqual(events, [{ epoch: 1, clients: 3, pairs: 1 }]);
});
