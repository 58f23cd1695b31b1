/**
 * The grading report: reads the reference peer's NDJSON log of
 * {@link DhRoundEvent}s and tells, per student, how many Diffie–Hellman rounds
 * succeeded, failed or never ended (DH-EXERCISE.md).
 *
 * @module
 */
import { DH_STEPS, type DhRole, type DhRoundEvent, type DhStep } from './dh/events.js';

/** How a round ended. */
export type RoundOutcome = 'successful' | 'failed' | 'incomplete';

/** The failure that ended a round. */
export interface RoundFailure {
  /** The step at which the round failed. */
  step: DhStep;
  /** Why, in plain words. */
  reason: string;
  /** The reference peer that ran the round. */
  peer: string;
  /** The round number (per reference peer). */
  round: number;
  /** Time of the event that decided the failure (ISO-8601, from the log). */
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
  /** Rounds that neither finished nor failed before the log ended. */
  incomplete: number;
  /** The failure of the last failed round (in log order), or `null` when none failed. */
  lastFailure: RoundFailure | null;
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
}

/** One line of the log that is not a {@link DhRoundEvent}. */
export interface MalformedLine {
  /** 1-based line number. */
  line: number;
  /** What is wrong with it. */
  reason: string;
}

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
  lastStep: DhStep | undefined;
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
 * - **incomplete** otherwise.
 *
 * Events after a round's outcome is decided are ignored.
 *
 * @example
 * ```ts
 * const report = summarize(events);
 * for (const s of report.students) console.log(s.uco, s.successful, s.failed);
 * ```
 */
export function summarize(events: readonly DhRoundEvent[]): DhReport {
  const rounds = new Map<string, RoundState>();
  events.forEach((event, index) => {
    const key = JSON.stringify([event.peer, event.student, event.round]);
    let state = rounds.get(key);
    if (state === undefined) {
      state = newRound(event);
      rounds.set(key, state);
    }
    applyEvent(state, event, index);
  });
  return buildReport(rounds.values(), events.length, { count: 0, samples: [] });
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
  const events: DhRoundEvent[] = [];
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
 * Parses one NDJSON line into a {@link DhRoundEvent}.
 *
 * @returns the event, or a short reason when the line is not one.
 */
export function parseRoundEvent(line: string): DhRoundEvent | string {
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
  if (typeof event !== 'string' || (event !== 'fail' && !STEPS.has(event))) return `unknown event ${JSON.stringify(event)}`;
  if (typeof peer !== 'string' || peer === '') return 'missing peer';
  if (typeof student !== 'string' || student === '') return 'missing student';
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
 * malformed lines. Ends with a newline.
 *
 * @example
 * ```text
 * student  rounds  ok  failed  incomplete  last failure
 * 409123        3   2       1           0  dhc_check: HMAC did not match (refpeer round 3)
 * total         3   2       1           0
 * 12 events, 0 malformed lines
 * ```
 */
export function formatReport(report: DhReport): string {
  const header = ['student', 'rounds', 'ok', 'failed', 'incomplete', 'last failure'];
  const rows = report.students.map((s) => [
    s.uco,
    String(s.rounds),
    String(s.successful),
    String(s.failed),
    String(s.incomplete),
    s.lastFailure === null ? '' : describeFailure(s.lastFailure),
  ]);
  const t = report.totals;
  const total = ['total', String(t.rounds), String(t.successful), String(t.failed), String(t.incomplete), ''];
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

/** `"<step>: <reason> (<peer> round <n>)"` */
function describeFailure(failure: RoundFailure): string {
  return `${failure.step}: ${failure.reason} (${failure.peer} round ${failure.round})`;
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
    lastStep: undefined,
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
  if (event.event === 'fail') {
    const refines = state.outcome === 'failed' && state.inferred;
    if (state.outcome !== 'incomplete' && !refines) return;
    const step = event.step ?? state.failure?.step ?? state.lastStep ?? 'pair';
    fail(state, event, refines ? state.decidedAt : index, step, event.reason ?? 'no reason given', false);
    return;
  }
  if (state.outcome !== 'incomplete') return;
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

function buildReport(rounds: Iterable<RoundState>, events: number, malformed: MalformedSummary): DhReport {
  const students = new Map<string, StudentSummary>();
  /** Position of the event that decided each student's last failure. */
  const lastFailedAt = new Map<string, number>();
  for (const state of rounds) {
    let s = students.get(state.student);
    if (s === undefined) {
      s = { uco: state.student, rounds: 0, successful: 0, failed: 0, incomplete: 0, lastFailure: null };
      students.set(state.student, s);
    }
    s.rounds++;
    s[state.outcome]++;
    if (state.failure !== undefined && state.decidedAt > (lastFailedAt.get(s.uco) ?? -1)) {
      s.lastFailure = state.failure;
      lastFailedAt.set(s.uco, state.decidedAt);
    }
  }
  const list = [...students.values()].sort((a, b) => (a.uco < b.uco ? -1 : a.uco > b.uco ? 1 : 0));
  const totals: ReportTotals = { students: list.length, rounds: 0, successful: 0, failed: 0, incomplete: 0 };
  for (const s of list) {
    totals.rounds += s.rounds;
    totals.successful += s.successful;
    totals.failed += s.failed;
    totals.incomplete += s.incomplete;
  }
  return { students: list, totals, events, malformed };
}
