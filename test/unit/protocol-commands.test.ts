/** PROTOCOL §3 Client → server commands. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Transport } from '../../src/index.js';
import { exitLine, fresh, harness, pairLine, PING, pong, ucoOf } from '../helpers/core.js';

// ── the table ──────────────────────────────────────────────────────────────────

test('PROTOCOL §3 connect: registers the connection under uco and replies {"ack":"<nonce>"} (the nonce as a string)', () => {
  const h = harness();
  const a = h.open();
  a.send('{"cmd":"connect","uco":"alice","session":"s1","nonce":42}');
  const b = h.open();
  b.send('{"cmd":"connect","uco":"bob","nonce":"abc"}');
  assert.deepEqual(fresh(a), ['{"ack":"42"}']);
  assert.deepEqual(fresh(b), ['{"ack":"abc"}']);
  assert.deepEqual(
    h.core.clients().map((c) => [c.uco, c.session, c.connectionId]),
    [
      ['alice', 's1', a.handle.id],
      ['bob', '', b.handle.id],
    ],
  );
  assert.equal(ucoOf(h.core, a), 'alice');
});

test('PROTOCOL §3 comm: forwards the message to the current peer; nothing is replied on success', () => {
  const h = harness();
  const [a, b] = h.pair('alice', 'bob');
  a.send('{"cmd":"comm","text":"hello"}');
  b.send('{"cmd":"comm","text":"hi alice"}');
  assert.deepEqual(fresh(b), ['{"cmd":"comm","text":"hello"}']);
  assert.deepEqual(fresh(a), ['{"cmd":"comm","text":"hi alice"}']);
});

test('PROTOCOL §3 pong: marks the connection alive; nothing is replied', () => {
  const h = harness();
  const a = h.client('alice');
  h.clock.advance(1000);
  assert.deepEqual(fresh(a), [PING]);
  pong(a);
  assert.deepEqual(fresh(a), []);
  assert.equal(h.core.client('alice')?.lastSeen, 1000);
});

test('PROTOCOL §3 exit: replies {"exit":true,"reason":"client exit"}, then closes; unregistered and unpaired', () => {
  const h = harness();
  const [a, b] = h.pair('alice', 'bob');
  a.send({ cmd: 'exit' });
  assert.deepEqual(fresh(a), [exitLine('client exit')]);
  assert.equal(a.closedBy, 'server');
  assert.equal(h.core.client('alice'), undefined);
  assert.equal(h.core.client('bob')?.peer, undefined);
  assert.deepEqual(h.core.stats().pairs, 0);
  assert.deepEqual(fresh(b), [], 'no message to the peer');
});

test('PROTOCOL §3 exit: from an unregistered connection also replies "client exit" and closes', () => {
  const h = harness();
  const a = h.open();
  a.send({ cmd: 'exit' });
  assert.deepEqual(fresh(a), [exitLine('client exit')]);
  assert.equal(a.closedBy, 'server');
  assert.equal(h.core.stats().connections, 0);
});

test('PROTOCOL §3: anything else gets {"error":"Unknown command [<cmd>]"} (exact text)', () => {
  const h = harness();
  const a = h.open();
  a.send({ cmd: 'ping' });
  a.send({ cmd: 'CONNECT', uco: 'alice' });
  a.send({ cmd: '' });
  const b = h.client('bob');
  b.send({ cmd: 'pair' });
  assert.deepEqual(fresh(a), [
    '{"error":"Unknown command [ping]"}',
    '{"error":"Unknown command [CONNECT]"}',
    '{"error":"Unknown command []"}',
  ]);
  assert.deepEqual(fresh(b), ['{"error":"Unknown command [pair]"}']);
  assert.equal(a.isClosed, false);
});

test('PROTOCOL §3: an unknown non-string cmd is shown as JSON in "Unknown command [<cmd>]"', () => {
  const h = harness();
  const a = h.open();
  a.send('{"cmd":7}');
  a.send('{"cmd":null}');
  a.send('{"cmd":["comm"]}');
  assert.deepEqual(fresh(a), [
    '{"error":"Unknown command [7]"}',
    '{"error":"Unknown command [null]"}',
    '{"error":"Unknown command [[\\"comm\\"]]"}',
  ]);
});

test('PROTOCOL §3: no cmd field gets {"error":"missing cmd","msg":<message>}', () => {
  const h = harness();
  const a = h.open();
  a.send('{"uco":"alice", "text":"x"}');
  a.send('{}');
  assert.deepEqual(fresh(a), ['{"error":"missing cmd","msg":{"uco":"alice","text":"x"}}', '{"error":"missing cmd","msg":{}}']);
  assert.equal(a.isClosed, false);
});

// ── connect details ──────────────────────────────────────────────────────────────

test('PROTOCOL §3 connect: takeover sends "new session" to the older connection and closes it', () => {
  const h = harness();
  const old = h.client('alice');
  const next = h.open();
  next.send({ cmd: 'connect', uco: 'alice', nonce: 2 });
  assert.deepEqual(fresh(old), [exitLine('new session')]);
  assert.equal(old.closedBy, 'server');
  assert.deepEqual(fresh(next), ['{"ack":"2"}']);
  assert.equal(h.core.client('alice')?.connectionId, next.handle.id);
  assert.equal(h.core.stats().connections, 1);
});

test('PROTOCOL §3 connect: takeover dissolves the older connection\'s pairing; the new connection takes the uco, free', () => {
  const h = harness();
  const [old, bob] = h.pair('alice', 'bob');
  const next = h.open();
  next.send({ cmd: 'connect', uco: 'alice', nonce: 2 });
  assert.deepEqual(fresh(old), [exitLine('new session')]);
  assert.equal(h.core.client('bob')?.peer, undefined);
  assert.equal(h.core.client('alice')?.peer, undefined);
  next.send({ cmd: 'comm' });
  assert.deepEqual(fresh(next), ['{"ack":"2"}', '{"error":"no peer","msg":{"cmd":"comm"}}']);
  // Both are free: they are paired again within pairDelayMs (the new alice may be given bob).
  h.clock.advance(h.core.options.pairDelayMs);
  assert.deepEqual(fresh(next), [pairLine('bob')]);
  assert.deepEqual(fresh(bob), [pairLine('alice')]);
});

test('PROTOCOL §3 connect: again on the SAME connection with the same uco is idempotent (new ack, pairing kept)', () => {
  const h = harness();
  const [a, b] = h.pair('alice', 'bob');
  a.send({ cmd: 'connect', uco: 'alice', nonce: 9 });
  assert.deepEqual(fresh(a), ['{"ack":"9"}']);
  assert.equal(a.isClosed, false);
  assert.equal(h.core.client('alice')?.peer, 'bob');
  assert.equal(h.core.stats().clients, 2);
  a.send({ cmd: 'comm', n: 1 });
  assert.deepEqual(fresh(b), ['{"cmd":"comm","n":1}']);
});

test('PROTOCOL §3 connect: with a different uco, the connection re-registers (old registration and its pairing dropped)', () => {
  const h = harness();
  const [a, b] = h.pair('alice', 'bob');
  a.send({ cmd: 'connect', uco: 'carol', nonce: 3 });
  assert.deepEqual(fresh(a), ['{"ack":"3"}']);
  assert.equal(a.isClosed, false);
  assert.equal(h.core.client('alice'), undefined);
  assert.equal(h.core.client('carol')?.connectionId, a.handle.id);
  assert.equal(h.core.client('bob')?.peer, undefined);
  assert.deepEqual(fresh(b), [], 'no unpaired message');
  // carol and bob are both free now: paired as new peers.
  h.clock.advance(h.core.options.pairDelayMs);
  assert.deepEqual(fresh(a), [pairLine('bob')]);
  assert.deepEqual(fresh(b), [pairLine('carol')]);
});

test('PROTOCOL §3 connect: re-registering under a uco held by another connection takes it over', () => {
  const h = harness();
  const a = h.client('alice');
  const b = h.client('bob');
  a.send({ cmd: 'connect', uco: 'bob', nonce: 4 });
  assert.deepEqual(fresh(b), [exitLine('new session')]);
  assert.deepEqual(fresh(a), ['{"ack":"4"}']);
  assert.deepEqual(h.core.clients().map((c) => [c.uco, c.connectionId]), [['bob', a.handle.id]]);
});

test('PROTOCOL §3 connect: when the registry is full, {"exit":true,"reason":"server full"} and the connection is closed', () => {
  const h = harness({ maxClients: 2 });
  h.client('alice');
  h.client('bob');
  const c = h.open();
  c.send({ cmd: 'connect', uco: 'carol', nonce: 1 });
  assert.deepEqual(fresh(c), [exitLine('server full')]);
  assert.equal(c.closedBy, 'server');
  assert.equal(h.core.stats().clients, 2);
});

test('PROTOCOL §3 connect: a takeover or a re-registration when full is not refused (it adds no client)', () => {
  const h = harness({ maxClients: 2 });
  const a = h.client('alice');
  h.client('bob');
  const next = h.open();
  next.send({ cmd: 'connect', uco: 'bob', nonce: 1 });
  assert.deepEqual(fresh(next), ['{"ack":"1"}']);
  a.send({ cmd: 'connect', uco: 'carol', nonce: 2 });
  assert.deepEqual(fresh(a), ['{"ack":"2"}']);
  assert.deepEqual(h.core.clients().map((c) => c.uco).sort(), ['bob', 'carol']);
});

// ── comm details ─────────────────────────────────────────────────────────────────

test('PROTOCOL §3 comm: from a connection that has not registered, {"error":"not registered","msg":<message>}', () => {
  const h = harness();
  const a = h.open();
  a.send('{"cmd":"comm", "text":"x", "uco":"alice"}');
  assert.deepEqual(fresh(a), ['{"error":"not registered","msg":{"cmd":"comm","text":"x","uco":"alice"}}']);
});

test('PROTOCOL §3 comm: with no current peer, {"error":"no peer","msg":<message>}', () => {
  const h = harness();
  const a = h.client('alice');
  a.send('{"cmd":"comm","text":"anyone?"}');
  assert.deepEqual(fresh(a), ['{"error":"no peer","msg":{"cmd":"comm","text":"anyone?"}}']);
});

test('PROTOCOL §3 comm: the peer receives the line byte for byte (key order, spacing, large numbers survive)', () => {
  const h = harness();
  const [a, b] = h.pair('alice', 'bob');
  const line = '{ "text" : "a\\u0041", "cmd":"comm",  "big": 123456789012345678901234567890, "f": 1.50 }';
  a.send(line);
  a.write(`${line}\r\n`);
  assert.deepEqual(fresh(b), [line, line]);
  assert.deepEqual(fresh(a), []);
});

test('PROTOCOL §3 comm: msg in error replies is the parsed message object (re-serialised compactly)', () => {
  const h = harness();
  const a = h.client('alice');
  a.send('{ "cmd" : "comm", "big": 1.50, "s": "\\u0041" }');
  assert.deepEqual(fresh(a), ['{"error":"no peer","msg":{"cmd":"comm","big":1.5,"s":"A"}}']);
});

test('PROTOCOL §3 comm: if the write to the peer fails, the sender gets {"error":"failed","msg":<message>}', () => {
  const h = harness();
  const a = h.client('alice');
  const sent: string[] = [];
  let broken = false;
  const transport: Transport = {
    send: (line) => {
      if (broken) return false;
      sent.push(String(line));
      return true;
    },
    close: () => undefined,
  };
  const bob = h.core.connect(transport);
  bob.receiveLine('{"cmd":"connect","uco":"bob","nonce":1}');
  h.clock.advance(h.core.options.pairDelayMs);
  assert.deepEqual(sent, ['{"ack":"1"}', pairLine('alice')]);
  fresh(a);
  broken = true;
  a.send('{"cmd":"comm","text":"lost"}');
  assert.deepEqual(fresh(a), ['{"error":"failed","msg":{"cmd":"comm","text":"lost"}}']);
  assert.equal(h.core.stats().errors.failed, 1);
  assert.equal(h.core.stats().relayedMessages, 0);
});

// ── pong details ─────────────────────────────────────────────────────────────────

test('PROTOCOL §3 pong: from a registered connection, refreshes its liveness', () => {
  const h = harness();
  const a = h.client('alice');
  h.clock.advance(6000);
  pong(a);
  h.clock.advance(6999);
  assert.equal(a.isClosed, false);
  h.clock.advance(1);
  assert.equal(a.lines.at(-1), exitLine('timeout'));
});

test('PROTOCOL §3 pong: from an unregistered connection, ignored (no reply, no registration)', () => {
  const h = harness();
  const a = h.open();
  a.send({ cmd: 'pong', uco: 'alice' });
  assert.deepEqual(fresh(a), []);
  assert.equal(h.core.stats().clients, 0);
  // It does not count as registering either: the register timeout still applies.
  h.clock.advance(h.core.options.registerTimeoutMs);
  assert.deepEqual(fresh(a), [exitLine('register timeout')]);
});

test('PROTOCOL §3 pong: only pong refreshes liveness (comm, connect again and errors do not)', () => {
  const h = harness();
  const [a, b] = h.pair('alice', 'bob');
  for (let t = 0; t < 7; t++) {
    h.clock.advance(1000);
    pong(b);
    a.send({ cmd: 'comm', t });
    a.send({ cmd: 'connect', uco: 'alice', nonce: t });
    a.send({ cmd: 'nonsense' });
  }
  assert.equal(a.lines.at(-1), exitLine('timeout'));
  assert.equal(a.closedBy, 'server');
  assert.equal(b.isClosed, false);
});
