/**
 * `chat-roulette/testing`: what a student or a teacher needs to test a client and
 * grade the Diffie–Hellman exercise — the in-process {@link createHarness | harness},
 * the exercise's reference peer ({@link attachReferencePeer}) and the
 * {@link readReport | grading report}.
 *
 * @example
 * ```ts
 * import { createHarness, readReport } from 'chat-roulette/testing';
 * ```
 *
 * @packageDocumentation
 */
export {
  createHarness,
  Harness,
  type HarnessOptions,
  type StreamClientOptions,
  type TranscriptEntry,
} from './harness.js';
export {
  formatReport,
  LOG_ENDED_REASON,
  MAX_MALFORMED_SAMPLES,
  parseRoundEvent,
  readReport,
  summarize,
  type DhReport,
  type MalformedLine,
  type MalformedSummary,
  type ReportTotals,
  type RoundEnd,
  type RoundFailure,
  type RoundOutcome,
  type StudentNote,
  type StudentSummary,
} from './report.js';
export * from './dh/index.js';
export { inspectCore, type ConnectionView, type CoreView } from './inspect.js';
export { ManualClock } from '../core/clock.js';
export { MemoryConnection, type MemoryConnectionOptions, type ServerMessage } from '../transports/memory.js';
