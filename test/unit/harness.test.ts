/**
 * The in-process harness (src/testing/harness.ts): clock, clients, deterministic
 * pairing, transcripts, settle and close. No sleeping: the clock is manual and
 * settle() only waits event-loop turns.
 */
import assert from 'node:assert/strict';
import { createInterface } from 'node:readline';
import type { Duplex } from 'node:stream';
import { describe, test } from 'node:test';
import { createHarness, ManualClock, type Harness } from '../../src/testing/index.js';

/** A stream client that registers and answers pings; `onLine` sees each server line. */
function streamClient(harness: Harness, uco: string, onLine?: (msg: Record<string, unknown>, socket: Duplex) => void): Duplex {
  const socket = harness.connectStream();
  createInterface({ input: socket }).on('line', (line) => {
    const msg = JSON.parse(line) as Record<string, unknown>;
    if (msg.cmd === 'ping') socket.write('{"cmd":"pong"}\n');
    onLine?.(msg, socket);
  });
  socket.on('end', () => socket.end());
  socket.write(JSON.stringify({ cmd: 'connect', uco, nonce: 1 }) + '\n');
  return socket;
}

function registered(harness: Harness, ...ucos: string[]): void {
  for (const uco of ucos) harness.connect().send({ cmd: 'connect', uco, nonce: 1 });
}

describe('createHarness', () => {
  test('a started core on a ManualClock at time 0', async () => {
    const harness = createHarness({ core: { epochMs: 60_000 } });
    assert.ok(harness.clock instanceof ManualClock);
    assert.equal(harness.clock.now(), 0);
    assert.equal(harness.core.running, true);
    assert.equal(harness.core.options.epochMs, 60_000);
    assert.equal(harness.core.clock, harness.clock);
    await harness.close();
  });

  test('connect(): a synchronous in-memory client', async () => {
    const harness = createHarness();
    const alice = harness.connect();
    alice.send({ cmd: 'connect', uco: 'alice', nonce: 7 });
    assert.deepEqual(alice.take(), [{ ack: '7' }]);
    await harness.close();
    assert.equal(alice.last()?.reason, 'server shutdown');
  });

  test('advance() fires the due timers synchronously', async () => {
    const harness = createHarness();
    const alice = harness.connect();
    alice.send({ cmd: 'connect', uco: 'alice', nonce: 1 });
    harness.advance(2_000);
    assert.equal(harness.clock.now(), 2_000);
    assert.deepEqual(alice.take(), [{ ack: '1' }, { cmd: 'ping' }, { cmd: 'ping' }]);
    await harness.close();
  });
});

describe('pair()', () => {
  test('pairs the two named clients, telling the first one first', async () => {
    const harness = createHarness();
    const [a, b, c] = [harness.connect(), harness.connect(), harness.connect()];
    a.send({ cmd: 'connect', uco: 'a', nonce: 1 });
    b.send({ cmd: 'connect', uco: 'b', nonce: 1 });
    c.send({ cmd: 'connect', uco: 'c', nonce: 1 });
    const paired: string[] = [];
    harness.core.on('paired', (e) => paired.push(`${e.a}-${e.b}`));
    harness.pair('c', 'a');
    assert.deepEqual(paired, ['c-a']);
    assert.equal(harness.core.client('c')?.peer, 'a');
    assert.equal(c.last()?.uco, 'a');
    assert.equal(a.last()?.uco, 'c');
    // b stays free: nobody to pair it with.
    harness.advance(harness.core.options.pairDelayMs);
    assert.equal(harness.core.client('b')?.peer, undefined);
    await harness.close();
  });

  test('re-pairs clients that have other peers; those peers pair with each other', async () => {
    const harness = createHarness();
    registered(harness, 'a', 'b', 'c', 'd');
    harness.advance(harness.core.options.pairDelayMs);
    const peerOfA = harness.core.client('a')?.peer;
    assert.notEqual(peerOfA, undefined);
    const other = ['b', 'c', 'd'].find((u) => u !== peerOfA) as string;
    harness.pair('a', other);
    assert.equal(harness.core.client('a')?.peer, other);
    harness.advance(harness.core.options.pairDelayMs);
    const rest = ['b', 'c', 'd'].filter((u) => u !== other);
    assert.equal(harness.core.client(rest[0] as string)?.peer, rest[1]);
    assert.equal(harness.core.stats().pairs, 2);
    await harness.close();
  });

  test('leaves other free clients free (the scheduler pairs them later)', async () => {
    const harness = createHarness();
    registered(harness, 'a', 'b', 'c', 'd');
    harness.pair('b', 'd');
    assert.equal(harness.core.client('a')?.peer, undefined);
    assert.equal(harness.core.client('c')?.peer, undefined);
    harness.advance(harness.core.options.pairDelayMs);
    assert.equal(harness.core.client('a')?.peer, 'c');
    await harness.close();
  });

  test('is a no-op for clients already paired together', async () => {
    const harness = createHarness();
    const [a, b] = [harness.connect(), harness.connect()];
    a.send({ cmd: 'connect', uco: 'a', nonce: 1 });
    b.send({ cmd: 'connect', uco: 'b', nonce: 1 });
    harness.pair('a', 'b');
    a.take();
    harness.pair('b', 'a');
    assert.deepEqual(a.take(), []);
    await harness.close();
  });

  test('refuses unknown, identical or dead clients', async () => {
    const harness = createHarness();
    registered(harness, 'a', 'b');
    assert.throws(() => harness.pair('a', 'zz'), /'zz' is not registered/);
    assert.throws(() => harness.pair('a', 'a'), /itself/);
    await harness.close();
    assert.throws(() => harness.pair('a', 'b'), /closed/);
  });

  test('does not disturb the seeded pairing sequence', async () => {
    const run = async (withPair: boolean): Promise<string[]> => {
      const harness = createHarness({ seed: 7 });
      registered(harness, 'a', 'b', 'c', 'd', 'e', 'f');
      if (withPair) harness.pair('a', 'b');
      const pairs: string[] = [];
      harness.core.on('paired', (e) => pairs.push(`${e.a}-${e.b}`));
      harness.nextEpoch();
      await harness.close();
      return pairs;
    };
    // Same seed, same epoch pairings; pair() consumes no seeded value.
    assert.deepEqual(await run(true), await run(true));
    assert.equal((await run(false)).length, 3);
  });
});

describe('nextEpoch()', () => {
  test('same seed, same pairings', async () => {
    const pairings = async (seed: string): Promise<string[]> => {
      const harness = createHarness({ seed });
      registered(harness, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h');
      const pairs: string[] = [];
      harness.core.on('paired', (e) => pairs.push(`${e.a}-${e.b}`));
      harness.nextEpoch();
      harness.nextEpoch();
      await harness.close();
      return pairs;
    };
    const first = await pairings('lab');
    assert.equal(first.length, 8);
    assert.deepEqual(await pairings('lab'), first);
  });
});

describe('transcript()', () => {
  test('lines sent and received, in order, with clock time', async () => {
    const harness = createHarness();
    const [a, b] = [harness.connect(), harness.connect()];
    a.send({ cmd: 'connect', uco: 'a', nonce: 1 });
    b.send({ cmd: 'connect', uco: 'b', nonce: 1 });
    harness.pair('a', 'b');
    harness.advance(500);
    b.send('{"cmd":"comm", "x": 1}');
    const lines = harness.transcript('a').map((e) => `${e.at} ${e.direction === 'sent' ? '>' : '<'} ${e.line}`);
    assert.deepEqual(lines, [
      '0 > {"cmd":"connect","uco":"a","nonce":1}',
      '0 < {"ack":"1"}',
      '0 < {"cmd":"pair","uco":"b"}',
      '500 < {"cmd":"comm", "x": 1}',
    ]);
    assert.deepEqual(harness.transcript('nobody'), []);
    await harness.close();
  });

  test('merges the connections that registered the uco (takeover)', async () => {
    const harness = createHarness();
    const first = harness.connect();
    first.send({ cmd: 'connect', uco: 'a', nonce: 1 });
    const second = harness.connect();
    second.send({ cmd: 'connect', uco: 'a', nonce: 2 });
    const lines = harness.transcript('a').map((e) => `${e.connectionId} ${e.direction} ${e.line}`);
    assert.deepEqual(lines, [
      '1 sent {"cmd":"connect","uco":"a","nonce":1}',
      '1 received {"ack":"1"}',
      '2 sent {"cmd":"connect","uco":"a","nonce":2}',
      '1 received {"exit":true,"reason":"new session"}',
      '2 received {"ack":"2"}',
    ]);
    await harness.close();
  });

  test('a connection that re-registers under another uco leaves the first transcript from there on', async () => {
    const harness = createHarness();
    const conn = harness.connect();
    conn.send({ cmd: 'connect', uco: 'a', nonce: 1 });
    conn.send({ cmd: 'connect', uco: 'b', nonce: 2 });
    conn.send({ cmd: 'pong' });
    assert.deepEqual(
      harness.transcript('a').map((e) => e.line),
      ['{"cmd":"connect","uco":"a","nonce":1}', '{"ack":"1"}', '{"cmd":"connect","uco":"b","nonce":2}'],
    );
    assert.deepEqual(harness.transcript('b').map((e) => e.line), ['{"ack":"2"}', '{"cmd":"pong"}']);
    await harness.close();
  });

  test('marks a line longer than maxLineBytes', async () => {
    const harness = createHarness({ core: { maxLineBytes: 64 } });
    const a = harness.connect();
    a.send({ cmd: 'connect', uco: 'a', nonce: 1 });
    a.write(`${'x'.repeat(100)}\n`);
    const last = harness.transcript('a').slice(-2);
    assert.deepEqual(last.map((e) => [e.direction, e.line, e.tooLong]), [
      ['sent', '', true],
      ['received', '{"error":"message too long"}', undefined],
    ]);
    await harness.close();
  });
});

describe('connectStream() and settle()', () => {
  test('a stream client talks to the core once settled', async () => {
    const harness = createHarness();
    const seen: Array<Record<string, unknown>> = [];
    streamClient(harness, 'alice', (msg) => seen.push(msg));
    assert.deepEqual(seen, []); // streams are asynchronous
    await harness.settle();
    assert.deepEqual(seen, [{ ack: '1' }]);
    assert.equal(harness.core.client('alice')?.remoteAddress, 'in-process');
    assert.deepEqual(
      harness.transcript('alice').map((e) => e.line),
      ['{"cmd":"connect","uco":"alice","nonce":1}', '{"ack":"1"}'],
    );
    await harness.close();
  });

  test('advanceAndSettle() lets stream clients answer pings in time; advance() does not', async () => {
    const harness = createHarness();
    streamClient(harness, 'alice');
    await harness.settle();
    await harness.advanceAndSettle(20_000);
    assert.equal(harness.clock.now(), 20_000);
    assert.notEqual(harness.core.client('alice'), undefined);
    // The same 20 s in one synchronous step: the pongs arrive too late.
    harness.advance(20_000);
    await harness.settle();
    assert.equal(harness.core.client('alice'), undefined);
    await harness.close();
  });

  test('stream and memory clients relay to each other', async () => {
    const harness = createHarness();
    const inbox: Array<Record<string, unknown>> = [];
    streamClient(harness, 'alice', (msg, socket) => {
      if (msg.cmd === 'pair') socket.write('{"cmd":"comm","text":"hi"}\n');
      if (msg.cmd === 'comm') inbox.push(msg);
    });
    await harness.settle();
    const bob = harness.connect();
    bob.send({ cmd: 'connect', uco: 'bob', nonce: 1 });
    harness.pair('bob', 'alice');
    await harness.settle();
    assert.deepEqual(bob.take().slice(-1), [{ cmd: 'comm', text: 'hi' }]);
    bob.send({ cmd: 'comm', text: 'hello' });
    await harness.settle();
    assert.deepEqual(inbox, [{ cmd: 'comm', text: 'hello' }]);
    await harness.close();
  });

  test('settle() gives up on clients that never stop talking', async () => {
    const harness = createHarness({ maxSettleTurns: 50 });
    // Each answers the other's comm on the next turn, forever. (A loop that never
    // yields to the event loop at all cannot be interrupted by anyone.)
    const echo = (msg: Record<string, unknown>, socket: Duplex): void => {
      if (msg.cmd === 'pair' || msg.cmd === 'comm') {
        setImmediate(() => socket.writable && socket.write('{"cmd":"comm"}\n'));
      }
    };
    streamClient(harness, 'a', echo);
    streamClient(harness, 'b', echo);
    await assert.rejects(harness.advanceAndSettle(harness.core.options.pairDelayMs), /still busy after 50/);
    await harness.close();
  });
});

describe('close()', () => {
  test('stops everything: exit to every client, streams closed, no timer left', async () => {
    const harness = createHarness();
    const memory = harness.connect();
    memory.send({ cmd: 'connect', uco: 'm', nonce: 1 });
    const stream = streamClient(harness, 's');
    // A stream client that never reads: close() must still end it.
    const deaf = harness.connectStream();
    deaf.write('{"cmd":"connect","uco":"deaf","nonce":1}\n');
    await harness.settle();
    await harness.close();
    assert.equal(harness.core.running, false);
    assert.equal(harness.clock.pendingTimers, 0);
    assert.equal(memory.closedBy, 'server');
    assert.equal(stream.destroyed, true);
    assert.equal(deaf.destroyed, true);
    assert.equal(harness.core.stats().connections, 0);
    await harness.close(); // idempotent
    assert.throws(() => harness.connect(), /closed/);
    assert.throws(() => harness.connectStream(), /closed/);
  });
});
