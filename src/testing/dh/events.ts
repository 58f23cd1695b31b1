/**
 * The per-round events of the Diffie–Hellman exercise (DH-EXERCISE.md, "Events the
 * course's checker logged per round"), as the reference peer emits them and as the
 * grading report reads them back from NDJSON.
 *
 * @module
 */

/** The checker's step names, kept from the course's original checker. */
export type DhStep =
  | 'pair'
  | 'dh1_send'
  | 'dh1_recv'
  | 'dh2_send'
  | 'dh2_recv'
  | 'dh_done'
  | 'dhc_send'
  | 'dhc_recv'
  | 'dhc_check'
  | 'finish';

/** Every {@link DhStep}, in exercise order. */
export const DH_STEPS: readonly DhStep[] = Object.freeze([
  'pair',
  'dh1_send',
  'dh1_recv',
  'dh2_send',
  'dh2_recv',
  'dh_done',
  'dhc_send',
  'dhc_recv',
  'dhc_check',
  'finish',
]);

/** The role of a side in a round: the smaller uco (UTF-16 order) initiates. */
export type DhRole = 'initiator' | 'responder';

/**
 * One record of the reference peer's log about a round: one NDJSON line. A round is
 * identified by (`peer`, `student`, `round`).
 */
export interface DhRoundEvent {
  /** ISO-8601 time. */
  ts: string;
  /**
   * The step reached; `fail` when the round failed (the student's fault), or
   * `incomplete` when it was cut short by someone else: the reference peer stopping,
   * the student leaving, the server, or a new pairing (see {@link DhRoundEvent.reason}).
   */
  event: DhStep | 'fail' | 'incomplete';
  /** The reference peer's uco. */
  peer: string;
  /** The other side's (the student's) uco. */
  student: string;
  /** The reference peer's role in this round. */
  role: DhRole;
  /** Round number, counted per reference peer from 1. */
  round: number;
  /** For `dhc_check`: whether the HMAC matched. */
  ok?: boolean;
  /** For `fail` and `incomplete`: the step at which the round ended. */
  step?: DhStep;
  /**
   * For `fail`: why, in plain words (e.g. "dh2 carried no dhpub"). For `incomplete`:
   * who ended the round (e.g. "the reference peer stopped", "student 409123 left
   * (timeout)", "interrupted by a new pair with 409124").
   */
  reason?: string;
}

/**
 * What the server did to a student, outside any round, as the reference peer learnt
 * it (see {@link DhReferencePeer.noteStudent}): one NDJSON line of the same log.
 */
export interface DhStudentEvent {
  /** ISO-8601 time, on the peer's clock. */
  ts: string;
  /**
   * `dropped`: the server closed the student's connection (e.g. `timeout`,
   * `register timeout`); `refused`: the server refused one of its messages with an
   * error reply (e.g. `uco mismatch`, `invalid json`).
   */
  event: 'dropped' | 'refused';
  /** The reference peer's uco. */
  peer: string;
  /** The student's uco, or `connection <id>` for a connection that never registered. */
  student: string;
  /** The server's exit reason or error text (PROTOCOL §4, §1–3). */
  reason: string;
}

/** One line of the reference peer's NDJSON log. */
export type DhLogEvent = DhRoundEvent | DhStudentEvent;

/** Whether a log line is about a round (rather than a {@link DhStudentEvent}). */
export function isRoundEvent(event: DhLogEvent): event is DhRoundEvent {
  return event.event !== 'dropped' && event.event !== 'refused';
}
