/**
 * Errors thrown for programmer mistakes (bad options, misuse of the API). Bad client
 * input never throws: it is answered on the wire (PROTOCOL §1–3).
 *
 * @module
 */

/** Stable codes carried by {@link RouletteError}. */
export type RouletteErrorCode =
  /** An option has the wrong type or is out of range. */
  | 'ERR_INVALID_OPTION'
  /** A method was called in a state that does not allow it (e.g. `start()` twice). */
  | 'ERR_INVALID_STATE'
  /** {@link RouletteCore.pair} named a uco that is not registered, or a client that is dead. */
  | 'ERR_UNKNOWN_CLIENT'
  /** An argument is out of range or contradicts another (e.g. pairing a client with itself). */
  | 'ERR_INVALID_ARGUMENT'
  /** The test harness's clients were still exchanging lines after its bound of event-loop turns. */
  | 'ERR_NOT_SETTLED';

/**
 * The error thrown by the library's API. Match on {@link RouletteError.code}, which is
 * stable; the message is for people.
 *
 * @example
 * ```ts
 * try { new RouletteCore({ epochMs: -1 }); }
 * catch (err) { if (err instanceof RouletteError && err.code === 'ERR_INVALID_OPTION') ... }
 * ```
 */
export class RouletteError extends Error {
  /** The stable code of this error. */
  readonly code: RouletteErrorCode;

  /**
   * An error with a stable {@link RouletteError.code}.
   *
   * @param code - stable code
   * @param message - human-readable explanation
   */
  constructor(code: RouletteErrorCode, message: string) {
    super(message);
    this.name = 'RouletteError';
    this.code = code;
  }
}
