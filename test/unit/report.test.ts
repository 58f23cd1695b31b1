/**
 * The grading report (src/testing/report.ts) and `chat-roulette report`, on a log
 * written by hand: test/fixtures/report/sample.ndjson (DH-EXERCISE.md events).
 */
import assert from 'node:assert/strict';
import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import reportCommand from '../../src/cli/commands/report.js';
import {
  attachReferencePeer,
  createHarness,
  formatReport,
  parseRoundEvent,
  readReport,
  summarize,
  type DhRoundEvent,
  type StudentSummary,
} from '../../src/testing/index.js';

const SAMPLE = fileURLToPath(new URL('../fixtures/report/sample.ndjson', import.meta.url));

const SAMPLE_TABLE = `\
student  rounds  ok  failed  incomplete  dropped  refused  notes
409001        2   2       0           0        0        0
409002        2   0       2           0        0        0  last failure dhc_check: dhverif does not match (refpeer round 3)
409003        3   0       3           0        0        0  last failure dh2_recv: out of order, after dhc_check (000peer round 4)
409004        3   1       0           2        0        0  last incomplete pair: the log ended before the round did (refpeer round 5)
409005        2   0       2           0        0        0  last failure dh1_send: no reason given (000peer round 6)
total        12   3       7           2        0        0
65 events, 4 malformed lines
  line 17: invalid JSON
  line 42: unknown event "dh3_send"
  line 56: not a JSON object
  line 70: round is not a positive integer
`;

/** One event of a round: its name, or its name and extra fields. */
type Step = DhRoundEvent['event'] | [DhRoundEvent['event'], Partial<DhRoundEvent>];

/** The events of one round of `role`, one per step, `ts` counting seconds. */
function round(student: string, n: number, role: 'initiator' | 'responder', steps: Step[]): DhRoundEvent[] {
  return steps.map((step, i) => {
    const [event, extra] = Array.isArray(step) ? step : [step, {}];
    return { ts: `2025-01-01T00:00:${String(i).padStart(2, '0')}.000Z`, event, peer: 'ref', student, role, round: n, ...extra };
  });
}

const INITIATOR_OK: Step[] = [
  'pair', 'dh1_send', 'dh2_recv', 'dh_done', 'dhc_send', 'dhc_recv', ['dhc_check', { ok: true }], 'finish',
];
const RESPONDER_OK: Step[] = [
  'pair', 'dh1_recv', 'dh2_send', 'dh_done', 'dhc_recv', ['dhc_check', { ok: true }], 'dhc_send', 'finish',
];

function only(events: DhRoundEvent[]): StudentSummary {
  const [student, ...rest] = summarize(events).students;
  assert.equal(rest.length, 0);
  assert.ok(student);
  return student;
}

describe('summarize(): DH-EXERCISE.md rounds', () => {
  test('finish after a matching dhc_check, in the order of the role, is a success', () => {
    assert.deepEqual(only([...round('s', 1, 'initiator', INITIATOR_OK), ...round('s', 2, 'responder', RESPONDER_OK)]), {
      uco: 's', rounds: 2, successful: 2, failed: 0, incomplete: 0, lastFailure: null, lastIncomplete: null,
      dropped: 0, lastDrop: null, refused: 0, lastRefusal: null,
    });
  });

  test('a reference peer restarted on the same log numbers rounds from 1 again: each pair starts a new round', () => {
    // The teacher stops the peer (Ctrl-C) and starts it again with the same --log.
    const s = only([...round('s', 1, 'initiator', INITIATOR_OK), ...round('s', 1, 'initiator', INITIATOR_OK.slice(0, 3))]);
    assert.equal(s.rounds, 2);
    assert.equal(s.successful, 1);
    assert.equal(s.incomplete, 1);
  });

  test('the responder may log dh_done before or after dh2_send', () => {
    const swapped = RESPONDER_OK.map((s) => (s === 'dh2_send' ? 'dh_done' : s === 'dh_done' ? 'dh2_send' : s));
    assert.equal(only(round('s', 1, 'responder', swapped)).successful, 1);
  });

  test('a fail event fails the round, with its step and reason', () => {
    const s = only(round('s', 1, 'responder', ['pair', ['fail', { step: 'dh1_recv', reason: 'dh1 carried no dhpub' }]]));
    assert.equal(s.failed, 1);
    assert.deepEqual(s.lastFailure, { step: 'dh1_recv', reason: 'dh1 carried no dhpub', peer: 'ref', round: 1, ts: '2025-01-01T00:00:01.000Z' });
  });

  test('a fail event without step nor reason: the last step reached', () => {
    const s = only(round('s', 1, 'initiator', ['pair', 'dh1_send', ['fail', {}]]));
    assert.deepEqual([s.lastFailure?.step, s.lastFailure?.reason], ['dh1_send', 'no reason given']);
  });

  test('a non-matching dhc_check fails the round; a following fail event explains it', () => {
    const mismatch = INITIATOR_OK.map((s) => (Array.isArray(s) ? (['dhc_check', { ok: false }] satisfies Step) : s));
    const alone = only(round('s', 1, 'initiator', mismatch));
    assert.deepEqual([alone.failed, alone.lastFailure?.step, alone.lastFailure?.reason], [1, 'dhc_check', 'HMAC did not match']);
    const explained = only(round('s', 1, 'initiator', [...mismatch.slice(0, 7), ['fail', { step: 'dhc_check', reason: 'bad dhverif' }]]));
    assert.deepEqual([explained.failed, explained.lastFailure?.reason], [1, 'bad dhverif']);
  });

  test('finish without a matching dhc_check is a failure', () => {
    const s = only(round('s', 1, 'initiator', ['pair', 'dh1_send', 'dh2_recv', 'dh_done', 'dhc_send', 'finish']));
    assert.deepEqual([s.failed, s.lastFailure?.step, s.lastFailure?.reason], [1, 'finish', 'finish without a matching dhc_check']);
  });

  test('steps out of order, or of the other role, fail the round', () => {
    const late = only(round('s', 1, 'responder', ['pair', 'dh1_recv', 'dh2_send', 'dhc_recv', ['dhc_check', { ok: true }], 'dh1_recv', 'finish']));
    assert.deepEqual([late.failed, late.lastFailure?.step, late.lastFailure?.reason], [1, 'dh1_recv', 'out of order, after dhc_check']);
    // The responder sends its dhc only after checking the initiator's.
    const early = only(round('s', 1, 'responder', ['pair', 'dh1_recv', 'dh2_send', 'dhc_send', 'dhc_recv']));
    assert.deepEqual([early.failed, early.lastFailure?.step], [1, 'dhc_recv']);
    const wrongRole = only(round('s', 1, 'initiator', ['pair', 'dh1_recv']));
    assert.deepEqual([wrongRole.failed, wrongRole.lastFailure?.reason], [1, 'not a step of the initiator']);
  });

  test('rounds neither finished nor failed are incomplete; events after the outcome are ignored', () => {
    const s = only([
      ...round('s', 1, 'initiator', ['pair', 'dh1_send']),
      ...round('s', 2, 'initiator', [...INITIATOR_OK, ['fail', { reason: 'late' }]]),
    ]);
    assert.deepEqual([s.rounds, s.successful, s.failed, s.incomplete], [2, 1, 0, 1]);
  });

  test('the last failure is the latest in log order; students sorted by uco', () => {
    const events = [
      ...round('b', 1, 'initiator', ['pair', ['fail', { reason: 'first' }]]),
      ...round('a', 2, 'initiator', INITIATOR_OK),
      ...round('b', 3, 'initiator', ['pair', ['fail', { reason: 'second' }]]),
    ];
    const report = summarize(events);
    assert.deepEqual(report.students.map((s) => s.uco), ['a', 'b']);
    assert.equal(report.students[1]?.lastFailure?.reason, 'second');
    assert.deepEqual(report.totals, { students: 2, rounds: 3, successful: 1, failed: 2, incomplete: 0, dropped: 0, refused: 0 });
    assert.deepEqual(report.malformed, { count: 0, samples: [] });
    assert.equal(report.events, events.length);
  });
});

describe('parseRoundEvent()', () => {
  test('keeps the fields of DhRoundEvent, refuses what is not one', () => {
    const line = '{"ts":"t","event":"dhc_check","peer":"p","student":"s","role":"initiator","round":3,"ok":true,"extra":1}';
    assert.deepEqual(parseRoundEvent(line), { ts: 't', event: 'dhc_check', peer: 'p', student: 's', role: 'initiator', round: 3, ok: true });
    assert.equal(parseRoundEvent('{'), 'invalid JSON');
    assert.equal(parseRoundEvent('null'), 'not a JSON object');
    assert.equal(parseRoundEvent(line.replace('"initiator"', '"observer"')), 'unknown role "observer"');
    assert.equal(parseRoundEvent(line.replace('"ok":true', '"ok":"yes"')), 'ok is not a boolean');
    assert.equal(parseRoundEvent(line.replace('"round":3', '"round":0')), 'round is not a positive integer');
    assert.equal(parseRoundEvent(line.replace('"ts":"t",', '')), 'missing ts');
  });
});

describe('readReport() on the sample log', () => {
  test('from a string: counts, last failures, malformed lines', async () => {
    const report = await readReport(readFileSync(SAMPLE, 'utf8'));
    assert.deepEqual(report.totals, { students: 5, rounds: 12, successful: 3, failed: 7, incomplete: 2, dropped: 0, refused: 0 });
    assert.equal(report.events, 65);
    assert.deepEqual(report.malformed, {
      count: 4,
      samples: [
        { line: 17, reason: 'invalid JSON' },
        { line: 42, reason: 'unknown event "dh3_send"' },
        { line: 56, reason: 'not a JSON object' },
        { line: 70, reason: 'round is not a positive integer' },
      ],
    });
    assert.deepEqual(report.students.find((s) => s.uco === '409002'), {
      uco: '409002',
      rounds: 2,
      successful: 0,
      failed: 2,
      incomplete: 0,
      lastFailure: { step: 'dhc_check', reason: 'dhverif does not match', peer: 'refpeer', round: 3, ts: '2025-03-14T10:00:26.000Z' },
      lastIncomplete: null,
      dropped: 0,
      lastDrop: null,
      refused: 0,
      lastRefusal: null,
    });
    assert.equal(formatReport(report), SAMPLE_TABLE);
  });

  test('from readline lines: the same report', async () => {
    const lines = createInterface({ input: createReadStream(SAMPLE, 'utf8'), crlfDelay: Infinity });
    assert.deepEqual(await readReport(lines), await readReport(readFileSync(SAMPLE, 'utf8')));
  });

  test('CRLF line ends, blank lines and a missing final newline', async () => {
    const text = readFileSync(SAMPLE, 'utf8').trimEnd().split('\n').join('\r\n');
    const report = await readReport(text);
    assert.deepEqual([report.events, report.malformed.count], [65, 4]);
    assert.deepEqual(await readReport(''), await readReport('\n\n'));
  });
});

/** Runs `chat-roulette report <argv>` in-process. */
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await reportCommand.run(argv, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

describe('chat-roulette report', () => {
  test('prints the table, exit 0', async () => {
    assert.deepEqual(await cli(SAMPLE), { code: 0, out: SAMPLE_TABLE, err: '' });
  });

  test('--json prints the report as JSON', async () => {
    const { code, out, err } = await cli('--json', SAMPLE);
    assert.deepEqual([code, err], [0, '']);
    assert.deepEqual(JSON.parse(out), JSON.parse(JSON.stringify(await readReport(readFileSync(SAMPLE, 'utf8')))));
    assert.equal(JSON.parse(out).students[1].lastFailure.reason, 'dhverif does not match');
  });

  test('bad arguments: usage, exit 2', async () => {
    for (const argv of [[], ['--jsn', SAMPLE], [SAMPLE, 'extra'], ['--json=yes', SAMPLE]]) {
      const { code, out, err } = await cli(...argv);
      assert.deepEqual([code, out], [2, ''], argv.join(' '));
      assert.match(err, /^chat-roulette report: .+\nUsage: chat-roulette report <file\.ndjson> \[--json\]\n/);
    }
    const help = await cli('--help');
    assert.deepEqual([help.code, help.err], [0, '']);
    assert.match(help.out, /^Usage: chat-roulette report/);
  });

  test('a file that cannot be read: one line, exit 1', async () => {
    for (const file of [SAMPLE.replace(/sample\.ndjson$/, 'missing.ndjson'), fileURLToPath(new URL('../fixtures/report', import.meta.url))]) {
      const { code, out, err } = await cli(file);
      assert.deepEqual([code, out], [1, '']);
      assert.match(err, /^chat-roulette report: cannot read .+\n$/);
      assert.equal(err.split('\n').length, 2);
    }
  });
});

describe('the reference peer\'s own log', () => {
  test('two reference peers in the harness: every round graded successful', async (t) => {
    const harness = createHarness();
    t.after(() => harness.close());
    let log = '';
    const logTo = (): PassThrough => new PassThrough().on('data', (chunk) => void (log += String(chunk)));
    const options = { clock: harness.clock, bits: 1024 } as const;
    const a = attachReferencePeer(harness.connectStream(), { ...options, uco: 'refA', log: logTo() });
    const b = attachReferencePeer(harness.connectStream(), { ...options, uco: 'refB', log: logTo() });
    await harness.advanceAndSettle(harness.core.options.epochMs); // pair, then one epoch: two rounds
    await Promise.all([a.close(), b.close()]);
    const report = await readReport(log);
    assert.deepEqual(report.malformed.count, 0);
    assert.deepEqual(report.totals, { students: 2, rounds: 4, successful: 4, failed: 0, incomplete: 0, dropped: 0, refused: 0 });
  });
});
