/**
 * Fair grading (issue 10 point 3, DH-EXERCISE.md): a round cut short by the reference
 * peer, the student, the server or a new pairing is incomplete with who ended it; a
 * student dropped or refused by the server is in the report with the reason; event
 * times follow the peer's clock; the text report says what the JSON says.
 * In the harness, on its ManualClock: no sleeping.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test, type TestContext } from 'node:test';
import {
  attachReferencePeer,
  createHarness,
  formatReport,
  readReport,
  readRoundLog,
  summarize,
  type DhReport,
  type DhStudentEvent,
  type Harness,
  type ReferencePeerHandle,
  type StudentSummary,
} from '../../src/testing/index.js';

interface Lab {
  harness: Harness;
  ref: ReferencePeerHandle;
  /** The NDJSON written so far. */
  log: () => string;
  report: () => Promise<DhReport>;
}

/** A harness with one reference peer `ref` (the initiator against `s1`) watching the core. */
function lab(t: TestContext, { watch = true, stepTimeoutMs = 10_000, deadAfterMs = 7_000 } = {}): Lab {
  const harness = createHarness({ core: { deadAfterMs } });
  t.after(() => harness.close());
  let text = '';
  const out = new PassThrough().on('data', (chunk) => void (text += String(chunk)));
  const ref = attachReferencePeer(harness.connectStream(), {
    uco: 'ref',
    clock: harness.clock,
    bits: 1024,
    stepTimeoutMs,
    log: out,
    ...(watch ? { core: harness.core } : {}),
  });
  return { harness, ref, log: () => text, report: () => readReport(text) };
}

/** Registers a silent in-memory student `uco` and pairs it with `ref`: the peer sends dh1 and waits for dh2. */
async function pairedStudent(l: Lab, uco = 's1'): Promise<ReturnType<Harness['connect']>> {
  const student = l.harness.connect();
  student.send({ cmd: 'connect', uco, nonce: 1 });
  await l.harness.settle();
  l.harness.pair('ref', uco);
  await l.harness.settle();
  assert.equal(l.ref.peer.current?.awaiting, 'dh2');
  return student;
}

function studentOf(report: DhReport, uco: string): StudentSummary {
  const s = report.students.find((x) => x.uco === uco);
  assert.ok(s, `${uco} is in the report`);
  return s;
}

describe('DH-EXERCISE grading: rounds cut short are incomplete, with who ended them', () => {
  test('ref.close() in the middle of a round: incomplete, "the reference peer stopped", not failed', async (t) => {
    const l = lab(t);
    await pairedStudent(l);
    const watching = l.harness.core.listenerCount('connectionClosed');
    await l.ref.close();
    assert.equal(l.harness.core.listenerCount('connectionClosed'), watching - 1, 'the peer stopped watching the core');
    const s = studentOf(await l.report(), 's1');
    assert.deepEqual([s.rounds, s.failed, s.incomplete, s.lastFailure], [1, 0, 1, null]);
    assert.deepEqual([s.lastIncomplete?.step, s.lastIncomplete?.reason], ['dh2_recv', 'the reference peer stopped']);
  });

  test('the student leaves mid-round: incomplete at once, naming the student, not failed at the step timeout', async (t) => {
    const l = lab(t);
    const student = await pairedStudent(l);
    student.send({ cmd: 'exit' });
    await l.harness.settle();
    assert.equal(l.ref.peer.current?.status, 'incomplete');
    await l.harness.advanceAndSettle(10_000); // the step timeout has nothing left to fail
    await l.ref.close();
    const s = studentOf(await l.report(), 's1');
    assert.deepEqual([s.failed, s.incomplete, s.dropped], [0, 1, 0]);
    assert.equal(s.lastIncomplete?.reason, 'student s1 left (client exit)');
  });

  test('over TCP-like streams without the core: a "no peer" reply still tells the student left', async (t) => {
    const l = lab(t, { watch: false });
    const student = await pairedStudent(l);
    student.send({ cmd: 'exit' });
    await l.harness.settle();
    // The initiator's dh1 went out before the student left; the peer learns it on its next message.
    l.ref.peer.receive(JSON.stringify({ error: 'no peer', msg: { cmd: 'comm', sub: 'dh1' } }));
    await l.ref.close();
    const s = studentOf(await l.report(), 's1');
    assert.deepEqual([s.failed, s.incomplete], [0, 1]);
    assert.match(s.lastIncomplete?.reason ?? '', /^student s1 left \(the server answered no peer/);
  });

  test('a new pairing before the round ended: incomplete, "interrupted by a new pair with …"', async (t) => {
    const l = lab(t);
    await pairedStudent(l);
    const other = l.harness.connect();
    other.send({ cmd: 'connect', uco: 's2', nonce: 1 });
    await l.harness.settle();
    l.harness.pair('ref', 's2');
    await l.harness.settle();
    await l.ref.close();
    const s = studentOf(await l.report(), 's1');
    assert.deepEqual([s.failed, s.incomplete], [0, 1]);
    assert.equal(s.lastIncomplete?.reason, 'interrupted by a new pair with s2');
  });
});

describe('DH-EXERCISE grading: students the server dropped or refused are in the report', () => {
  test('PROTOCOL §5 liveness: a student dropped for not answering pings shows "dropped: timeout"', async (t) => {
    const l = lab(t);
    await pairedStudent(l);
    await l.harness.advanceAndSettle(8_000); // deadAfterMs: the silent student times out, the peer answers its pings
    assert.equal(l.harness.core.client('s1'), undefined);
    assert.notEqual(l.harness.core.client('ref'), undefined);
    await l.ref.close();
    const report = await l.report();
    const s = studentOf(report, 's1');
    assert.deepEqual([s.successful, s.failed, s.incomplete, s.dropped], [0, 0, 1, 1]);
    assert.equal(s.lastIncomplete?.reason, 'student s1 left (timeout)');
    assert.deepEqual([s.lastDrop?.reason, s.lastDrop?.peer], ['timeout', 'ref']);
    assert.equal(report.totals.dropped, 1);
  });

  test('PROTOCOL §5 register timeout: a connection that never registers is listed by connection', async (t) => {
    const l = lab(t);
    const silent = l.harness.connect();
    await l.harness.advanceAndSettle(l.harness.core.options.registerTimeoutMs);
    assert.equal(silent.isClosed, true);
    await l.ref.close();
    const dropped = (await l.report()).students.filter((s) => s.dropped > 0);
    assert.equal(dropped.length, 1);
    assert.match(dropped[0]?.uco ?? '', /^connection \d+$/);
    assert.equal(dropped[0]?.lastDrop?.reason, 'register timeout');
  });

  test('PROTOCOL §1–3 refusals: uco mismatch and invalid json are counted with the last reason', async (t) => {
    const l = lab(t);
    const student = await pairedStudent(l);
    student.send({ cmd: 'comm', uco: 'someoneelse', text: 'x' });
    student.write('{not json\n');
    await l.harness.settle();
    await l.ref.close();
    const s = studentOf(await l.report(), 's1');
    assert.deepEqual([s.refused, s.lastRefusal?.reason], [2, 'invalid json']);
  });
});

describe('DH-EXERCISE grading: times and the two report formats', () => {
  test('event ts follows the clock the peer runs on (the harness ManualClock)', async (t) => {
    const l = lab(t, { deadAfterMs: 60_000 }); // the silent student outlives the step timeout
    await l.harness.advanceAndSettle(5_000);
    await pairedStudent(l);
    await l.harness.advanceAndSettle(10_000); // no dh2: the step times out on the manual clock
    const events = readRoundLog(l.log());
    const pair = events.find((e) => e.event === 'pair');
    const fail = events.find((e) => e.event === 'fail');
    assert.equal(pair?.ts, new Date(5_000).toISOString());
    assert.equal(fail?.ts, new Date(15_000).toISOString());
    assert.equal(fail?.reason, 'no dh2 within 10000 ms');
  });

  test('the text report names everything the JSON does: last failure, last incomplete, drop, refusal', async (t) => {
    const l = lab(t, { stepTimeoutMs: 4_000 });
    const student = await pairedStudent(l);
    await l.harness.advanceAndSettle(4_000); // round 1 fails: no dh2 within 4000 ms
    l.harness.nextEpoch(); // the only possible pair again: round 2
    await l.harness.settle();
    student.write('{not json\n');
    await l.harness.advanceAndSettle(3_000); // deadAfterMs 7000: the student times out during round 2
    await l.ref.close();
    const report = await l.report();
    const s = studentOf(report, 's1');
    const row = formatReport(report).split('\n').find((line) => line.startsWith('s1 '));
    assert.ok(row);
    assert.deepEqual(row.split(/\s+/).slice(1, 7), ['2', '0', '1', '1', '1', '1']);
    for (const reason of [s.lastFailure?.reason, s.lastIncomplete?.reason, s.lastDrop?.reason, s.lastRefusal?.reason]) {
      assert.ok(reason !== undefined && row.includes(reason), `${String(reason)} in ${row}`);
    }
  });
});

describe('DH-EXERCISE grading: several reference peers', () => {
  test('two peers watching one core log the same drop: counted once; two refusals at one instant: twice', async () => {
    const note = (peer: string, reason: string): DhStudentEvent => ({ ts: 't1', event: 'refused', peer, student: 's1', reason });
    const drop: DhStudentEvent = { ts: 't0', event: 'dropped', peer: 'refA', student: 's1', reason: 'timeout' };
    const report = summarize([
      drop,
      { ...drop, peer: 'refB' },
      note('refA', 'invalid json'),
      note('refA', 'invalid json'),
      note('refB', 'invalid json'),
      note('refB', 'invalid json'),
    ]);
    const s = studentOf(report, 's1');
    assert.deepEqual([s.rounds, s.dropped, s.refused], [0, 1, 2]);
  });
});
