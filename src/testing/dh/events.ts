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
 * One record of the reference peer's log: one NDJSON line. A round is identified
 * by (`peer`, `student`, `round`).
 */
export interface DhRoundEvent {
  /** ISO-8601 time. */
  ts: string;
  /** The step reached, or `fail` when the round failed (see {@link DhRoundEvent.reason}). */
  event: DhStep | 'fail';
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
  /** For `fail`: the step at which the round failed. */
  step?: DhStep;
  /** For `fail`: why, in plain words (e.g. "dh2 carried no dhpub"). */
  reason?: string;
}
