/** PROTOCOL §5 Liveness. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MemoryConnection } from '../../src/index.js';
import { exitLine, fresh, harness, pairLine, PING, pong } from '../helpers/core.js';

test('PROTOCOL §5: a client that never answered is dead deadAfterMs (default 7000) after its registration', () => {
  const h = harness();
  h.clock.advance(500);
  const a = h.client('alice');
  h.clock.advance(6999);
  assert.equal(a.isClosed, false);
  assert.deepEqual(fresh(a), Array(7).fill(PING));
  h.clock.advance(1);
  assert.deepEqual(fresh(a), [exitLine('timeout')]);
  assert.equal(a.closedBy, 'server');
  assert.equal(h.core.client('alice'), undefined);
});

test('PROTOCOL §5: a client whose last pong is older than deadAfterMs gets {"exit":true,"reason":"timeout"}, is unregistered, unpaired and closed', () => {
  const h = harness();
  const [a, b] = h.pair('alice', 'bob');
  h.clock.advance(1000);
  pong(a, b);
  h.clock.advance(2000);
  pong(b); // alice's last pong: t=1100
  for (let t = 0; t < 4; t++) {
    h.clock.advance(1000);
    pong(b);
  }
  h.clock.advance(999);
  assert.equal(a.isClosed, false, 'alive at t=8099 (last pong at 1100)');
  h.clock.advance(1);
  assert.equal(a.lines.at(-1), exitLine('timeout'));
  assert.equal(a.closedBy, 'server');
  assert.equal(h.core.client('alice'), undefined);
  assert.equal(h.core.client('bob')?.peer, undefined);
  assert.equal(b.isClosed, false);
  assert.ok(!fresh(b).some((l) => l !== PING), 'the peer gets nothing but pings');
});

test('PROTOCOL §5: a client that answers every ping stays registered indefinitely', () => {
  const h = harness();
  const a = h.client('alice');
  for (let t = 0; t < 100; t++) {
    h.clock.advance(1000);
    pong(a);
  }
  assert.equal(a.isClosed, false);
  assert.ok(fresh(a).every((l) => l === PING));
});

test('PROTOCOL §5: deadAfterMs is configurable', () => {
  const h = harness({ deadAfterMs: 2500 });
  const a = h.client('alice');
  h.clock.advance(2499);
  assert.equal(a.isClosed, false);
  h.clock.advance(1);
  assert.equal(a.lines.at(-1), exitLine('timeout'));
});

test('PROTOCOL §5: a connection whose transport closes is removed at once, and unpaired', () => {
  const h = harness();
  const [a, b] = h.pair('alice', 'bob');
  a.end();
  assert.equal(h.core.client('alice'), undefined);
  assert.equal(h.core.stats().connections, 1);
  assert.equal(h.core.client('bob')?.peer, undefined);
  assert.deepEqual(fresh(a), [], 'nothing is written to a closed transport');
  assert.deepEqual(fresh(b), []);
});

test('PROTOCOL §5: a connection whose transport errors is removed at once, and unpaired', () => {
  const h = harness();
  const [a] = h.pair('alice', 'bob');
  a.fail(new Error('ECONNRESET'));
  assert.equal(h.core.client('alice'), undefined);
  assert.equal(h.core.client('bob')?.peer, undefined);
  assert.equal(h.core.stats().connections, 1);
});

test('PROTOCOL §5: a connection that has not sent connect within registerTimeoutMs (default 7000) gets "register timeout" and is closed', () => {
  const h = harness();
  const a = h.open();
  a.send({ cmd: 'comm' });
  fresh(a);
  h.clock.advance(6999);
  assert.equal(a.isClosed, false);
  h.clock.advance(1);
  assert.deepEqual(fresh(a), [exitLine('register timeout')]);
  assert.equal(a.closedBy, 'server');
  assert.equal(h.core.stats().connections, 0);
});

test('PROTOCOL §5: registering in time cancels the register timeout', () => {
  const h = harness({ registerTimeoutMs: 3000 });
  const a = h.open();
  h.clock.advance(2999);
  a.send({ cmd: 'connect', uco: 'alice', nonce: 1 });
  for (let t = 0; t < 10; t++) {
    h.clock.advance(1000);
    pong(a);
  }
  assert.equal(a.isClosed, false);
});

test('PROTOCOL §5: registerTimeoutMs is configurable and counts from the connection, not from the core start', () => {
  const h = harness({ registerTimeoutMs: 500 });
  h.clock.advance(10_000);
  const a = h.open();
  h.clock.advance(499);
  assert.equal(a.isClosed, false);
  h.clock.advance(1);
  assert.equal(a.lines.at(-1), exitLine('register timeout'));
});

test('PROTOCOL §5: a dead client is never chosen for pairing (its deadline and an epoch fall on the same ms)', () => {
  const h = harness({ epochMs: 10_000, deadAfterMs: 3000 });
  const b = h.client('bob');
  const c = h.client('carol');
  let a: MemoryConnection | undefined;
  for (let t = 1; t <= 10; t++) {
    h.clock.advance(1000);
    pong(b, c);
    if (t === 7) a = h.client('alice'); // never answers: dead at t=10000, the epoch boundary
  }
  assert.ok(a !== undefined);
  assert.equal(h.core.epoch, 1);
  assert.equal(a.lines.at(-1), exitLine('timeout'));
  assert.ok(!a.lines.some((l) => l.startsWith('{"cmd":"pair"')), `alice got ${a.lines.join(' ')}`);
  assert.ok(!b.lines.includes(pairLine('alice')) && !c.lines.includes(pairLine('alice')));
  assert.equal(h.core.client('bob')?.peer, 'carol');
});

test('PROTOCOL §5: a dead client is never chosen for pairing (its deadline and a free-client pairing fall on the same ms)', () => {
  const h = harness({ deadAfterMs: 3000, registerTimeoutMs: 3000, pairDelayMs: 500 });
  h.open(); // register deadline at t=3000: the deadline timer for t=3100 is armed only then
  h.clock.advance(100);
  const a = h.client('alice'); // never answers: dead at t=3100
  h.clock.advance(2500);
  const b = h.client('bob'); // alice and bob are due to be paired at t=3100 (timer armed at t=2600)
  h.clock.advance(500);
  assert.equal(a.lines.at(-1), exitLine('timeout'));
  assert.ok(!a.lines.includes(pairLine('bob')), `alice got ${a.lines.join(' ')}`);
  assert.ok(!b.lines.includes(pairLine('alice')), `bob got ${b.lines.join(' ')}`);
});

test('PROTOCOL §5: a closed client is never chosen for pairing', () => {
  const h = harness();
  const a = h.client('alice');
  const b = h.client('bob');
  a.end();
  const c = h.client('carol');
  h.clock.advance(100);
  assert.deepEqual(fresh(b), [pairLine('carol')]);
  assert.deepEqual(fresh(c), [pairLine('bob')]);
  h.core.nextEpoch();
  assert.ok(!b.lines.includes(pairLine('alice')) && !c.lines.includes(pairLine('alice')));
});

test('PROTOCOL §3 pong: the raw bytes a socket sends (framed, CRLF too, over the rate limit) refresh liveness; unregistered, ignored without a reply', () => {
  const h = harness({ rateLimit: 1, rateBurst: 1 });
  const a = h.client('alice');
  const stranger = h.open();
  for (let t = 0; t < 10; t++) {
    h.clock.advance(1000);
    a.write(t % 2 === 0 ? '{"cmd":"pong"}\n' : '{"cmd":"pong"}\r\n');
    a.write('{"cmd":"pong"}\n{"cmd":"pong"}\n'); // over the limit of 1/s: pongs are exempt
    stranger.write('{"cmd":"pong"}\n');
  }
  assert.equal(a.isClosed, false, 'alive after 10 s of raw pongs (deadAfterMs 7000)');
  assert.ok(fresh(a).every((l) => l === PING), 'nothing but pings: no rate-limit reply');
  assert.ok(stranger.isClosed, 'the stranger never registered: register timeout');
  assert.ok(!stranger.lines.some((l) => l.includes('error')), 'a pong before connect gets no reply');
  h.core.stop();
});
