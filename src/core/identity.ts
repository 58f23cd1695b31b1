/**
 * Identity fields: `uco`, `session`, `nonce` (PROTOCOL §2).
 *
 * @module
 */

/** Most characters kept of `uco`, `session` and `nonce` (PROTOCOL §2, §8). */
export const IDENTITY_MAX_LENGTH = 24;

const NOT_ALNUM = /[^A-Za-z0-9]/g;

/**
 * The text of a JSON number as the client wrote it, when the parsed value lost
 * digits (integers beyond 2^53). The old server printed such numbers exactly; so do we.
 * `raw` is the received line; `field` the top-level key; `value` the parsed number.
 */
function numberText(value: number, field: string, raw: string | undefined): string {
  const text = String(value);
  if (raw === undefined || Number.isSafeInteger(value) || !raw.includes(field)) return text;
  const pattern = new RegExp(`"${field}"\\s*:\\s*(-?\\d+(?:\\.\\d+)?(?:[eE][+-]?\\d+)?)`, 'g');
  for (const match of raw.matchAll(pattern)) {
    const digits = match[1];
    if (digits !== undefined && Number(digits) === value) return digits;
  }
  return text;
}

/**
 * PROTOCOL §2 uco: a string or number, converted to a string, stripped of every
 * character that is not an ASCII letter or digit, cut to 24 characters.
 *
 * @returns the sanitised uco, or `undefined` when the value is of another type or the
 * result is empty (the caller answers `invalid uco`).
 */
export function sanitizeUco(value: unknown, raw?: string): string | undefined {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number') text = numberText(value, 'uco', raw);
  else return undefined;
  const clean = text.replace(NOT_ALNUM, '').slice(0, IDENTITY_MAX_LENGTH);
  return clean === '' ? undefined : clean;
}

/**
 * PROTOCOL §2 session / nonce: a string or number converted to a string and cut to
 * 24 characters; missing means `""`. Other JSON types (which the protocol does not
 * name) are read as missing.
 */
export function sanitizeField(value: unknown, field: 'session' | 'nonce', raw?: string): string {
  if (typeof value === 'string') return value.slice(0, IDENTITY_MAX_LENGTH);
  if (typeof value === 'number') return numberText(value, field, raw).slice(0, IDENTITY_MAX_LENGTH);
  return '';
}
