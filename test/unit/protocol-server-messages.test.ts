/** PROTOCOL §4 Server → client messages. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ADDED_EXIT_REASONS, EXIT_REASONS, localMatchmaker, MemoryConnection } from '../../src/index.js';
import { exitLine, fresh, harness, pairLine, PING, pong } from '../helpers/core.js';
import { readProtocol } from '../helpers/protocol-md.js';

test('PROTOCOL §4: {"ack":"<nonce>"} after connect', () => {
  const h = harness();
  const a = h.open();
  a.send({ cmd: 'connect', uco: 'alice', nonce: 0 });
  assert.deepEqual(fresh(a), ['{"ack":"0"}']);
});

test('PROTOCOL §4: {"cmd":"pair","uco":"<peer uco>"} when this connection was paired with that peer', () => {
  const h = harness();
  const a = h.client('alice');
  const b = h.client('bob');
  h.clock.advance(h.core.options.pairDelayMs);
  assert.deepEqual(fresh(a), ['{"cmd":"pair","uco":"bob"}']);
  assert.deepEqual(fresh(b), ['{"cmd":"pair","uco":"alice"}']);
});

test('PROTOCOL §4: {"cmd":"ping"} every pingIntervalMs (default 1000) to each registered connection', () => {
  const h = harness();
  const a = h.client('alice');
  h.clock.advance(999);
  assert.deepEqual(fresh(a), []);
  h.clock.advance(1);
  assert.deepEqual(fresh(a), [PING]);
  pong(a);
  h.clock.advance(3000);
  assert.deepEqual(fresh(a), [PING, PING, PING]);
});

test('PROTOCOL §4: ping follows a custom pingIntervalMs', () => {
  const h = harness({ pingIntervalMs: 250 });
  const a = h.client('alice');
  h.clock.advance(1000);
  assert.deepEqual(fresh(a), [PING, PING, PING, PING]);
});

test('PROTOCOL §4: no ping to a connection that has not registered', () => {
  const h = harness();
  const a = h.open();
  h.clock.advance(5000);
  assert.deepEqual(fresh(a), []);
});

test('PROTOCOL §4: a peer\'s comm line, verbatim', () => {
  const h = harness();
  const [a, b] = h.pair('alice', 'bob');
  b.send('{"cmd":"comm","uco":"bob","dh":{"g":2,"p":"ff"}}');
  assert.deepEqual(fresh(a), ['{"cmd":"comm","uco":"bob","dh":{"g":2,"p":"ff"}}']);
});

test('PROTOCOL §4: {"exit":true,"reason":"<text>"} just before the server closes the connection (nothing after it)', () => {
  const h = harness();
  const a = h.client('alice');
  const b = h.client('bob');
  a.send({ cmd: 'exit' });
  assert.equal(a.closedBy, 'server');
  assert.equal(a.lines.at(-1), exitLine('client exit'));
  h.clock.advance(5000);
  pong(b);
  assert.equal(a.lines.at(-1), exitLine('client exit'));
});

test('PROTOCOL §4: the exit reasons are exactly the listed ones, then this server\'s documented additions', () => {
  assert.deepEqual(
    [...EXIT_REASONS],
    [
      'new session', 'client exit', 'timeout', 'register timeout', 'server full', 'server shutdown', 'slow consumer', 'protocol error',
      // docs/protocol.md "Differences from the old server": opt-in hooks and limits, clusters.
      'unauthorized', 'too many connections', 'flood', 'unavailable',
    ],
  );
  assert.deepEqual(EXIT_REASONS.slice(-ADDED_EXIT_REASONS.length), [...ADDED_EXIT_REASONS]);
});

test('PROTOCOL §4: EXIT_REASONS match the reasons listed in PROTOCOL.md', () => {
  const text = readProtocol();
  const match = /Reasons for `exit`:([^.]*)\./.exec(text);
  assert.ok(match?.[1], 'PROTOCOL.md §4 lists the exit reasons');
  const listed = [...match[1].matchAll(/`([^`]+)`/g)].map((m) => m[1]);
  assert.deepEqual(listed, EXIT_REASONS.filter((reason) => !ADDED_EXIT_REASONS.includes(reason)));
  // Each addition is documented in docs/protocol.md.
  const ours = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
  for (const reason of ADDED_EXIT_REASONS) assert.ok(ours.includes(`"reason":"${reason}"`), `docs/protocol.md documents ${reason}`);
});

test('PROTOCOL §4: every exit reason the core sends reaches the client as {"exit":true,"reason":…}', () => {
  const seen = new Set<string>();
  const record = (lines: readonly string[]) => {
    const last = lines.at(-1);
    if (last !== undefined && last.startsWith('{"exit":')) seen.add(String((JSON.parse(last) as { reason: unknown }).reason));
  };
  // new session, client exit, timeout, register timeout, server shutdown
  const h = harness();
  const a1 = h.client('a');
  const a2 = h.client('a');
  const b = h.client('b');
  b.send({ cmd: 'exit' });
  const c = h.client('c');
  const d = h.open();
  h.clock.advance(7000);
  const e = h.client('e');
  h.core.stop();
  for (const conn of [a1, a2, b, c, d, e]) record(conn.lines);
  // server full, slow consumer, protocol error
  const full = harness({ maxClients: 0 });
  const f = full.open();
  f.send({ cmd: 'connect', uco: 'f' });
  const slow = harness({ maxBufferedBytes: 10 });
  const s = slow.client('s');
  s.buffered = 11;
  slow.clock.advance(1000);
  const strict = harness({ strict: true });
  const p = strict.open();
  p.send('{');
  for (const conn of [f, s, p]) record(conn.lines);
  // unauthorized, too many connections, flood
  const auth = harness({ authorize: ({ uco }) => (uco === 'slow' ? new Promise<boolean>(() => undefined) : uco !== 'mallory') });
  const m = auth.open();
  m.send({ cmd: 'connect', uco: 'mallory' });
  const w = auth.open();
  w.send({ cmd: 'connect', uco: 'slow' });
  for (let i = 0; i < 1000 && !w.isClosed; i++) w.send({ cmd: 'pong' });
  const perAddress = harness({ maxConnectionsPerAddress: 1 });
  perAddress.open();
  const second = new MemoryConnection(perAddress.core);
  for (const conn of [m, w, second]) record(conn.lines);
  // unavailable: a clustered matchmaker that cannot decide
  const down = harness({
    cluster: (context) => {
      const matchmaker = localMatchmaker(context);
      matchmaker.register = () => ({ ok: false, reason: 'unavailable' });
      return matchmaker;
    },
  });
  const u = down.open();
  u.send({ cmd: 'connect', uco: 'u' });
  record(u.lines);
  assert.deepEqual([...seen].sort(), [...EXIT_REASONS].sort());
});

test('PROTOCOL §4: the pair message names the peer by its sanitised uco', () => {
  const h = harness();
  const a = h.open();
  a.send({ cmd: 'connect', uco: 'x-1', nonce: 1 });
  const b = h.open();
  b.send('{"cmd":"connect","uco":77}');
  h.clock.advance(100);
  assert.equal(a.lines.at(-1), pairLine('77'));
  assert.equal(b.lines.at(-1), pairLine('x1'));
});
