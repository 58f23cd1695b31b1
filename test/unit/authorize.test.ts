/**
 * The `authorize` hook: every `connect` (takeovers included) is decided by it; a
 * pending decision holds the connection's later lines, in order, bounded.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RouletteCore, RouletteError, type AuthorizeRequest } from '../../src/index.js';
import { exitLine, fresh, harness } from '../helpers/core.js';

/** A hook whose answers the test settles by hand. */
function controlled(): {
  hook: (request: AuthorizeRequest) => Promise<boolean>;
  requests: AuthorizeRequest[];
  settle(index: number, allowed: boolean | Error): Promise<void>;
} {
  const requests: AuthorizeRequest[] = [];
  const settlers: Array<(value: boolean | Error) => void> = [];
  return {
    requests,
    hook(request) {
      requests.push(request);
      return new Promise<boolean>((resolve, reject) => {
        settlers.push((value) => (value instanceof Error ? reject(value) : resolve(value)));
      });
    },
    async settle(index, allowed) {
      settlers[index]?.(allowed);
      // Let the core's promise chain run.
      for (let i = 0; i < 5; i++) await Promise.resolve();
    },
  };
}

describe('authorize hook', () => {
  test('not a function: ERR_INVALID_OPTION', () => {
    assert.throws(() => new RouletteCore({ authorize: 'yes' as never }), (e: unknown) => e instanceof RouletteError && e.code === 'ERR_INVALID_OPTION');
  });

  test('synchronous true accepts, false refuses with "unauthorized" then close; the hook sees uco, session, nonce, address', () => {
    const seen: AuthorizeRequest[] = [];
    const h = harness({ authorize: (r) => (seen.push(r), r.uco === 'alice') });
    const a = h.open();
    a.send({ cmd: 'connect', uco: 'al-ice', session: 's1', nonce: 42 });
    assert.deepEqual(fresh(a), ['{"ack":"42"}']);
    const m = h.open();
    m.send({ cmd: 'connect', uco: 'mallory' });
    m.send({ cmd: 'comm' });
    assert.deepEqual(fresh(m), [exitLine('unauthorized')]);
    assert.equal(m.closedBy, 'server');
    assert.deepEqual(seen[0], { uco: 'alice', session: 's1', nonce: '42', remoteAddress: 'memory' });
    assert.equal(h.core.stats().clients, 1);
  });

  test('a hook that throws, returns a non-boolean, or rejects refuses', async () => {
    for (const authorize of [
      (): boolean => {
        throw new Error('boom');
      },
      (): boolean => 1 as unknown as boolean,
      (): Promise<boolean> => Promise.reject(new Error('down')),
      (): Promise<boolean> => Promise.resolve('yes' as unknown as boolean),
    ]) {
      const h = harness({ authorize });
      const a = h.open();
      a.send({ cmd: 'connect', uco: 'a' });
      for (let i = 0; i < 5; i++) await Promise.resolve();
      assert.deepEqual(fresh(a), [exitLine('unauthorized')]);
      assert.equal(h.core.stats().clients, 0);
    }
  });

  test('a takeover goes through the hook: refused, the holder keeps its uco and pairing', () => {
    const h = harness({ authorize: ({ session }) => session !== 'thief' });
    const [a, b] = h.pair('a', 'b');
    const thief = h.open();
    thief.send({ cmd: 'connect', uco: 'a', session: 'thief' });
    assert.deepEqual(fresh(thief), [exitLine('unauthorized')]);
    assert.equal(a.isClosed, false);
    assert.equal(h.core.client('a')?.peer, 'b');
    const again = h.open();
    again.send({ cmd: 'connect', uco: 'a', session: 'mine', nonce: 2 });
    assert.deepEqual(fresh(a), [exitLine('new session')]);
    assert.deepEqual(fresh(again), ['{"ack":"2"}']);
    assert.equal(b.isClosed, false);
  });

  test('pending decision: later lines are held and processed in order after it; nothing lost or reordered', async () => {
    const c = controlled();
    const h = harness({ authorize: c.hook });
    const a = h.open();
    a.send({ cmd: 'connect', uco: 'a', nonce: 1 });
    a.send('{');
    a.write(`{"cmd":"comm","x":"${'y'.repeat(40_000)}"}\n`); // too long
    a.send({ cmd: 'comm', n: 1 });
    a.send({ cmd: 'pong' });
    assert.deepEqual(fresh(a), [], 'nothing answered before the decision');
    await c.settle(0, true);
    assert.deepEqual(fresh(a), ['{"ack":"1"}', '{"error":"invalid json"}', '{"error":"message too long"}', '{"error":"no peer","msg":{"cmd":"comm","n":1}}']);
    // New input after the decision is processed at once.
    a.send({ cmd: 'comm', n: 2 });
    assert.deepEqual(fresh(a), ['{"error":"no peer","msg":{"cmd":"comm","n":2}}']);
  });

  test('pending decision refused: the held lines are dropped with the connection', async () => {
    const c = controlled();
    const h = harness({ authorize: c.hook });
    const a = h.open();
    a.send({ cmd: 'connect', uco: 'a' });
    a.send({ cmd: 'comm' });
    await c.settle(0, false);
    assert.deepEqual(fresh(a), [exitLine('unauthorized')]);
  });

  test('a held connect goes pending again: the rest stays held behind it, in order', async () => {
    const c = controlled();
    const h = harness({ authorize: c.hook });
    const a = h.open();
    a.send({ cmd: 'connect', uco: 'a', nonce: 1 });
    a.send({ cmd: 'connect', uco: 'b', nonce: 2 });
    a.send({ cmd: 'comm', n: 1 });
    await c.settle(0, true);
    assert.deepEqual(fresh(a), ['{"ack":"1"}']);
    a.send({ cmd: 'comm', n: 2 });
    await c.settle(1, true);
    assert.deepEqual(fresh(a), ['{"ack":"2"}', '{"error":"no peer","msg":{"cmd":"comm","n":1}}', '{"error":"no peer","msg":{"cmd":"comm","n":2}}']);
    assert.equal(h.core.client('b')?.connectionId, a.handle.id);
    assert.equal(h.core.client('a'), undefined);
  });

  test('the connection closes while pending: the decision is dropped', async () => {
    const c = controlled();
    const h = harness({ authorize: c.hook });
    const a = h.open();
    a.send({ cmd: 'connect', uco: 'a' });
    a.send({ cmd: 'comm' });
    a.end();
    await c.settle(0, true);
    assert.equal(h.core.client('a'), undefined);
    assert.deepEqual(a.lines, []);
    assert.equal(h.core.stats().connections, 0);
    // Closed by the server (register timeout) while pending: likewise.
    const b = h.open();
    b.send({ cmd: 'connect', uco: 'b' });
    h.clock.advance(h.core.options.registerTimeoutMs);
    await c.settle(1, true);
    assert.deepEqual(b.lines, [exitLine('register timeout')]);
    assert.equal(h.core.client('b'), undefined);
  });

  test('over the bound of held lines the connection is closed with "flood"', () => {
    const c = controlled();
    const h = harness({ authorize: c.hook });
    const a = h.open();
    a.send({ cmd: 'connect', uco: 'a' });
    for (let i = 0; i < 100; i++) a.send({ cmd: 'pong' });
    assert.equal(a.isClosed, false, '100 held lines are fine');
    a.send({ cmd: 'pong' });
    assert.deepEqual(a.lines, [exitLine('flood')]);
    // By bytes: 64 KiB.
    const b = h.open();
    b.send({ cmd: 'connect', uco: 'b' });
    for (let i = 0; i < 3 && !b.isClosed; i++) b.send(`{"cmd":"comm","p":"${'x'.repeat(30_000)}"}`);
    assert.deepEqual(b.lines, [exitLine('flood')]);
  });

  test('while pending, the takeover target is decided on the state of the decision\'s moment', async () => {
    const c = controlled();
    const h = harness({ authorize: c.hook });
    const first = h.open();
    first.send({ cmd: 'connect', uco: 'u', nonce: 1 });
    const second = h.open();
    second.send({ cmd: 'connect', uco: 'u', nonce: 2 });
    await c.settle(1, true); // the second is decided first
    await c.settle(0, true);
    assert.deepEqual(second.lines, ['{"ack":"2"}', exitLine('new session')]);
    assert.deepEqual(first.lines, ['{"ack":"1"}']);
    assert.equal(h.core.client('u')?.connectionId, first.handle.id);
  });
});
