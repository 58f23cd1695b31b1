/**
 * Options of {@link RouletteCore} and their defaults (PROTOCOL §8).
 *
 * @module
 */
import type { AuthorizeHook } from './authorization.js';
import type { Clock } from './clock.js';
import type { MatchmakerFactory } from './matchmaking/types.js';
import { RouletteError } from './errors.js';
import type { Random } from './random.js';

/**
 * Every tunable of the core, with the defaults of PROTOCOL §8; each is documented
 * once, on its {@link RouletteOptions} field (whose `@defaultValue` repeats the
 * number). The README's tables and the CLI's help are checked against this object by
 * the test suite.
 */
export const DEFAULTS: Readonly<ResolvedOptions> = Object.freeze({
  epochMs: 30_000,
  pingIntervalMs: 1_000,
  deadAfterMs: 7_000,
  registerTimeoutMs: 7_000,
  pairDelayMs: 100,
  maxLineBytes: 32_768,
  maxClients: 100_000,
  maxBufferedBytes: 1_048_576,
  strict: false,
  rateLimit: 1_000,
  rateBurst: 2_000,
  maxConnectionsPerAddress: Infinity,
});

/**
 * Options accepted by the {@link RouletteCore} constructor. Every field is optional;
 * a missing field takes its value from {@link DEFAULTS}.
 */
export interface RouletteOptions {
  /**
   * Length of a pairing epoch in ms: at each epoch boundary all pairs are dissolved
   * and every live client is paired at random (PROTOCOL §6).
   * @defaultValue 30000
   */
  epochMs?: number;
  /**
   * Interval between pings to every registered connection, in ms (PROTOCOL §4).
   * @defaultValue 1000
   */
  pingIntervalMs?: number;
  /**
   * A registered connection whose last `pong` (or registration) is this old is
   * dead, in ms: it gets `{"exit":true,"reason":"timeout"}` and is closed (PROTOCOL §5).
   * @defaultValue 7000
   */
  deadAfterMs?: number;
  /**
   * A connection that has not registered within this time gets
   * `{"exit":true,"reason":"register timeout"}` and is closed, in ms (PROTOCOL §5).
   * @defaultValue 7000
   */
  registerTimeoutMs?: number;
  /**
   * Between epochs, a free client is paired with another free client within this
   * delay, in ms (PROTOCOL §6). `0` pairs on the next timer turn.
   * @defaultValue 100
   */
  pairDelayMs?: number;
  /**
   * Longest accepted line in bytes, not counting the terminator. A longer line is
   * discarded unparsed and answered with `{"error":"message too long"}` (PROTOCOL §1).
   * @defaultValue 32768
   */
  maxLineBytes?: number;
  /**
   * Most registered clients at once. A `connect` that would register one more gets
   * `{"exit":true,"reason":"server full"}` and is closed (PROTOCOL §3).
   * `Infinity` turns the limit off.
   * @defaultValue 100000
   */
  maxClients?: number;
  /**
   * When a connection's unsent output (as reported by its transport's
   * {@link Transport.bufferedBytes}) exceeds this many bytes, it is closed with
   * reason `slow consumer` and its peer is freed. `Infinity` turns the limit off.
   * @defaultValue 1048576
   */
  maxBufferedBytes?: number;
  /**
   * When true, invalid JSON or a non-object message closes the connection after
   * `{"exit":true,"reason":"protocol error"}` instead of only replying with an error.
   * @defaultValue false
   */
  strict?: boolean;
  /**
   * Per-connection rate limit, in messages per second: each connection has a token
   * bucket of {@link RouletteOptions.rateBurst} tokens refilled at this rate, and every
   * non-blank line takes one — except the connection's own `pong` and `exit`, which
   * are never limited (liveness is never lost to the limit). Under the limit an
   * invalid line takes a token and gets its own error reply. A line that finds the
   * bucket empty is dropped (never relayed nor executed) and counted: the connection
   * gets at most one `{"error":"rate limited","msg":<first dropped>,"dropped":N}` per
   * {@link RATE_LIMIT_REPLY_INTERVAL_MS}, N counting every line dropped since the
   * previous one; a count still pending is sent with the next ping after the interval,
   * or just before the exit line. `stats().errors["rate limited"]` counts the dropped
   * lines. Counted with the injected clock (no timer per connection). `Infinity`
   * turns the limit off.
   * @defaultValue 1000
   */
  rateLimit?: number;
  /**
   * Size of the rate limit's token bucket: how many messages a connection may send
   * in a burst (a fresh connection starts with a full bucket).
   * @defaultValue 2000
   */
  rateBurst?: number;
  /**
   * Most open connections (registered or not) from one remote address. One more is
   * answered `{"exit":true,"reason":"too many connections"}` and closed at once. The
   * address is the transport's {@link Transport.remoteHost} (the IP without port),
   * else its {@link Transport.remoteAddress}; a transport with neither is not counted.
   * Off by default because students behind one NAT share an address. `Infinity`
   * turns the limit off.
   * @defaultValue Infinity
   */
  maxConnectionsPerAddress?: number;
  /**
   * Decides whether a `connect` is accepted — including a takeover of a uco registered
   * on another connection, and a repeated `connect` on the same connection. Only
   * `true` (or a promise of `true`) accepts; `false`, anything else, a throw or a
   * rejection refuses with `{"exit":true,"reason":"unauthorized"}` and closes.
   * While a promise is pending, the connection's later lines are queued (bounded:
   * over the bound the connection is closed with `flood`) and processed in order after
   * the decision. A connection that closes meanwhile drops its decision.
   * @defaultValue none: every `connect` is accepted
   */
  authorize?: AuthorizeHook;
  /**
   * Source of time and timers. Tests pass a {@link ManualClock}.
   * @defaultValue {@link systemClock} (real timers)
   */
  clock?: Clock;
  /**
   * Source of randomness for pairing, returning a float in [0, 1). Pass
   * {@link seededRandom} for reproducible pairings.
   * @defaultValue `Math.random`
   */
  random?: Random;
  /**
   * Where registration and pairing are decided: the matchmaking seam. The default keeps
   * everything in this process; a clustered matchmaker (several processes behaving as
   * one server) plugs in here.
   * @defaultValue {@link localMatchmaker}
   */
  cluster?: MatchmakerFactory;
}

/** The options after defaults are applied. */
export type ResolvedOptions = Required<Omit<RouletteOptions, 'clock' | 'random' | 'authorize' | 'cluster'>>;

const INTEGER_OPTIONS = [
  ['epochMs', 1],
  ['pingIntervalMs', 1],
  ['deadAfterMs', 1],
  ['registerTimeoutMs', 1],
  ['pairDelayMs', 0],
  ['maxLineBytes', 1],
  ['maxClients', 0],
  ['maxBufferedBytes', 1],
  ['rateLimit', 1],
  ['rateBurst', 1],
  ['maxConnectionsPerAddress', 1],
] as const;

/** Limits that may be turned off with `Infinity`. */
const MAY_BE_INFINITE: ReadonlySet<string> = new Set(['maxClients', 'maxBufferedBytes', 'rateLimit', 'maxConnectionsPerAddress']);

/** Whether `name` is an option that `Infinity` turns off. */
export function mayBeInfinite(name: string): boolean {
  return MAY_BE_INFINITE.has(name);
}

/** The smallest value of the integer option `name`, or `undefined` for an option that is not one. */
export function optionMinimum(name: string): number | undefined {
  return INTEGER_OPTIONS.find(([option]) => option === name)?.[1];
}

/** A rule between two options: `option` must be greater than `than`. */
export interface OptionOrder {
  /** The option that must be the greater. */
  readonly option: keyof ResolvedOptions;
  /** The option it must exceed. */
  readonly than: keyof ResolvedOptions;
  /** What goes wrong otherwise. */
  readonly why: string;
}

/** Options whose values contradict each other unless ordered so. */
export const OPTION_ORDERS: readonly OptionOrder[] = Object.freeze([
  // PROTOCOL §4–§5: a client's last pong is up to pingIntervalMs old (plus its round trip).
  { option: 'deadAfterMs', than: 'pingIntervalMs', why: 'a client that answers every ping would be dropped' },
]);

/**
 * Applies {@link DEFAULTS} to `options` and validates every field.
 *
 * @throws {@link RouletteError} with code `ERR_INVALID_OPTION` naming the field.
 */
export function resolveOptions(options: RouletteOptions = {}): ResolvedOptions {
  const resolved: ResolvedOptions = { ...DEFAULTS };
  for (const [name, min] of INTEGER_OPTIONS) {
    const value: unknown = options[name];
    if (value === undefined) continue;
    const infiniteOk = MAY_BE_INFINITE.has(name) && value === Infinity;
    if (typeof value !== 'number' || (!Number.isSafeInteger(value) && !infiniteOk) || value < min) {
      throw new RouletteError(
        'ERR_INVALID_OPTION',
        `option ${name} must be an integer >= ${min}${MAY_BE_INFINITE.has(name) ? ' or Infinity' : ''}, got ${String(value)}`,
      );
    }
    resolved[name] = value;
  }
  if (options.strict !== undefined) {
    if (typeof options.strict !== 'boolean') {
      throw new RouletteError('ERR_INVALID_OPTION', `option strict must be a boolean, got ${String(options.strict)}`);
    }
    resolved.strict = options.strict;
  }
  for (const { option, than, why } of OPTION_ORDERS) {
    if (!(resolved[option] > resolved[than])) {
      throw new RouletteError(
        'ERR_INVALID_OPTION',
        `option ${option} must be greater than ${than} (${why}), got ${String(resolved[option])} and ${String(resolved[than])}`,
      );
    }
  }
  for (const name of ['authorize', 'cluster'] as const) {
    const value: unknown = options[name];
    if (value !== undefined && typeof value !== 'function') {
      throw new RouletteError('ERR_INVALID_OPTION', `option ${name} must be a function, got ${String(value)}`);
    }
  }
  return resolved;
}
