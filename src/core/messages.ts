/**
 * Every message the server writes, in one place (PROTOCOL §3–4). The texts are
 * normative: tests compare them byte for byte.
 *
 * @module
 */

/**
 * Every {@link ExitReason}: first those of PROTOCOL §4, in its order, then this
 * server's additions (docs/protocol.md, "Differences from the old server"):
 * `unauthorized` (the `authorize` hook refused a `connect`), `too many connections`
 * (`maxConnectionsPerAddress`), `flood` (too much input while a `connect` awaited a
 * decision), `unavailable` (a clustered matchmaker could not decide a `connect`).
 */
export const EXIT_REASONS = Object.freeze([
  'new session',
  'client exit',
  'timeout',
  'register timeout',
  'server full',
  'server shutdown',
  'slow consumer',
  'protocol error',
  'unauthorized',
  'too many connections',
  'flood',
  'unavailable',
] as const);

/**
 * Why the server closes a connection, sent as `{"exit":true,"reason":…}` just before
 * closing (PROTOCOL §4): one of {@link EXIT_REASONS}.
 */
export type ExitReason = (typeof EXIT_REASONS)[number];

/** The {@link ExitReason}s this server adds to PROTOCOL §4 (opt-in limits, hooks and clusters). */
export const ADDED_EXIT_REASONS: readonly ExitReason[] = Object.freeze(['unauthorized', 'too many connections', 'flood', 'unavailable']);

/**
 * The `error` texts of error replies (PROTOCOL §1–3), plus the prefix of
 * `Unknown command [<cmd>]`.
 */
export type ErrorKind =
  | 'message too long'
  | 'invalid json'
  | 'invalid message'
  | 'invalid uco'
  | 'uco mismatch'
  | 'missing cmd'
  | 'not registered'
  | 'no peer'
  | 'failed'
  | 'unknown command'
  | 'rate limited';

/** `{"exit":true,"reason":<reason>}` */
export function exitMessage(reason: ExitReason): string {
  return `{"exit":true,"reason":${JSON.stringify(reason)}}`;
}

/** `{"ack":"<nonce>"}` — the nonce as a string (PROTOCOL §3 connect). */
export function ackMessage(nonce: string): string {
  return `{"ack":${JSON.stringify(nonce)}}`;
}

/** `{"cmd":"pair","uco":"<peer uco>"}` (PROTOCOL §4). */
export function pairMessage(peerUco: string): string {
  return `{"cmd":"pair","uco":${JSON.stringify(peerUco)}}`;
}

/** `{"cmd":"ping"}` (PROTOCOL §4). */
export const PING_MESSAGE = '{"cmd":"ping"}';

/** `{"error":"message too long"}` (PROTOCOL §1). */
export const TOO_LONG_MESSAGE = '{"error":"message too long"}';

/** `{"error":"invalid json"}` (PROTOCOL §1). */
export const INVALID_JSON_MESSAGE = '{"error":"invalid json"}';

/** `{"error":"invalid message"}` (PROTOCOL §1). */
export const INVALID_MESSAGE_MESSAGE = '{"error":"invalid message"}';

/**
 * `{"error":"Unknown command [<cmd>]"}` — exact text kept for compatibility
 * (PROTOCOL §3). A non-string `cmd` is shown as JSON.
 */
export function unknownCommandMessage(cmd: unknown): string {
  const shown = typeof cmd === 'string' ? cmd : JSON.stringify(cmd);
  return JSON.stringify({ error: `Unknown command [${shown}]` });
}

/**
 * `{"error":"rate limited","msg":<the first dropped message>,"dropped":<count>}`: the
 * counted refusal of the rate limit (docs/protocol.md). `msg` is absent when the first
 * dropped line was not a JSON object.
 */
export function rateLimitedMessage(msg: object | undefined, dropped: number): string {
  return msg === undefined ? `{"error":"rate limited","dropped":${dropped}}` : JSON.stringify({ error: 'rate limited', msg, dropped });
}

/** `{"error":<text>,"msg":<the parsed message>}` (PROTOCOL §2–3). */
export function errorWithMessage(error: Exclude<ErrorKind, 'unknown command'>, msg: object): string {
  return JSON.stringify({ error, msg });
}
