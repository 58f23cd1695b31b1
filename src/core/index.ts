/**
 * The transport-agnostic core.
 *
 * @module
 */
export { RouletteCore, type ClientInfo } from './core.js';
export { ManualClock, systemClock, type Clock, type TimerHandle } from './clock.js';
export { DEFAULTS, resolveOptions, type ResolvedOptions, type RouletteOptions } from './options.js';
export { RouletteError, type RouletteErrorCode } from './errors.js';
export { seededRandom, type Random } from './random.js';
export { sanitizeUco, sanitizeField, IDENTITY_MAX_LENGTH } from './identity.js';
export { EXIT_REASONS, ADDED_EXIT_REASONS, type ExitReason, type ErrorKind } from './messages.js';
export type { AuthorizeHook, AuthorizeRequest } from './authorization.js';
export { LineFramer, type LineSink } from './framing.js';
export { RATE_LIMIT_REPLY_INTERVAL_MS } from './rate-limit.js';
export type { Transport, ConnectionHandle } from './transport.js';
export { localMatchmaker } from './matchmaking/local.js';
export { planEpoch } from './matchmaking/plan.js';
export type {
  Matchmaker,
  MatchmakerContext,
  MatchmakerCounts,
  MatchmakerFactory,
  MatchmakerOptions,
  MatchmakerSink,
  RegisterVerdict,
  Registered,
  Refused,
  RemotePeer,
  Seat,
} from './matchmaking/types.js';
export { RELAYED_LINE_BYTES_BOUNDS, type RouletteStats } from './stats.js';
export type * from './events.js';
