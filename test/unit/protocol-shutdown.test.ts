/** PROTOCOL §7 Shutdown. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exitLine, harness } from '../helpers/core.js';

test('PROTOCOL §7: stopping sends {"exit":true,"reason":"server shutdown"} to every connection and closes them', () => {
  const h = harness();
  const [a, b] = h.pair('alice', 'bob');
  const c = h.client('carol');
  const d = h.open();
  h.core.stop();
  for (const conn of [a, b, c, d]) {
    assert.equal(conn.lines.at(-1), exitLine('server shutdown'));
    assert.equal(conn.lines.filter((l) => l.startsWith('{"exit"')).length, 1);
    assert.equal(conn.closedBy, 'server');
  }
  assert.deepEqual(h.core.stats().connections, 0);
  assert.equal(h.core.running, false);
});

test('PROTOCOL §7: nothing is written after exit (no pings, no pair, no relay) and every timer is released', () => {
  const h = harness();
  const [a, b] = h.pair('alice', 'bob');
  h.core.stop();
  assert.equal(h.clock.pendingTimers, 0);
  a.send({ cmd: 'comm' });
  b.send({ cmd: 'connect', uco: 'bob' });
  h.clock.advance(120_000);
  assert.equal(a.lines.at(-1), exitLine('server shutdown'));
  assert.equal(b.lines.at(-1), exitLine('server shutdown'));
});

test('PROTOCOL §7: a connection already closed by its client gets nothing at shutdown', () => {
  const h = harness();
  const a = h.client('alice');
  a.end();
  const count = a.lines.length;
  h.core.stop();
  assert.equal(a.lines.length, count);
});

test('PROTOCOL §7: the server closes with a flush (close), not a drop (destroy)', () => {
  const h = harness();
  const a = h.client('alice');
  a.buffered = 1000;
  h.core.stop();
  assert.equal(a.closedBy, 'server');
});

test('PROTOCOL §7: a stopped core can be started again and serves new connections', () => {
  const h = harness();
  h.client('alice');
  h.core.stop();
  h.core.start();
  const [a, b] = h.pair('alice', 'bob');
  a.send({ cmd: 'comm', n: 1 });
  assert.equal(b.lines.at(-1), '{"cmd":"comm","n":1}');
  h.core.stop();
  assert.equal(h.clock.pendingTimers, 0);
});

test('PROTOCOL §7: disconnect(handle) closes one connection with an exit message, the rest keep running', () => {
  const h = harness();
  const [a, b] = h.pair('alice', 'bob');
  h.core.disconnect(a.handle);
  assert.equal(a.lines.at(-1), exitLine('server shutdown'));
  assert.equal(a.closedBy, 'server');
  h.core.disconnect(a.handle); // already closed: ignored
  assert.equal(a.lines.filter((l) => l.startsWith('{"exit"')).length, 1);
  assert.equal(b.isClosed, false);
  assert.equal(h.core.client('bob')?.peer, undefined);
});
