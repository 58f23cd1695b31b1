/**
 * The grading report: reads the reference peer's NDJSON log of
 * {@link DhRoundEvent}s and tells, per student, how many Diffie–Hellman rounds
 * succeeded, failed or never ended (DH-EXERCISE.md).
 *
 * @module
 */
import {
  DH_STEPS,
  isRoundEvent,
  type DhLogEvent,
  type DhRole,
  type DhRoundEvent,
  type DhStep,
  type DhStudentEvent,
} from './dh/events.js';

/** How a round ended. */
export type RoundOutcome = 'successful' | 'failed' | 'incomplete';

/** What ended a round that did not succeed: its failure, or who cut it short. */
export interface RoundEnd {
  /** The step at which the round ended. */
  step: DhStep;
  /** Why it failed, or who cut it short, in plain words. */
  reason: string;
  /** The reference peer that ran the round. */
  peer: string;
  /** The round number (per reference peer). */
  round: number;
  /** Time of the event that decided it (ISO-8601, from the log). */
  ts: string;
}

/** The failure that ended a round (a {@link RoundEnd}). */
export type RoundFailure = RoundEnd;

/** Something the server did to a student outside a round (a {@link DhStudentEvent}). */
export interface StudentNote {
  /** The server's exit reason (dropped) or error text (refused). */
  reason: string;
  /** The reference peer that logged it. */
  peer: string;
  /** When (ISO-8601, from the log). */
  ts: string;
}

/** One student's results. */
export interface StudentSummary {
  /** The student's uco. */
  uco: string;
  /** Rounds seen with this student. */
  rounds: number;
  /** Rounds that reached `finish` after a matching `dhc_check`, steps in order. */
  successful: number;
  /** Rounds that failed (a `fail` event, a non-matching `dhc_check`, steps out of order). */
  failed: number;
  /**
   * Rounds cut short by someone else (the reference peer stopping, the student
   * leaving, the server, a new pairing: an `incomplete` event), or that neither
   * finished nor failed before the log ended.
   */
  incomplete: number;
  /** The failure of the last failed round (in log order), or `null` when none failed. */
  lastFailure: RoundFailure | null;
  /** What ended the last incomplete round (in log order), or `null` when none was. */
  lastIncomplete: RoundEnd | null;
  /** Times the server dropped the student (`timeout`, `register timeout`, …). */
  dropped: number;
  /** The last drop, or `null`. */
  lastDrop: StudentNote | null;
  /** Messages of the student the server refused (`uco mismatch`, `invalid json`, …). */
  refused: number;
  /** The last refusal, or `null`. */
  lastRefusal: StudentNote | null;
}

/** Sums over every student. */
export interface ReportTotals {
  /** Students seen. */
  students: number;
  /** Rounds seen. */
  rounds: number;
  /** Successful rounds. */
  successful: number;
  /** Failed rounds. */
  failed: number;
  /** Incomplete rounds. */
  incomplete: number;
  /** Drops of students by the server. */
  dropped: number;
  /** Refused messages of students. */
  refused: number;
}

/** One line of the log that is not a {@link DhRoundEvent}. */
export interface MalformedLine {
  /** 1-based line number. */
  line: number;
  /** What is wrong with it. */
  reason: string;
}

/** The reason of a round still running when the log ended. */
export const LOG_ENDED_REASON = 'the log ended before the round did';

/** The lines of the log that could not be read. */
export interface MalformedSummary {
  /** How many lines were malformed (blank lines are not counted). */
  count: number;
  /** The first {@link MAX_MALFORMED_SAMPLES} of them. */
  samples: MalformedLine[];
}

/** The whole report, as printed by `chat-roulette report --json`. */
export interface DhReport {
  /** One entry per student, sorted by uco (UTF-16 order). */
  students: StudentSummary[];
  /** Sums over every student. */
  totals: ReportTotals;
  /** Events read. */
  events: number;
  /** Lines that were not events. */
  malformed: MalformedSummary;
}

/** How many malformed lines a {@link DhReport} describes one by one. */
export const MAX_MALFORMED_SAMPLES = 20;

/**
 * The order of the steps for each role (DH-EXERCISE.md): a step may not come after a
 * step of a higher rank. The responder computes the secret around sending `dh2`, so
 * `dh2_send` and `dh_done` share a rank. A step missing from a role's map is not
 * one of that role's steps.
 */
const STEP_RANKS: Readonly<Record<DhRole, Partial<Record<DhStep, number>>>> = {
  initiator: { pair: 0, dh1_send: 1, dh2_recv: 2, dh_done: 3, dhc_send: 4, dhc_recv: 5, dhc_check: 6, finish: 7 },
  responder: { pair: 0, dh1_recv: 1, dh2_send: 2, dh_done: 2, dhc_recv: 3, dhc_check: 4, dhc_send: 5, finish: 6 },
};

const STEPS: ReadonlySet<string> = new Set(DH_STEPS);
const ROUND_END_EVENTS: ReadonlySet<string> = new Set<DhRoundEvent['event']>(['fail', 'incomplete']);
const STUDENT_EVENTS: ReadonlySet<string> = new Set<DhStudentEvent['event']>(['dropped', 'refused']);
const ROLES: ReadonlySet<string> = new Set<DhRole>(['initiator', 'responder']);

/** The state of one round while its events are read. */
interface RoundState {
  readonly student: string;
  readonly peer: string;
  readonly round: number;
  readonly role: DhRole;
  outcome: RoundOutcome;
  failure: RoundFailure | undefined;
  /** Position (in the event list) of the event that decided the outcome. */
  decidedAt: number;
  /** The failure was inferred by the report, not logged by a `fail` event: a later `fail` refines it. */
  inferred: boolean;
  /** For an `incomplete` event: who cut the round short. */
  cut: RoundEnd | undefined;
  lastStep: DhStep | undefined;
  /** Time of the round's latest event. */
  lastTs: string;
  rank: number;
  matched: boolean;
}

/**
 * Grades the rounds in `events`, taken in log order. A round is identified by its
 * (`peer`, `student`, `round`) and is:
 *
 * - **successful** when it reaches `finish` after a `dhc_check` with `ok: true`, every
 *   step in the order of its role;
 * - **failed** at its first `fail` event, `dhc_check` without `ok: true`, `finish`
 *   without a matching check, or step out of its role's order (a `fail` event that
 *   follows a failure the report inferred gives the step and reason);
 * - **incomplete** at an `incomplete` event (someone else cut it short), or when the
 *   log ends first.
 *
 * Events after a round's outcome is decided are ignored. `dropped` and `refused`
 * records ({@link DhStudentEvent}) are counted per student, who is listed even with
 * no round; the same record (student, event, reason, `ts`) logged by several
 * reference peers watching one core counts once.
 *
 * @example
 * ```ts
 * const report = summarize(events);
 * for (const s of report.students) console.log(s.uco, s.successful, s.failed);
 * ```
 */
export function summarize(events: readonly DhLogEvent[]): DhReport {
  /** The round each (peer, student, round number) designates now, and every round in log order. */
  const current = new Map<string, RoundState>();
  const rounds: RoundState[] = [];
  const notes: DhStudentEvent[] = [];
  events.forEach((event, index) => {
    if (!isRoundEvent(event)) {
      notes.push(event);
      return;
    }
    const key = JSON.stringify([event.peer, event.student, event.round]);
    let state = current.get(key);
    // A `pair` begins a round: under a number already seen, it is a restarted peer
    // (numbering from 1 again, appending to the same log), so a new round.
    if (state === undefined || event.event === 'pair') {
      state = newRound(event);
      current.set(key, state);
      rounds.push(state);
    }
    applyEvent(state, event, index);
  });
  return buildReport(rounds, notes, events.length, { count: 0, samples: [] });
}

/**
 * Reads an NDJSON log of {@link DhRoundEvent}s and grades it with {@link summarize}.
 * Blank lines are skipped; a line that is not JSON or not an event is counted in
 * {@link DhReport.malformed} and skipped.
 *
 * @param lines - the whole log as one string, or its lines (each item one line, as
 *   `readline` gives them; an item holding several lines is split).
 *
 * @example From a file
 * ```ts
 * import { createReadStream } from 'node:fs';
 * import { createInterface } from 'node:readline';
 *
 * const input = createReadStream('rounds.ndjson', 'utf8');
 * const report = await readReport(createInterface({ input, crlfDelay: Infinity }));
 * process.stdout.write(formatReport(report));
 * ```
 */
export async function readReport(lines: AsyncIterable<string> | string): Promise<DhReport> {
  const events: DhLogEvent[] = [];
  const malformed: MalformedSummary = { count: 0, samples: [] };
  let lineNumber = 0;
  const take = (line: string): void => {
    lineNumber++;
    if (line.trim() === '') return;
    const parsed = parseRoundEvent(line);
    if (typeof parsed === 'string') {
      malformed.count++;
      if (malformed.samples.length < MAX_MALFORMED_SAMPLES) malformed.samples.push({ line: lineNumber, reason: parsed });
    } else {
      events.push(parsed);
    }
  };
  if (typeof lines === 'string') {
    splitLines(lines).forEach(take);
  } else {
    for await (const item of lines) splitLines(item).forEach(take);
  }
  const report = summarize(events);
  report.malformed = malformed;
  return report;
}

/**
 * Parses one NDJSON line into a {@link DhRoundEvent} or a {@link DhStudentEvent}.
 *
 * @returns the event, or a short reason when the line is not one.
 */
export function parseRoundEvent(line: string): DhLogEvent | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return 'invalid JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const record = value as Record<string, unknown>;
  const { ts, event, peer, student, role, round, ok, step, reason } = record;
  if (typeof ts !== 'string') return 'missing ts';
  if (typeof event !== 'string' || !(ROUND_END_EVENTS.has(event) || STEPS.has(event) || STUDENT_EVENTS.has(event))) {
    return `unknown event ${JSON.stringify(event)}`;
  }
  if (typeof peer !== 'string' || peer === '') return 'missing peer';
  if (typeof student !== 'string' || student === '') return 'missing student';
  if (STUDENT_EVENTS.has(event)) {
    if (typeof reason !== 'string') return 'missing reason';
    return { ts, event: event as DhStudentEvent['event'], peer, student, reason };
  }
  if (typeof role !== 'string' || !ROLES.has(role)) return `unknown role ${JSON.stringify(role)}`;
  if (typeof round !== 'number' || !Number.isSafeInteger(round) || round < 1) return 'round is not a positive integer';
  if (ok !== undefined && typeof ok !== 'boolean') return 'ok is not a boolean';
  if (step !== undefined && (typeof step !== 'string' || !STEPS.has(step))) return `unknown step ${JSON.stringify(step)}`;
  if (reason !== undefined && typeof reason !== 'string') return 'reason is not a string';
  const parsed: DhRoundEvent = {
    ts,
    event: event as DhRoundEvent['event'],
    peer,
    student,
    role: role as DhRole,
    round,
  };
  if (ok !== undefined) parsed.ok = ok;
  if (step !== undefined) parsed.step = step as DhStep;
  if (reason !== undefined) parsed.reason = reason;
  return parsed;
}

/**
 * Renders a report as a text table, one row per student, then the totals and the
 * malformed lines. Ends with a newline. It says what the JSON says: the `notes` column
 * holds the last failure, the last incomplete round (who cut it short), the last drop
 * and the last refusal of each student.
 *
 * @example
 * ```text
 * student  rounds  ok  failed  incomplete  dropped  refused  notes
 * 409123        3   1       1           1        1        0  last failure dhc_check: HMAC did not match (refpeer round 3); last incomplete dh2_recv: student 409123 left (timeout) (refpeer round 4); dropped: timeout (refpeer)
 * total         3   1       1           1        1        0
 * 14 events, 0 malformed lines
 * ```
 */
export function formatReport(report: DhReport): string {
  const header = ['student', 'rounds', 'ok', 'failed', 'incomplete', 'dropped', 'refused', 'notes'];
  const rows = report.students.map((s) => [
    s.uco,
    String(s.rounds),
    String(s.successful),
    String(s.failed),
    String(s.incomplete),
    String(s.dropped),
    String(s.refused),
    describeNotes(s),
  ]);
  const t = report.totals;
  const counts = [t.rounds, t.successful, t.failed, t.incomplete, t.dropped, t.refused].map(String);
  const total = ['total', ...counts, ''];
  const table = [header, ...rows, total];
  const widths = header.map((_, column) => Math.max(...table.map((row) => (row[column] ?? '').length)));
  const out = table.map((row) =>
    row
      .map((cell, column) => {
        const width = widths[column] ?? 0;
        if (column === row.length - 1) return cell;
        // Names left-aligned, counts right-aligned.
        return column === 0 ? cell.padEnd(width) : cell.padStart(width);
      })
      .join('  ')
      .trimEnd(),
  );
  const m = report.malformed;
  out.push(`${report.events} events, ${m.count} malformed line${m.count === 1 ? '' : 's'}`);
  for (const sample of m.samples) out.push(`  line ${sample.line}: ${sample.reason}`);
  if (m.count > m.samples.length) out.push(`  ... and ${m.count - m.samples.length} more`);
  return out.join('\n') + '\n';
}

/** The notes column: every `last…` field of a student, in words. */
function describeNotes(s: StudentSummary): string {
  const notes: string[] = [];
  if (s.lastFailure !== null) notes.push(`last failure ${describeEnd(s.lastFailure)}`);
  if (s.lastIncomplete !== null) notes.push(`last incomplete ${describeEnd(s.lastIncomplete)}`);
  if (s.lastDrop !== null) notes.push(`dropped: ${s.lastDrop.reason} (${s.lastDrop.peer})`);
  if (s.lastRefusal !== null) notes.push(`refused: ${s.lastRefusal.reason} (${s.lastRefusal.peer})`);
  return notes.join('; ');
}

/** `"<step>: <reason> (<peer> round <n>)"` */
function describeEnd(end: RoundEnd): string {
  return `${end.step}: ${end.reason} (${end.peer} round ${end.round})`;
}

function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines.map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
}

function newRound(event: DhRoundEvent): RoundState {
  return {
    student: event.student,
    peer: event.peer,
    round: event.round,
    role: event.role,
    outcome: 'incomplete',
    failure: undefined,
    decidedAt: -1,
    inferred: false,
    cut: undefined,
    lastStep: undefined,
    lastTs: event.ts,
    rank: 0,
    matched: false,
  };
}

function fail(state: RoundState, event: DhRoundEvent, index: number, step: DhStep, reason: string, inferred: boolean): void {
  state.outcome = 'failed';
  state.failure = { step, reason, peer: state.peer, round: state.round, ts: event.ts };
  state.decidedAt = index;
  state.inferred = inferred;
}

/** DH-EXERCISE.md "Events the course's checker logged per round". */
function applyEvent(state: RoundState, event: DhRoundEvent, index: number): void {
  state.lastTs = event.ts;
  if (event.event === 'incomplete') {
    if (state.outcome !== 'incomplete' || state.cut !== undefined) return;
    const step = event.step ?? state.lastStep ?? 'pair';
    state.cut = { step, reason: event.reason ?? 'no reason given', peer: state.peer, round: state.round, ts: event.ts };
    state.decidedAt = index;
    return;
  }
  if (event.event === 'fail') {
    const refines = state.outcome === 'failed' && state.inferred;
    if ((state.outcome !== 'incomplete' || state.cut !== undefined) && !refines) return;
    const step = event.step ?? state.failure?.step ?? state.lastStep ?? 'pair';
    fail(state, event, refines ? state.decidedAt : index, step, event.reason ?? 'no reason given', false);
    return;
  }
  if (state.outcome !== 'incomplete' || state.cut !== undefined) return;
  const step = event.event;
  const rank = STEP_RANKS[state.role][step];
  if (rank === undefined) {
    fail(state, event, index, step, `not a step of the ${state.role}`, true);
    return;
  }
  if (rank < state.rank) {
    fail(state, event, index, step, `out of order, after ${state.lastStep ?? 'nothing'}`, true);
    return;
  }
  state.rank = rank;
  state.lastStep = step;
  if (step === 'dhc_check') {
    if (event.ok === true) state.matched = true;
    else fail(state, event, index, step, 'HMAC did not match', true);
  } else if (step === 'finish') {
    if (state.matched) {
      state.outcome = 'successful';
      state.decidedAt = index;
    } else {
      fail(state, event, index, step, 'finish without a matching dhc_check', true);
    }
  }
}

function buildReport(
  rounds: Iterable<RoundState>,
  notes: readonly DhStudentEvent[],
  events: number,
  malformed: MalformedSummary,
): DhReport {
  const students = new Map<string, StudentSummary>();
  const student = (uco: string): StudentSummary => {
    let s = students.get(uco);
    if (s === undefined) {
      s = {
        uco,
        rounds: 0,
        successful: 0,
        failed: 0,
        incomplete: 0,
        lastFailure: null,
        lastIncomplete: null,
        dropped: 0,
        lastDrop: null,
        refused: 0,
        lastRefusal: null,
      };
      students.set(uco, s);
    }
    return s;
  };
  /** Position of the event that decided each student's last failure / last incomplete round. */
  const lastFailedAt = new Map<string, number>();
  const lastCutAt = new Map<string, number>();
  for (const state of rounds) {
    const s = student(state.student);
    s.rounds++;
    s[state.outcome]++;
    if (state.failure !== undefined && state.decidedAt > (lastFailedAt.get(s.uco) ?? -1)) {
      s.lastFailure = state.failure;
      lastFailedAt.set(s.uco, state.decidedAt);
    }
    if (state.outcome === 'incomplete') {
      // A round still running when the log ended counts as ending there.
      const at = state.cut === undefined ? events : state.decidedAt;
      if (at >= (lastCutAt.get(s.uco) ?? -1)) {
        s.lastIncomplete = state.cut ?? {
          step: state.lastStep ?? 'pair',
          reason: LOG_ENDED_REASON,
          peer: state.peer,
          round: state.round,
          ts: state.lastTs,
        };
        lastCutAt.set(s.uco, at);
      }
    }
  }
  // Several reference peers watching one core each log the same drop: an event is
  // counted as many times as the peer that logged it most often, not once per peer.
  const seen = new Map<string, Map<string, number>>();
  for (const note of notes) {
    const s = student(note.student);
    const key = JSON.stringify([note.student, note.event, note.reason, note.ts]);
    const byPeer = seen.get(key) ?? new Map<string, number>();
    seen.set(key, byPeer);
    const mine = (byPeer.get(note.peer) ?? 0) + 1;
    byPeer.set(note.peer, mine);
    const counted = mine > Math.max(0, ...[...byPeer].filter(([p]) => p !== note.peer).map(([, n]) => n));
    const last: StudentNote = { reason: note.reason, peer: note.peer, ts: note.ts };
    if (note.event === 'dropped') {
      if (counted) s.dropped++;
      s.lastDrop = last;
    } else {
      if (counted) s.refused++;
      s.lastRefusal = last;
    }
  }
  const list = [...students.values()].sort((a, b) => (a.uco < b.uco ? -1 : a.uco > b.uco ? 1 : 0));
  const totals: ReportTotals = {
    students: list.length,
    rounds: 0,
    successful: 0,
    failed: 0,
    incomplete: 0,
    dropped: 0,
    refused: 0,
  };
  for (const s of list) {
    totals.rounds += s.rounds;
    totals.successful += s.successful;
    totals.failed += s.failed;
    totals.incomplete += s.incomplete;
    totals.dropped += s.dropped;
    totals.refused += s.refused;
  }
  return { students: list, totals, events, malformed };
}
