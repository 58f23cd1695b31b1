/**
 * The per-connection rate limit: a token bucket read from the injected clock, with no
 * timer per connection, and its counted refusals.
 *
 * - A bucket holds up to `burst` tokens and refills at `perSecond`. Every received
 *   line takes one, except the lines that keep a connection's state honest: a `pong`
 *   (liveness) and an `exit` (leaving) of the connection itself are never limited
 *   (see {@link isExemptMessage}).
 * - A line that finds the bucket empty is dropped, unparsed when possible. Refusals
 *   cannot amplify a flood: at most one `{"error":"rate limited","msg":…,"dropped":N}`
 *   per {@link RATE_LIMIT_REPLY_INTERVAL_MS}, counting the lines dropped since the
 *   previous one, `msg` being the first of them. A count still pending is reported by
 *   the next refusal after the interval, the next ping after it, or just before the
 *   exit line — so every dropped line is counted in exactly one reply.
 *
 * @module
 */
import { sanitizeUco } from './identity.js';
import { rateLimitedMessage } from './messages.js';

/**
 * Over the rate limit, a connection gets at most one `rate limited` reply per this
 * many ms: the "per second" of `rateLimit`, the time its bucket takes to refill by
 * `rateLimit` tokens.
 */
export const RATE_LIMIT_REPLY_INTERVAL_MS = 1_000;

/** The two numbers of one connection's bucket (kept on the connection itself). */
export interface TokenBucket {
  /** Tokens left at {@link TokenBucket.tokensAt}; may be fractional. */
  tokens: number;
  /** Clock time of the last update. */
  tokensAt: number;
}

/** A connection's bucket and its refusals not yet reported (kept on the connection). */
export interface RateLimitState extends TokenBucket {
  /** Lines dropped since the last `rate limited` reply. */
  dropped: number;
  /** The first of them: parsed, or raw when it was not parsed; `undefined` when none. */
  firstDropped: object | string | undefined;
  /** Clock time of the last `rate limited` reply (`-Infinity`: none yet). */
  repliedAt: number;
}

/**
 * Refills `bucket` for the time elapsed up to `now` and returns the tokens it holds,
 * taking none.
 */
function refill(bucket: TokenBucket, now: number, perSecond: number, burst: number): number {
  let tokens = bucket.tokens + ((now - bucket.tokensAt) * perSecond) / 1000;
  if (tokens > burst) tokens = burst;
  bucket.tokens = tokens;
  bucket.tokensAt = now;
  return tokens;
}

/**
 * Takes one token from `bucket` at clock time `now`, refilling it first for the time
 * elapsed. Returns false (and takes nothing) when less than one token is left.
 */
export function takeToken(bucket: TokenBucket, now: number, perSecond: number, burst: number): boolean {
  if (refill(bucket, now, perSecond, burst) < 1) return false;
  bucket.tokens -= 1;
  return true;
}

/** Whether `bucket` has a token at `now` (refilled, none taken). */
export function hasToken(bucket: TokenBucket, now: number, perSecond: number, burst: number): boolean {
  return refill(bucket, now, perSecond, burst) >= 1;
}

const EXEMPT_HINTS = ['pong', 'exit', '\\'];

/**
 * Whether the line may be an exempt command (see {@link isExemptMessage}), decided
 * without parsing: a `pong` or `exit` line contains one of those words, or an escape
 * that could spell it. Only lines that may be exempt are parsed over the limit.
 */
export function mayBeExempt(line: Buffer | string): boolean {
  for (const hint of EXEMPT_HINTS) if (line.includes(hint)) return true;
  return false;
}

/**
 * Whether a parsed message bypasses the rate limit: a `pong` or an `exit` whose
 * `uco`, if present, is the connection's own once sanitised as PROTOCOL §2 says
 * (`text` is the line, for numbers beyond 2^53). One naming another uco refreshes
 * nothing and is limited like any line, so a flood of them gets no reply per line.
 */
export function isExemptMessage(msg: Readonly<Record<string, unknown>>, registered: string | undefined, text: string): boolean {
  const cmd = msg.cmd;
  if (cmd !== 'pong' && cmd !== 'exit') return false;
  const uco = msg.uco;
  return registered === undefined || uco === undefined || uco === registered || sanitizeUco(uco, text) === registered;
}

/** A `rate limited` reply to send, and how many dropped lines it counts. */
export interface RateLimitReply {
  /** The reply line. */
  readonly line: string;
  /** Lines it counts. */
  readonly dropped: number;
}

/**
 * Counts one dropped line at `now` (`line` parsed when it was, else raw). Returns the
 * reply to send now — when the last one is at least {@link RATE_LIMIT_REPLY_INTERVAL_MS}
 * old — or `undefined`: the line is counted in a later reply.
 */
export function dropLine(state: RateLimitState, now: number, line: object | Buffer | string): RateLimitReply | undefined {
  // Only the first line of a reply's count is kept (copied: a Buffer is a slice of the input chunk).
  if (state.dropped++ === 0) state.firstDropped = Buffer.isBuffer(line) ? line.toString('utf8') : line;
  return pendingReply(state, now, false);
}

/**
 * The reply for the lines dropped and not yet reported, if any and if the interval
 * since the last reply has passed (or `force`, just before the exit line); resets
 * the count.
 */
export function pendingReply(state: RateLimitState, now: number, force: boolean): RateLimitReply | undefined {
  const dropped = state.dropped;
  if (dropped === 0 || (!force && now - state.repliedAt < RATE_LIMIT_REPLY_INTERVAL_MS)) return undefined;
  const first = state.firstDropped;
  state.dropped = 0;
  state.firstDropped = undefined;
  state.repliedAt = now;
  return { line: rateLimitedMessage(typeof first === 'string' ? parsedObject(first) : first, dropped), dropped };
}

/** `text` parsed when it is a JSON object, else `undefined`. */
function parsedObject(text: string): object | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
