/** The RouletteCore API: options, life cycle, events, queries, policies beyond the wire. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEFAULTS,
  ManualClock,
  MemoryConnection,
  RELAYED_LINE_BYTES_BOUNDS,
  RouletteCore,
  RouletteError,
  seededRandom,
  type RouletteOptions,
} from '../../src/index.js';
import { exitLine, fresh, harness, pairLine, PING } from '../helpers/core.js';

function invalid(options: Record<string, unknown>): void {
  assert.throws(
    () => new RouletteCore(options as RouletteOptions),
    (err: unknown) => err instanceof RouletteError && err.code === 'ERR_INVALID_OPTION' && err.name === 'RouletteError',
    JSON.stringify(options),
  );
}

test('options: an invalid option throws RouletteError ERR_INVALID_OPTION naming the field', () => {
  for (const name of ['epochMs', 'pingIntervalMs', 'deadAfterMs', 'registerTimeoutMs', 'maxLineBytes', 'maxBufferedBytes']) {
    for (const value of [0, -1, 1.5, NaN, Infinity, '100', null, true]) {
      if (name === 'maxBufferedBytes' && value === Infinity) continue;
      invalid({ [name]: value });
    }
  }
  for (const value of [-1, 0.5, NaN, Infinity, '0']) invalid({ pairDelayMs: value });
  for (const value of [-1, 2.5, NaN, '10']) invalid({ maxClients: value });
  for (const value of ['true', 1, null]) invalid({ strict: value });
  assert.throws(() => new RouletteCore({ epochMs: -5 }), /option epochMs must be an integer >= 1, got -5/);
});

test('options: boundary values are accepted (pairDelayMs 0, maxClients 0, Infinity limits)', () => {
  const core = new RouletteCore({
    clock: new ManualClock(),
    pairDelayMs: 0,
    maxClients: 0,
    maxBufferedBytes: Infinity,
    epochMs: 1,
    strict: true,
  });
  assert.equal(core.options.pairDelayMs, 0);
  assert.equal(core.options.maxBufferedBytes, Infinity);
  assert.equal(new RouletteCore({ maxClients: Infinity }).options.maxClients, Infinity);
  assert.equal(new RouletteCore({ epochMs: undefined as unknown as number }).options.epochMs, DEFAULTS.epochMs);
});

test('life cycle: start() twice throws RouletteError ERR_INVALID_STATE; stop() then start() works', () => {
  const h = harness();
  assert.equal(h.core.running, true);
  assert.throws(
    () => h.core.start(),
    (err: unknown) => err instanceof RouletteError && err.code === 'ERR_INVALID_STATE',
  );
  h.core.stop();
  assert.equal(h.core.running, false);
  assert.equal(h.clock.pendingTimers, 0);
  h.core.start();
  assert.equal(h.core.running, true);
  h.core.stop();
  h.core.stop();
  assert.equal(h.clock.pendingTimers, 0);
});

test('life cycle: connections attached before start() are timed from start()', () => {
  const h = harness({}, false);
  const a = h.open();
  const b = h.client('bob');
  h.clock.advance(60_000);
  assert.equal(a.isClosed, false);
  assert.equal(b.isClosed, false);
  assert.equal(h.clock.pendingTimers, 0, 'no timers before start');
  h.core.start();
  h.clock.advance(6999);
  assert.equal(a.isClosed, false);
  assert.equal(b.isClosed, false);
  h.clock.advance(1);
  assert.equal(a.lines.at(-1), exitLine('register timeout'));
  assert.equal(b.lines.at(-1), exitLine('timeout'));
});

test('life cycle: clients registered before start() are paired once started', () => {
  const h = harness({}, false);
  const a = h.client('a');
  h.client('b');
  h.clock.advance(1000);
  assert.deepEqual(fresh(a), []);
  h.core.start();
  h.clock.advance(DEFAULTS.pairDelayMs);
  assert.deepEqual(fresh(a), [pairLine('b')]);
});

test('events: every event is emitted with its payload', () => {
  const h = harness({ seed: 1 });
  const log: Array<[string, unknown]> = [];
  for (const name of [
    'connectionOpened',
    'connectionClosed',
    'registered',
    'unregistered',
    'paired',
    'unpaired',
    'relayed',
    'protocolError',
    'epochStarted',
  ] as const) {
    h.core.on(name, (e: unknown) => log.push([name, e]));
  }
  const a = new MemoryConnection(h.core, { remoteAddress: '10.0.0.1:5000' });
  a.send({ cmd: 'connect', uco: 'alice', session: 's', nonce: 7 });
  const b = h.client('bob');
  a.send({ cmd: 'connect', uco: 'alice', nonce: 8 });
  h.clock.advance(100);
  a.send('{"cmd":"comm","x":1}');
  a.send('nope');
  h.core.nextEpoch();
  const a2 = h.open();
  a2.send({ cmd: 'connect', uco: 'alice', nonce: 9 });
  const err = new Error('reset');
  b.fail(err);
  assert.deepEqual(log, [
    ['connectionOpened', { connectionId: 1, remoteAddress: '10.0.0.1:5000' }],
    ['registered', { connectionId: 1, uco: 'alice', session: 's', nonce: '7', takeover: false, repeated: false }],
    ['connectionOpened', { connectionId: 2, remoteAddress: 'memory' }],
    ['registered', { connectionId: 2, uco: 'bob', session: '', nonce: '1', takeover: false, repeated: false }],
    ['registered', { connectionId: 1, uco: 'alice', session: '', nonce: '8', takeover: false, repeated: true }],
    ['paired', { a: 'alice', b: 'bob', kind: 'immediate', epoch: 0 }],
    ['relayed', { from: 'alice', to: 'bob', bytes: 20 }],
    ['protocolError', { connectionId: 1, uco: 'alice', kind: 'invalid json' }],
    ['unpaired', { a: 'alice', b: 'bob', reason: 'epoch' }],
    ['epochStarted', { epoch: 1, clients: 2, pairs: 1 }],
    ['paired', { a: 'bob', b: 'alice', kind: 'epoch', epoch: 1 }],
    ['connectionOpened', { connectionId: 3, remoteAddress: 'memory' }],
    ['unpaired', { a: 'alice', b: 'bob', reason: 'new session' }],
    ['unregistered', { connectionId: 1, uco: 'alice', reason: 'new session' }],
    ['connectionClosed', { connectionId: 1, uco: 'alice', reason: 'new session', error: undefined }],
    ['registered', { connectionId: 3, uco: 'alice', session: '', nonce: '9', takeover: true, repeated: false }],
    ['unregistered', { connectionId: 2, uco: 'bob', reason: 'transport error' }],
    ['connectionClosed', { connectionId: 2, uco: 'bob', reason: 'transport error', error: err }],
  ]);
});

test('events: unregistered reasons for exit, timeout, re-registration and close', () => {
  const h = harness();
  const reasons: string[] = [];
  h.core.on('unregistered', (e) => reasons.push(`${e.uco}:${e.reason}`));
  h.client('a').send({ cmd: 'exit' });
  h.client('b').send({ cmd: 'connect', uco: 'c' });
  h.client('d').end();
  h.clock.advance(7000);
  assert.deepEqual(reasons, ['a:client exit', 'b:reregistered', 'd:transport closed', 'c:timeout']);
});

test('stats(): connections, clients, pairs, epochs, relayed counters, errors by kind, connections opened', () => {
  const h = harness();
  const [a] = h.pair('a', 'b');
  h.client('c');
  h.open();
  a.send('{"cmd":"comm","t":"héllo"}');
  a.send('{"cmd":"comm"}');
  a.send('[]');
  a.send('{"cmd":"x"}');
  h.open().send({ cmd: 'comm' });
  h.core.nextEpoch();
  const stats = h.core.stats();
  assert.deepEqual(stats, {
    connections: 5,
    clients: 3,
    pairs: 1,
    epochs: 1,
    relayedMessages: 2,
    relayedBytes: Buffer.byteLength('{"cmd":"comm","t":"héllo"}') + Buffer.byteLength('{"cmd":"comm"}'),
    errors: {
      'message too long': 0,
      'invalid json': 0,
      'invalid message': 1,
      'invalid uco': 0,
      'uco mismatch': 0,
      'missing cmd': 0,
      'not registered': 1,
      'no peer': 0,
      failed: 0,
      'unknown command': 1,
      'rate limited': 0,
    },
    connectionsOpened: 5,
    // Both relayed lines are at most 64 bytes: the first bucket.
    relayedLineBytes: [2, 0, 0, 0, 0, 0, 0, 0, 0],
  });
  stats.errors.failed = 99;
  assert.equal(h.core.stats().errors.failed, 0, 'a snapshot, not a live view');
});

test('clients() and client(): registration order, peer, lastSeen, remote address, connectedAt', () => {
  const h = harness();
  h.clock.advance(10);
  const a = new MemoryConnection(h.core, { remoteAddress: '1.2.3.4:1' });
  a.send({ cmd: 'connect', uco: 'a', session: 'S' });
  h.clock.advance(50);
  h.client('b');
  h.clock.advance(100);
  a.send({ cmd: 'pong' });
  assert.deepEqual(h.core.clients(), [
    { uco: 'a', session: 'S', connectionId: 1, peer: 'b', lastSeen: 160, remoteAddress: '1.2.3.4:1', connectedAt: 10 },
    { uco: 'b', session: '', connectionId: 2, peer: 'a', lastSeen: 60, remoteAddress: 'memory', connectedAt: 60 },
  ]);
  assert.deepEqual(h.core.client('b'), h.core.clients()[1]);
  assert.equal(h.core.client('zz'), undefined);
});

test('seededRandom: the same seed gives the same pairings; pairing is reproducible', () => {
  const run = (seed: string) => {
    const h = harness({ seed: seed });
    const pairs: string[] = [];
    h.core.on('paired', (e) => pairs.push(`${e.a}-${e.b}`));
    for (let i = 0; i < 9; i++) h.client(`u${i}`);
    h.clock.advance(100);
    for (let i = 0; i < 5; i++) h.core.nextEpoch();
    return pairs;
  };
  assert.deepEqual(run('lab-3'), run('lab-3'));
  assert.notDeepEqual(run('lab-3'), run('lab-4'));
  const r = seededRandom(42);
  const values = Array.from({ length: 1000 }, r);
  assert.ok(values.every((v) => v >= 0 && v < 1));
  assert.deepEqual(values.slice(0, 5), Array.from({ length: 5 }, seededRandom(42)));
  assert.deepEqual(Array.from({ length: 3 }, seededRandom('42')), Array.from({ length: 3 }, seededRandom(42)));
});

test('strict mode: invalid JSON and non-objects close with "protocol error"; other errors only reply', () => {
  const h = harness({ strict: true });
  const a = h.client('a');
  a.send({ cmd: 'nope' });
  a.send({ cmd: 'comm' });
  a.send({ nocmd: 1 });
  assert.deepEqual(fresh(a), [
    '{"error":"Unknown command [nope]"}',
    '{"error":"no peer","msg":{"cmd":"comm"}}',
    '{"error":"missing cmd","msg":{"nocmd":1}}',
  ]);
  const events: string[] = [];
  h.core.on('protocolError', (e) => events.push(e.kind));
  a.send('42');
  assert.deepEqual(fresh(a), [exitLine('protocol error')]);
  assert.deepEqual(events, ['invalid message']);
  assert.equal(h.core.stats().errors['invalid message'], 1);
});

test('strict mode: a too-long line is still only answered (the connection stays open)', () => {
  const h = harness({ strict: true, maxLineBytes: 16 });
  const a = h.open();
  a.write(`${'x'.repeat(40)}\n`);
  assert.deepEqual(fresh(a), ['{"error":"message too long"}']);
  assert.equal(a.isClosed, false);
});

test('backpressure: a sender is paused while its peer holds more than 64 KiB unsent, and resumed when it drains', () => {
  const h = harness();
  const [a, b] = h.pair('alice', 'bob');
  b.buffered = 64 * 1024;
  a.send({ cmd: 'comm', n: 1 });
  assert.equal(a.paused, false, 'at the threshold: not paused');
  b.buffered = 64 * 1024 + 1;
  a.send({ cmd: 'comm', n: 2 });
  assert.equal(a.paused, true);
  assert.equal(b.paused, false);
  b.buffered = 0;
  b.handle.drained();
  assert.equal(a.paused, false);
  assert.deepEqual(fresh(b), ['{"cmd":"comm","n":1}', '{"cmd":"comm","n":2}']);
});

test('backpressure: a paused sender is resumed when its peer leaves', () => {
  const h = harness();
  const [a, b] = h.pair('alice', 'bob');
  b.buffered = 100_000;
  a.send({ cmd: 'comm' });
  assert.equal(a.paused, true);
  b.end();
  assert.equal(a.paused, false);
});

test('backpressure: a paused sender is resumed when the pair is dissolved by an epoch', () => {
  const h = harness();
  const [a, b] = h.pair('alice', 'bob');
  h.client('carol');
  b.buffered = 100_000;
  a.send({ cmd: 'comm' });
  assert.equal(a.paused, true);
  h.core.nextEpoch();
  assert.equal(a.paused, false);
});

test('slow consumer: output above maxBufferedBytes closes with {"exit":true,"reason":"slow consumer"}, dropping unsent output', () => {
  const h = harness({ maxBufferedBytes: 1000 });
  const [a, b] = h.pair('alice', 'bob');
  b.buffered = 1000;
  a.send({ cmd: 'comm', n: 1 });
  assert.equal(b.isClosed, false, 'at the limit: kept');
  b.buffered = 1001;
  a.send({ cmd: 'comm', n: 2 });
  assert.equal(b.closedBy, 'server-destroy');
  assert.equal(b.lines.at(-1), exitLine('slow consumer'));
  assert.equal(h.core.client('bob'), undefined);
  assert.equal(h.core.client('alice')?.peer, undefined);
  assert.equal(a.isClosed, false);
  assert.equal(a.paused, false);
});

test('slow consumer: also detected on pings; maxBufferedBytes Infinity turns it off', () => {
  const h = harness({ maxBufferedBytes: 10 });
  const a = h.client('a');
  a.buffered = 11;
  h.clock.advance(1000);
  assert.equal(a.lines.at(-1), exitLine('slow consumer'));
  const off = harness({ maxBufferedBytes: Infinity });
  const b = off.client('b');
  b.buffered = Number.MAX_SAFE_INTEGER;
  off.clock.advance(1000);
  assert.equal(b.isClosed, false);
});

test('ping round: clients cut as slow consumers by their ping leave during the round; every other client is pinged', () => {
  const h = harness({ maxBufferedBytes: 10 });
  const clients = ['a', 'b', 'c', 'd', 'e', 'f'].map((uco) => h.client(uco));
  for (const i of [0, 2, 3, 5]) (clients[i] as MemoryConnection).buffered = 11;
  h.clock.advance(1000);
  clients.forEach((c, i) => {
    if ([0, 2, 3, 5].includes(i)) assert.equal(c.lines.at(-1), exitLine('slow consumer'), `client ${i} cut`);
    else assert.equal(fresh(c).filter((l) => l === PING).length, 1, `client ${i} pinged once`);
  });
  assert.deepEqual(
    h.core.clients().map((c) => c.uco),
    ['b', 'e'],
  );
  h.core.stop();
});

test('disconnect(handle, reason) sends the given exit reason', () => {
  const h = harness();
  const a = h.client('a');
  h.core.disconnect(a.handle, 'slow consumer');
  assert.equal(a.lines.at(-1), exitLine('slow consumer'));
});

test('stats().relayedLineBytes: lines counted in the bucket of RELAYED_LINE_BYTES_BOUNDS they fall in', () => {
  const h = harness({ maxLineBytes: 300_000 });
  const [a] = h.pair('a', 'b');
  const line = (bytes: number) => `{"cmd":"comm","p":"${'x'.repeat(bytes - 21)}"}`;
  for (const bytes of [64, 65, 256, 257, 1024, 4097, 262_144, 262_145]) {
    assert.equal(Buffer.byteLength(line(bytes)), bytes);
    a.send(line(bytes));
  }
  assert.deepEqual(RELAYED_LINE_BYTES_BOUNDS, [64, 256, 1024, 4096, 16_384, 65_536, 262_144, 1_048_576]);
  assert.deepEqual(h.core.stats().relayedLineBytes, [1, 2, 2, 0, 1, 0, 1, 1, 0]);
});

test('nextEpochAt: the clock time of the next scheduled boundary; undefined while stopped; nextEpoch() does not move it', () => {
  const clock = new ManualClock(5);
  const core = new RouletteCore({ clock, epochMs: 1000 });
  assert.equal(core.nextEpochAt, undefined);
  core.start();
  assert.equal(core.nextEpochAt, 1005);
  clock.advance(300);
  core.nextEpoch();
  assert.equal(core.nextEpochAt, 1005);
  clock.advance(700);
  assert.equal(core.nextEpochAt, 2005);
  core.stop();
  assert.equal(core.nextEpochAt, undefined);
});

test('disconnectClient(uco, reason): closes that client with the exit reason; false for an unknown uco', () => {
  const h = harness();
  const [a, b] = h.pair('a', 'b');
  b.take();
  assert.equal(h.core.disconnectClient('zz'), false);
  assert.equal(h.core.disconnectClient('a'), true);
  assert.equal(a.lines.at(-1), exitLine('server shutdown'));
  assert.equal(a.closedBy, 'server');
  assert.equal(h.core.client('a'), undefined);
  assert.equal(h.core.client('b')?.peer, undefined);
  h.core.disconnectClient('b', 'timeout');
  assert.equal(b.lines.at(-1), exitLine('timeout'));
});

test('pairFreeClients() pairs free clients at once', () => {
  const h = harness();
  const a = h.client('a');
  h.client('b');
  h.core.pairFreeClients();
  assert.deepEqual(fresh(a), [pairLine('b')]);
});

test('a listener that inspects the core mid-event sees a consistent state', () => {
  const h = harness();
  h.core.on('paired', ({ a, b }) => {
    assert.equal(h.core.client(a)?.peer, b);
    assert.equal(h.core.client(b)?.peer, a);
  });
  h.pair('x', 'y');
  h.core.nextEpoch();
});

test('pair(): two chosen clients are paired now; their former peers become free and are paired as usual', () => {
  const h = harness();
  const [a, b] = h.pair('a', 'b');
  const [c, d] = h.pair('c', 'd');
  const unpaired: Array<[string, string, string]> = [];
  const paired: Array<[string, string, string]> = [];
  h.core.on('unpaired', (e) => unpaired.push([e.a, e.b, e.reason]));
  h.core.on('paired', (e) => paired.push([e.a, e.b, e.kind]));
  h.core.pair('a', 'c');
  assert.deepEqual(fresh(a), [pairLine('c')]);
  assert.deepEqual(fresh(c), [pairLine('a')]);
  assert.deepEqual(unpaired, [['a', 'b', 'repaired'], ['c', 'd', 'repaired']]);
  assert.deepEqual(paired, [['a', 'c', 'chosen']]);
  h.clock.advance(h.core.options.pairDelayMs);
  assert.deepEqual(fresh(b), [pairLine('d')]);
  assert.deepEqual(fresh(d), [pairLine('b')]);
  h.core.pair('c', 'a'); // already together: nothing
  assert.deepEqual([...fresh(a), ...fresh(c)], []);
});

test('pair(): an unknown client, or one dropped as dead, is ERR_UNKNOWN_CLIENT; the same client twice is ERR_INVALID_ARGUMENT', () => {
  const h = harness();
  h.client('a');
  h.client('b');
  const unknown = (fn: () => void, message: RegExp): void =>
    assert.throws(fn, (err: unknown) => err instanceof RouletteError && err.code === 'ERR_UNKNOWN_CLIENT' && message.test(err.message));
  unknown(() => h.core.pair('a', 'zz'), /'zz' is not registered/);
  assert.throws(
    () => h.core.pair('a', 'a'),
    (err: unknown) => err instanceof RouletteError && err.code === 'ERR_INVALID_ARGUMENT' && /itself/.test(err.message),
  );
  h.clock.advance(h.core.options.deadAfterMs - 1);
  h.core.client('a'); // still registered: its deadline timer fires at deadAfterMs
  h.clock.advance(1);
  unknown(() => h.core.pair('a', 'b'), /'a' is not registered/);
});

test('traffic event: every line in and out, with over-long lines marked, only while listened to', () => {
  const h = harness({ maxLineBytes: 40 });
  const seen: string[] = [];
  const listener = (e: { direction: string; line: string; tooLong?: true }): void => {
    seen.push(`${e.direction} ${e.tooLong === true ? '(too long)' : e.line}`);
  };
  h.core.on('traffic', listener);
  const conn = h.open();
  conn.write('{"cmd":"connect","uco":"a","nonce":5}\n');
  conn.write(`${'x'.repeat(50)}\n`);
  conn.send({ cmd: 'exit' });
  assert.deepEqual(seen, [
    'in {"cmd":"connect","uco":"a","nonce":5}',
    'out {"ack":"5"}',
    'in (too long)',
    'out {"error":"message too long"}',
    'in {"cmd":"exit"}',
    'out {"exit":true,"reason":"client exit"}',
  ]);
  h.core.off('traffic', listener);
  h.open().send({ cmd: 'pong' });
  assert.equal(seen.length, 6);
});
