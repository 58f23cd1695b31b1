/**
 * Hostile input limits: the per-connection rate limit (token bucket on the injected
 * clock) and the cap on connections per remote address.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULTS, MemoryConnection, RouletteCore, RouletteError, type ProtocolErrorEvent } from '../../src/index.js';
import { exitLine, fresh, harness } from '../helpers/core.js';

describe('rateLimit / rateBurst', () => {
  test('defaults: 1000 messages/s, bursts of 2000; Infinity turns it off; bad values throw', () => {
    assert.equal(DEFAULTS.rateLimit, 1000);
    assert.equal(DEFAULTS.rateBurst, 2000);
    assert.doesNotThrow(() => new RouletteCore({ rateLimit: Infinity }));
    for (const bad of [0, -1, 1.5, NaN, '10']) {
      assert.throws(() => new RouletteCore({ rateLimit: bad as number }), (e: unknown) => e instanceof RouletteError && e.code === 'ERR_INVALID_OPTION');
    }
    assert.throws(() => new RouletteCore({ rateBurst: Infinity }), RouletteError);
    assert.throws(() => new RouletteCore({ rateBurst: 0 }), RouletteError);
  });

  test('over the burst a comm is dropped, never relayed, and counted: one "rate limited" reply per interval; stats count lines, protocolError replies', () => {
    const h = harness({ rateLimit: 1, rateBurst: 5 });
    const events: ProtocolErrorEvent[] = [];
    h.core.on('protocolError', (e) => events.push(e));
    const [a, b] = h.pair('a', 'b'); // a used 1 token for connect: 4 left (+0.1 during pairDelayMs)
    for (let i = 0; i < 6; i++) a.send(`{"cmd":"comm","i":${i}}`);
    assert.deepEqual(fresh(b), [0, 1, 2, 3].map((i) => `{"cmd":"comm","i":${i}}`));
    assert.deepEqual(fresh(a), ['{"error":"rate limited","msg":{"cmd":"comm","i":4},"dropped":1}']);
    assert.equal(h.core.stats().errors['rate limited'], 2);
    assert.equal(h.core.stats().relayedMessages, 4);
    assert.deepEqual(events.map((e) => [e.kind, e.dropped]), [['rate limited', 1]]);
    assert.equal(events[0]?.uco, 'a');
  });

  test('tokens refill at rateLimit per second on the clock, up to rateBurst', () => {
    const h = harness({ rateLimit: 1, rateBurst: 5, deadAfterMs: 1_000_000, epochMs: 1_000_000 });
    const [a, b] = h.pair('a', 'b');
    for (let i = 0; i < 10; i++) a.send({ cmd: 'comm' });
    assert.equal(fresh(b).filter((l) => l.startsWith('{"cmd":"comm"')).length, 4);
    h.clock.advance(1000); // 0.1 token left after pairing, + 1: one token
    a.send({ cmd: 'comm' });
    a.send({ cmd: 'comm' });
    assert.equal(fresh(b).filter((l) => l.startsWith('{"cmd":"comm"')).length, 1);
    h.clock.advance(60_000); // a full bucket, not more
    fresh(a);
    for (let i = 0; i < 7; i++) a.send({ cmd: 'comm' });
    assert.equal(fresh(b).filter((l) => l.startsWith('{"cmd":"comm"')).length, 5);
    assert.equal(h.core.stats().errors['rate limited'], 6 + 1 + 2);
  });

  test('under the limit, invalid lines take tokens but keep their own reply; blank lines are free', () => {
    const h = harness({ rateLimit: 1, rateBurst: 2 });
    const a = h.open();
    a.write('\n  \n\r\n');
    a.send('{');
    a.send('[1]');
    a.send({ cmd: 'connect', uco: 'a' });
    assert.deepEqual(fresh(a), [
      '{"error":"invalid json"}',
      '{"error":"invalid message"}',
      '{"error":"rate limited","msg":{"cmd":"connect","uco":"a"},"dropped":1}',
    ]);
    assert.equal(h.core.client('a'), undefined);
  });

  test('each connection has its own bucket; a flooder does not slow its peer', () => {
    const h = harness({ rateLimit: 5, rateBurst: 5 });
    const [a, b] = h.pair('a', 'b');
    for (let i = 0; i < 50; i++) a.send({ cmd: 'comm' });
    b.send({ cmd: 'comm', ok: true });
    assert.equal(a.lines.at(-1), '{"cmd":"comm","ok":true}');
  });

  test('rateLimit Infinity: no limit and no clock read', () => {
    const h = harness({ rateLimit: Infinity, rateBurst: 1 });
    const [a, b] = h.pair('a', 'b');
    for (let i = 0; i < 5000; i++) a.send({ cmd: 'comm' });
    assert.equal(fresh(b).length, 5000);
    assert.equal(h.core.stats().errors['rate limited'], 0);
  });
});

describe('maxConnectionsPerAddress', () => {
  test('default off; bad values throw', () => {
    assert.equal(DEFAULTS.maxConnectionsPerAddress, Infinity);
    assert.throws(() => new RouletteCore({ maxConnectionsPerAddress: 0 }), RouletteError);
  });

  test('one more connection from an address is told "too many connections" and closed; others are not affected', async () => {
    const h = harness({ maxConnectionsPerAddress: 2 });
    const opened = (address: string): MemoryConnection => new MemoryConnection(h.core, { remoteAddress: address });
    const a1 = opened('10.0.0.1');
    const a2 = opened('10.0.0.1');
    const a3 = opened('10.0.0.1');
    const b1 = opened('10.0.0.2');
    assert.deepEqual(a3.lines, [exitLine('too many connections')]);
    await Promise.resolve(); // the transport is closed on the next microtask
    assert.equal(a3.closedBy, 'server');
    assert.equal(h.core.stats().connections, 3);
    a3.send({ cmd: 'connect', uco: 'x' });
    assert.equal(a3.lines.length, 1, 'nothing after exit');
    for (const conn of [a1, a2, b1]) assert.equal(conn.isClosed, false);
    // A slot freed by a close is reusable.
    a1.end();
    const a4 = opened('10.0.0.1');
    a4.send({ cmd: 'connect', uco: 'a4', nonce: 7 });
    assert.deepEqual(a4.lines, ['{"ack":"7"}']);
  });

  test('a connection closed as over the limit is not counted, and never times out', async () => {
    const h = harness({ maxConnectionsPerAddress: 1 });
    const first = new MemoryConnection(h.core, { remoteAddress: 'x' });
    for (let i = 0; i < 10; i++) new MemoryConnection(h.core, { remoteAddress: 'x' });
    await Promise.resolve();
    assert.equal(h.core.stats().connections, 1);
    first.end();
    assert.equal(h.core.stats().connections, 0);
    const again = new MemoryConnection(h.core, { remoteAddress: 'x' });
    assert.equal(again.lines.length, 0);
  });
});
