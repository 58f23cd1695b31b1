/**
 * The per-connection rate limit: a token bucket read from the injected clock, with no
 * timer per connection. A bucket holds up to `burst` tokens, refills at `perSecond`,
 * and every received line takes one.
 *
 * @module
 */

/** The two numbers of one connection's bucket (kept on the connection itself). */
export interface TokenBucket {
  /** Tokens left at {@link TokenBucket.tokensAt}; may be fractional. */
  tokens: number;
  /** Clock time of the last update. */
  tokensAt: number;
}

/**
 * Takes one token from `bucket` at clock time `now`, refilling it first for the time
 * elapsed. Returns false (and takes nothing) when less than one token is left.
 */
export function takeToken(bucket: TokenBucket, now: number, perSecond: number, burst: number): boolean {
  let tokens = bucket.tokens + ((now - bucket.tokensAt) * perSecond) / 1000;
  if (tokens > burst) tokens = burst;
  bucket.tokensAt = now;
  if (tokens < 1) {
    bucket.tokens = tokens;
    return false;
  }
  bucket.tokens = tokens - 1;
  return true;
}
