/**
 * The example client (examples/student-client.ts), tested the way a student tests
 * theirs: in-process with the harness, no network, no real waiting.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHarness } from 'chat-roulette/testing';
import { StudentClient } from '../../examples/student-client.js';

test('student client: registers, greets its peer on pair, answers pings', async (t) => {
  const harness = createHarness();
  t.after(() => harness.close());

  // The client under test, over a socket-like stream.
  const student = new StudentClient(harness.connectStream(), { uco: '409123' });
  student.start();
  // Its peer: an in-memory client driven by the test.
  const peer = harness.connect();
  peer.send({ cmd: 'connect', uco: 'peer', nonce: 1 });
  await harness.settle();
  assert.equal(student.registered, true);

  harness.pair('409123', 'peer');
  await harness.settle();
  assert.equal(student.peer, 'peer');
  const greeting = peer.messages.find((m) => m.cmd === 'comm');
  assert.deepEqual(greeting, { cmd: 'comm', text: 'hello peer, this is 409123', uco: '409123', session: 's1', nonce: 2 });

  peer.send({ cmd: 'comm', text: 'hi back' });
  await harness.settle();
  assert.deepEqual(student.inbox, [{ cmd: 'comm', text: 'hi back' }]);

  // Ten seconds of pings: the student answers each in time, the silent peer times out.
  await harness.advanceAndSettle(10_000);
  assert.notEqual(harness.core.client('409123'), undefined);
  assert.equal(harness.core.client('peer'), undefined);
  const pongs = harness.transcript('409123').filter((e) => e.direction === 'sent' && e.line.includes('"pong"'));
  assert.equal(pongs.length, 10);
});

test('student client: two students greet each other', async (t) => {
  const harness = createHarness();
  t.after(() => harness.close());
  const alice = new StudentClient(harness.connectStream(), { uco: 'alice' });
  const bob = new StudentClient(harness.connectStream(), { uco: 'bob' });
  alice.start();
  bob.start();
  // Paired by the scheduler within pairDelayMs (PROTOCOL §6).
  await harness.advanceAndSettle(harness.core.options.pairDelayMs);
  assert.equal(alice.peer, 'bob');
  assert.equal(bob.peer, 'alice');
  assert.equal(alice.inbox[0]?.text, 'hello alice, this is bob');
  assert.equal(bob.inbox[0]?.text, 'hello bob, this is alice');
});

test('student client: leaves with exit, and ends its socket on the server shutdown', async (t) => {
  const harness = createHarness();
  t.after(() => harness.close());
  const student = new StudentClient(harness.connectStream(), { uco: 'carol' });
  student.start();
  await harness.settle();
  student.exit();
  await harness.settle();
  assert.equal(student.exitReason, 'client exit');
  assert.equal(harness.core.client('carol'), undefined);

  const other = new StudentClient(harness.connectStream(), { uco: 'dave' });
  other.start();
  await harness.settle();
  await harness.close();
  assert.equal(other.exitReason, 'server shutdown');
  assert.equal(harness.clock.now(), 0); // no real or simulated waiting
});
