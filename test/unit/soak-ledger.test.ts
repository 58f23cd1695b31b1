/**
 * The soak ledger's cluster categories (bench/soak-ledger.ts): a missing accepted
 * message is counted only when a cluster fault explains it, and lost otherwise.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Ledger, type ClusterFaults, type ConnectionEnd, type SentMessage } from '../../bench/soak-ledger.js';

const FAULTS = { marginMs: 2_000, recoveryMs: 12_000, reapMs: 9_000 };

function connection(ledger: Ledger, uco: string, openedAt: number, endedAt: number, extra: Partial<ConnectionEnd> = {}): ConnectionEnd {
  const end: ConnectionEnd = {
    uco,
    openedAt,
    endedAt,
    abrupt: false,
    selfDropped: false,
    exitReason: 'client exit',
    counted: 0,
    connectsSent: 2,
    connectsAcked: 2,
    ...extra,
  };
  ledger.connections.push(end);
  return end;
}

/** A ledger where `a` sent one message to `b` at 10 s (paired at 5 s, fenced at 10.1 s), never delivered. */
function missing(): { ledger: Ledger; message: SentMessage; b: ConnectionEnd } {
  const ledger = new Ledger();
  const a = connection(ledger, 'a', 0, 60_000);
  const b = connection(ledger, 'b', 0, 60_000);
  const message: SentMessage = { from: 'a', seq: 0, to: 'b', session: 1, sentAt: 10_000, link: a, fencedAt: 10_100, processedBy: 10_100, pairedAt: 5_000 };
  ledger.send(message);
  return { ledger, message, b };
}

test('soak ledger: a missing accepted message with no cluster fault is lost', () => {
  const { ledger } = missing();
  ledger.faults = { kills: [], outages: [], ...FAULTS };
  const audit = ledger.audit();
  assert.equal(audit.lost.length, 1);
  const { crashedConnections, toCrashedPeer, pairChanged, redisOutage } = audit.cluster;
  assert.deepEqual({ crashedConnections, toCrashedPeer, pairChanged, redisOutage }, { crashedConnections: 0, toCrashedPeer: 0, pairChanged: 0, redisOutage: 0 });
});

test('soak ledger: sent to a peer whose node was killed before its lease lapsed is counted (toCrashedPeer)', () => {
  const { ledger, b } = missing();
  Object.assign(b, { endedAt: 9_000, exitReason: undefined, abrupt: true });
  ledger.faults = { kills: [8_990], outages: [], ...FAULTS };
  const audit = ledger.audit();
  assert.equal(audit.lost.length, 0);
  assert.equal(audit.cluster.toCrashedPeer, 1);
  assert.equal(audit.cluster.lagMs.toCrashedPeer, 1_000, 'sent 1 s after the peer was cut');
  assert.equal(audit.cluster.crashedConnections, 1);
  assert.equal(audit.cutWithoutReason, 0);
});

test('soak ledger: a connection cut without an exit line far from any kill is a failure, not a crash', () => {
  const { ledger, b } = missing();
  Object.assign(b, { endedAt: 9_000, exitReason: undefined, abrupt: true });
  ledger.faults = { kills: [1_000], outages: [], ...FAULTS };
  const audit = ledger.audit();
  assert.equal(audit.cutWithoutReason, 1);
  assert.equal(audit.cluster.crashedConnections, 0);
  assert.equal(audit.lost.length, 1, 'the peer ended before the message was sent, and not by a kill');
});

test('soak ledger: the receiver re-paired while the message was in flight is counted (pairChanged); its own pair line is not', () => {
  const { ledger } = missing();
  ledger.faults = { kills: [], outages: [], ...FAULTS };
  ledger.change('b', 5_000, 'a');
  assert.equal(ledger.audit().lost.length, 1, "the receiver's pair line naming the sender starts the pair, it does not end it");
  ledger.change('b', 10_050, 'c');
  const audit = ledger.audit();
  assert.equal(audit.lost.length, 0);
  assert.equal(audit.cluster.pairChanged, 1);
});

test("soak ledger: the sender's own pair ending in flight (taken over) is counted (pairChanged); ending before it sent is not", () => {
  const before = missing();
  before.ledger.faults = { kills: [], outages: [], ...FAULTS };
  before.ledger.change('a', 5_000, 'b');
  before.ledger.change('a', 9_000, '');
  assert.equal(before.ledger.audit().lost.length, 1, 'a change before the message was sent does not explain it');
  const after = missing();
  after.ledger.faults = { kills: [], outages: [], ...FAULTS };
  after.ledger.change('a', 10_120, '');
  const audit = after.ledger.audit();
  assert.equal(audit.lost.length, 0);
  assert.equal(audit.cluster.pairChanged, 1);
});

test('soak ledger: a pair change long after the fence does not excuse the message', () => {
  const { ledger } = missing();
  ledger.faults = { kills: [], outages: [], ...FAULTS };
  ledger.change('b', 30_000, 'c');
  assert.equal(ledger.audit().lost.length, 1);
});

test('soak ledger: sent around a Redis restart is counted (redisOutage), long after it is not', () => {
  const around = missing();
  around.ledger.faults = { kills: [], outages: [{ down: 9_000, up: 9_100 }], ...FAULTS } satisfies ClusterFaults;
  assert.equal(around.ledger.audit().cluster.redisOutage, 1);
  const after = missing();
  after.ledger.faults = { kills: [], outages: [{ down: 1_000, up: 1_100 }], marginMs: 2_000, recoveryMs: 5_000, reapMs: 9_000 };
  assert.equal(after.ledger.audit().lost.length, 1);
});

test('soak ledger: without cluster faults nothing is counted in the cluster categories', () => {
  const { ledger } = missing();
  ledger.change('b', 10_050, 'c');
  const audit = ledger.audit();
  assert.equal(audit.lost.length, 1);
  assert.equal(audit.cluster.pairChanged, 0);
});
