/**
 * Flood control (issue 15): the rate limit never silences a heartbeat, its refusals
 * cannot amplify a flood, and a slow consumer reads why it was cut. Driven by the
 * ManualClock; the over-TCP half is in test/integration/tcp.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RATE_LIMIT_REPLY_INTERVAL_MS, type ProtocolErrorEvent } from '../../src/index.js';
import { exitLine, fresh, harness, PING } from '../helpers/core.js';

/** The `rate limited` replies among `lines`, parsed. */
function counted(lines: readonly string[]): Array<{ msg?: unknown; dropped: number }> {
  return lines.filter((l) => l.startsWith('{"error":"rate limited"')).map((l) => JSON.parse(l) as { msg?: unknown; dropped: number });
}

describe('flood control', () => {
  test('PROTOCOL §5 liveness: a client flooding at 10× rateLimit for longer than deadAfterMs while answering pings is not dropped', () => {
    const h = harness({ rateLimit: 20, rateBurst: 20, pingIntervalMs: 1_000, deadAfterMs: 3_000, epochMs: 1_000_000 });
    const [a, b] = h.pair('a', 'b');
    let sent = 0;
    // 200 lines/s (10× the limit) for 10 s; every ping answered at once, in the flood.
    for (let ms = 0; ms < 10_000; ms += 5) {
      a.send({ cmd: 'comm', n: sent++ });
      for (const line of fresh(a)) if (line === PING) a.send({ cmd: 'pong' });
      for (const line of fresh(b)) if (line === PING) b.send({ cmd: 'pong' });
      h.clock.advance(5);
    }
    assert.equal(a.isClosed, false, 'still connected');
    assert.equal(h.core.client('a')?.peer, 'b');
    assert.ok(h.core.stats().relayedMessages >= 200, 'the flood was relayed up to the limit');
    // exit is never refused either, however far over the limit.
    for (let i = 0; i < 100; i++) a.send({ cmd: 'comm' });
    a.send({ cmd: 'exit' });
    assert.equal(a.lines.at(-1), exitLine('client exit'));
  });

  test('PROTOCOL §3 pong/exit bypass the rate limit: they neither take a token nor are refused (a uco given as a number included)', () => {
    const h = harness({ rateLimit: 1, rateBurst: 3, deadAfterMs: 1_000_000, epochMs: 1_000_000 });
    const [a, b] = h.pair('a', 'b');
    for (let i = 0; i < 50; i++) a.send({ cmd: 'pong', uco: i % 2 === 0 ? 'a' : undefined });
    a.send({ cmd: 'comm', n: 1 });
    assert.deepEqual(fresh(b), ['{"cmd":"comm","n":1}'], 'the pongs took no token');
    assert.deepEqual(fresh(a), []);
    const num = h.client('433');
    for (let i = 0; i < 10; i++) num.send({ cmd: 'comm' });
    fresh(num);
    num.send({ cmd: 'pong', uco: 433 });
    assert.deepEqual(fresh(num), [], 'a pong with its uco as a number is not refused');
    // A pong naming another uco is no heartbeat of this connection: it is limited like any line.
    num.send({ cmd: 'pong', uco: 'a' });
    assert.deepEqual(fresh(num), []);
    assert.equal(h.core.stats().errors['uco mismatch'], 0);
  });

  test('counted refusal: one reply per interval with msg (the first refused line) and dropped (lines it counts); every refused line counted once', () => {
    const h = harness({ rateLimit: 1, rateBurst: 5, deadAfterMs: 1_000_000, epochMs: 1_000_000 });
    const events: ProtocolErrorEvent[] = [];
    h.core.on('protocolError', (e) => events.push(e));
    const [a, b] = h.pair('a', 'b'); // at 100 ms; connect took a token: 4 left (+0.1 during pairDelayMs)
    for (let i = 0; i < 10; i++) a.send(`{"cmd":"comm","i":${i}}`);
    assert.deepEqual(fresh(b), [0, 1, 2, 3].map((i) => `{"cmd":"comm","i":${i}}`));
    // The first refusal is answered at once; the next five, within the interval, are counted.
    assert.deepEqual(fresh(a), ['{"error":"rate limited","msg":{"cmd":"comm","i":4},"dropped":1}']);
    // The ping tick at 1000 ms is within the interval of that reply: the count waits.
    h.clock.advance(1_000);
    assert.deepEqual(fresh(a), [PING]);
    // The tick at 2000 ms reports it, before the ping.
    h.clock.advance(1_000);
    assert.deepEqual(fresh(a), ['{"error":"rate limited","msg":{"cmd":"comm","i":5},"dropped":5}', PING]);
    // Nothing pending: no reply on the next tick.
    h.clock.advance(1_000);
    assert.deepEqual(fresh(a), [PING]);
    fresh(b);
    for (let j = 0; j < 3; j++) a.send({ cmd: 'comm', j }); // 3.1 tokens: all relayed
    a.send({ cmd: 'comm', j: 3 }); // the interval since the reply at 2000 ms has passed: answered at once
    assert.deepEqual(fresh(a), ['{"error":"rate limited","msg":{"cmd":"comm","j":3},"dropped":1}']);
    // Over the limit, an invalid line is dropped unparsed and counted like any other.
    a.send('{');
    a.send('[1]');
    // Closing reports what is still pending just before the exit line (no msg: the first was not an object).
    a.send({ cmd: 'exit' });
    assert.deepEqual(fresh(a), ['{"error":"rate limited","dropped":2}', exitLine('client exit')]);
    assert.equal(fresh(b).length, 3);
    assert.equal(h.core.stats().errors['rate limited'], 1 + 5 + 1 + 2, 'stats count refused lines');
    assert.equal(h.core.stats().errors['invalid json'], 0);
    assert.deepEqual(events.map((e) => [e.kind, e.dropped]), [['rate limited', 1], ['rate limited', 5], ['rate limited', 1], ['rate limited', 2]]);
  });

  test('counted refusal: without a JSON object to show, the reply has no msg', () => {
    const h = harness({ rateLimit: 1, rateBurst: 2 });
    const a = h.open();
    for (let i = 0; i < 4; i++) a.send('{');
    assert.deepEqual(fresh(a), ['{"error":"invalid json"}', '{"error":"invalid json"}', '{"error":"rate limited","dropped":1}']);
  });

  test('counted refusal: a refusal after the interval reports the count with its own first line; at most one reply per interval', () => {
    const h = harness({ rateLimit: 10, rateBurst: 10, deadAfterMs: 2_000_000, epochMs: 1_000_000, pingIntervalMs: 1_000_000 });
    const [a, b] = h.pair('a', 'b');
    let sent = 0;
    // 5 s at 1000 lines/s, 100× the limit.
    for (let ms = 0; ms < 5_000; ms++) {
      a.send({ cmd: 'comm', n: sent++ });
      h.clock.advance(1);
    }
    a.send({ cmd: 'exit' });
    const replies = counted(fresh(a));
    assert.ok(replies.length <= 5_000 / RATE_LIMIT_REPLY_INTERVAL_MS + 1, `${replies.length} replies in 5 s`);
    const relayed = fresh(b).filter((l) => l.startsWith('{"cmd":"comm"')).length;
    const dropped = replies.reduce((sum, r) => sum + r.dropped, 0);
    assert.equal(relayed + dropped, sent, 'relayed + counted = sent');
    for (const r of replies) assert.equal((r.msg as { cmd: string }).cmd, 'comm');
  });

  test('slow consumer: queued output is discarded, then the pending count and the exit line come last', () => {
    const h = harness({ maxBufferedBytes: 1000, rateLimit: 1, rateBurst: 2, deadAfterMs: 1_000_000 });
    const [a] = h.pair('a', 'b'); // 1.1 tokens
    for (let i = 0; i < 4; i++) a.send({ cmd: 'comm', i });
    assert.deepEqual(fresh(a), ['{"error":"rate limited","msg":{"cmd":"comm","i":1},"dropped":1}']);
    a.buffered = 1001;
    h.clock.advance(1_000); // the ping finds a over maxBufferedBytes
    assert.equal(a.closedBy, 'server-destroy', 'the transport dropped its unsent output');
    assert.deepEqual(fresh(a).slice(-2), ['{"error":"rate limited","msg":{"cmd":"comm","i":2},"dropped":2}', exitLine('slow consumer')]);
  });
});
