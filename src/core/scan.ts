/**
 * The relay's fast path: recognises a `comm` line without building any object.
 *
 * Most lines a paired client sends are `comm` messages to relay unchanged. For them
 * the core only needs to know that the line is valid JSON (PROTOCOL §1), that it is
 * an object whose `cmd` is `"comm"`, and what its `uco` says (PROTOCOL §2). This
 * scanner answers that directly on the bytes, without `toString` or `JSON.parse`:
 * about 3× faster than `JSON.parse(line.toString())` for a 64 B line, and for long
 * lines (over {@link LONG_LINE_BYTES}) it finds string ends with the native
 * `Buffer.indexOf` after one word-at-a-time pass over the line for control bytes.
 * It is conservative: whenever it cannot be sure (escapes in a top-level key, `cmd`
 * or `uco`; a control byte anywhere in a long line, even a tab between tokens;
 * containers nested deeper than 64; anything malformed) it says no, and the line
 * takes the ordinary path through `JSON.parse`, which decides every reply. So it
 * never changes behaviour, only speed.
 *
 * "Valid JSON" here means what the ordinary path accepts: `JSON.parse` of
 * `line.toString('utf8')`. That decoding replaces invalid UTF-8 with U+FFFD and
 * never swallows an ASCII byte, so a byte ≥ 0x80 is acceptable inside a string
 * (invalid UTF-8 included: the relay forwards it byte for byte, as the ordinary
 * path does) and never outside one. The scanner therefore checks no UTF-8 validity:
 * checking it would refuse lines the server accepts today.
 *
 * @module
 */

/**
 * Lines longer than this take the long-line strategy: one word-at-a-time pass that
 * refuses any control byte, then string ends found with `Buffer.indexOf`. Shorter
 * lines are read byte by byte, which is cheaper than the native calls there.
 */
export const LONG_LINE_BYTES = 192;

/** What {@link scanComm} found; reused between calls. */
export interface CommScan {
  /** Offset of the first byte of the top-level `uco` string's content, or -1 when absent. */
  ucoStart: number;
  /** Offset just past the last byte of that content. */
  ucoEnd: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** JSON whitespace (RFC 8259): space, tab, line feed, carriage return. */
const WHITESPACE = new Uint8Array(256);
for (const c of [0x20, 0x09, 0x0a, 0x0d]) WHITESPACE[c] = 1;

/** Bytes that may stand in a string as they are: not a control character, quote or backslash. */
const PLAIN = new Uint8Array(256).fill(1, 0x20);
PLAIN[QUOTE] = 0;
PLAIN[BACKSLASH] = 0;

/** Bytes that may stand in a string of a line known to hold no control byte: all but quote and backslash. */
const NOT_QUOTE_OR_BACKSLASH = new Uint8Array(256).fill(1);
NOT_QUOTE_OR_BACKSLASH[QUOTE] = 0;
NOT_QUOTE_OR_BACKSLASH[BACKSLASH] = 0;

/** In a long line's string, bytes read one by one before handing the search to `Buffer.indexOf`. */
const BYTE_RUN = 24;

const HEX = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1;

const SIMPLE_ESCAPES = new Uint8Array(256);
for (const c of '"\\/bfnrt') SIMPLE_ESCAPES[c.charCodeAt(0)] = 1;

/** Containers deeper than this make the scanner give up (the ordinary path decides). */
const MAX_DEPTH = 64;

/** A scanner over one line. Methods return the offset after what they read, or -1. */
class Scanner {
  bytes: Buffer = Buffer.alloc(0);
  length = 0;
  /** The line holds no byte below 0x20 (checked for long lines): strings may be skipped natively. */
  controlFree = false;
  /** Offset of the next backslash at or after the last search, `length` when none. */
  nextBackslash = -1;
  /** Whether the last string read contained an escape. */
  escaped = false;
  /** Open containers, innermost last: true for an object. */
  readonly objects: boolean[] = [];

  skipSpace(i: number): number {
    const b = this.bytes;
    while (i < this.length && WHITESPACE[b[i] as number] === 1) i++;
    return i;
  }

  /** A string starting at the quote at `i`. */
  string(i: number): number {
    if (this.controlFree) return this.longString(i);
    const b = this.bytes;
    const n = this.length;
    this.escaped = false;
    i++;
    for (;;) {
      while (i < n && PLAIN[b[i] as number] === 1) i++;
      if (i >= n) return -1;
      const c = b[i];
      if (c === QUOTE) return i + 1;
      if (c !== BACKSLASH) return -1; // a raw control character
      i = this.escape(i);
      if (i < 0) return -1;
    }
  }

  /**
   * A string starting at the quote at `i`, in a line with no control byte: a few
   * bytes one by one (keys and short values end there), then the closing quote by
   * `Buffer.indexOf`, accepted when no backslash comes before it.
   */
  longString(i: number): number {
    const b = this.bytes;
    const n = this.length;
    this.escaped = false;
    i++;
    for (;;) {
      const stop = Math.min(n, i + BYTE_RUN);
      while (i < stop && NOT_QUOTE_OR_BACKSLASH[b[i] as number] === 1) i++;
      if (i >= n) return -1;
      if (i === stop) {
        const quote = b.indexOf(QUOTE, i);
        if (quote < 0) return -1;
        if (this.nextBackslash < i) {
          const bs = b.indexOf(BACKSLASH, i);
          this.nextBackslash = bs < 0 ? n : bs;
        }
        if (this.nextBackslash > quote) return quote + 1;
        i = this.nextBackslash;
      }
      if (b[i] === QUOTE) return i + 1;
      i = this.escape(i);
      if (i < 0) return -1;
    }
  }

  /** The escape sequence at the backslash at `i`: the offset after it, or -1. */
  escape(i: number): number {
    const b = this.bytes;
    this.escaped = true;
    const e = b[i + 1] as number;
    if (e === 0x75) {
      if (i + 5 >= this.length) return -1;
      for (let k = 2; k <= 5; k++) if (HEX[b[i + k] as number] !== 1) return -1;
      return i + 6;
    }
    return SIMPLE_ESCAPES[e] === 1 ? i + 2 : -1;
  }

  /** A number (RFC 8259 grammar) starting at `i`. */
  number(i: number): number {
    const b = this.bytes;
    if (b[i] === 0x2d) i++;
    if (b[i] === 0x30) i++;
    else if (isDigit1to9(b[i])) i = this.digits(i + 1);
    else return -1;
    if (b[i] === 0x2e) {
      if (!isDigit(b[i + 1])) return -1;
      i = this.digits(i + 1);
    }
    if (b[i] === 0x65 || b[i] === 0x45) {
      i++;
      if (b[i] === 0x2b || b[i] === 0x2d) i++;
      if (!isDigit(b[i])) return -1;
      i = this.digits(i);
    }
    return i;
  }

  digits(i: number): number {
    while (i < this.length && isDigit(this.bytes[i])) i++;
    return i;
  }

  literal(i: number, word: string): number {
    for (let k = 0; k < word.length; k++) if (this.bytes[i + k] !== word.charCodeAt(k)) return -1;
    return i + word.length;
  }

  /** A scalar (string, number, true, false, null) at `i`. */
  scalar(i: number): number {
    switch (this.bytes[i]) {
      case QUOTE:
        return this.string(i);
      case 0x74:
        return this.literal(i, 'true');
      case 0x66:
        return this.literal(i, 'false');
      case 0x6e:
        return this.literal(i, 'null');
      default:
        return this.number(i);
    }
  }
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

function isDigit1to9(c: number | undefined): boolean {
  return c !== undefined && c >= 0x31 && c <= 0x39;
}

const scanner = new Scanner();

/** `(w - 0x20202020) & ~w` has a byte's top bit set where that byte of `w` is below 0x20 (or above one that is). */
const ONES_0X20 = 0x20202020;
const TOP_BITS = 0x80808080 | 0;

/**
 * Whether `b` holds a byte below 0x20 (a JSON control character): four bytes at a
 * time through an aligned `Int32Array` view, accumulated without a branch per word.
 */
function hasControlByte(b: Buffer): boolean {
  const n = b.length;
  let i = 0;
  while (i < n && ((b.byteOffset + i) & 3) !== 0) {
    if ((b[i] as number) < 0x20) return true;
    i++;
  }
  const words = (n - i) >> 2;
  const w = new Int32Array(b.buffer, b.byteOffset + i, words);
  let acc = 0;
  let k = 0;
  for (const end = words & ~3; k < end; k += 4) {
    const w0 = w[k] as number;
    const w1 = w[k + 1] as number;
    const w2 = w[k + 2] as number;
    const w3 = w[k + 3] as number;
    acc |= ((w0 - ONES_0X20) & ~w0) | ((w1 - ONES_0X20) & ~w1) | ((w2 - ONES_0X20) & ~w2) | ((w3 - ONES_0X20) & ~w3);
  }
  for (; k < words; k++) {
    const wk = w[k] as number;
    acc |= (wk - ONES_0X20) & ~wk;
  }
  if ((acc & TOP_BITS) !== 0) return true;
  for (i += words << 2; i < n; i++) if ((b[i] as number) < 0x20) return true;
  return false;
}

/** Top-level keys the relay cares about. */
const enum Key {
  Other,
  Cmd,
  Uco,
}

/** The top-level key whose string spans `start`–`end` (quotes included), when it has no escape. */
function keyOf(b: Uint8Array, start: number, end: number): Key {
  if (end - start !== 5) return Key.Other;
  if (b[start + 1] === 0x63 && b[start + 2] === 0x6d && b[start + 3] === 0x64) return Key.Cmd; // cmd
  if (b[start + 1] === 0x75 && b[start + 2] === 0x63 && b[start + 3] === 0x6f) return Key.Uco; // uco
  return Key.Other;
}

/** Whether `b[start..end)` is the text `comm`. */
function isComm(b: Uint8Array, start: number, end: number): boolean {
  return end - start === 4 && b[start] === 0x63 && b[start + 1] === 0x6f && b[start + 2] === 0x6d && b[start + 3] === 0x6d;
}

/**
 * True only if `line` is certainly a valid JSON object whose top-level `cmd` is the
 * string `"comm"` and whose top-level `uco`, if present, is a string without escapes
 * (its content's offsets are then in `out`). Duplicate keys: the last one counts, as
 * in `JSON.parse`. False means "take the ordinary path", not "invalid".
 */
export function scanComm(line: Uint8Array, out: CommScan): boolean {
  const n = line.length;
  const s = scanner;
  s.bytes = Buffer.isBuffer(line) ? line : Buffer.from(line.buffer, line.byteOffset, n);
  s.length = n;
  s.nextBackslash = -1;
  s.controlFree = false;
  if (n > LONG_LINE_BYTES) {
    if (hasControlByte(s.bytes)) return false; // a tab between tokens is valid: JSON.parse decides
    s.controlFree = true;
  }
  const objects = s.objects;
  objects.length = 0;
  let isCommand = false;
  out.ucoStart = -1;
  out.ucoEnd = -1;

  let i = s.skipSpace(0);
  if (line[i] !== 0x7b) return false;
  // Each turn reads one value at `i`, then closes containers and reads a separator.
  let key = Key.Other;
  objects.push(true);
  i = s.skipSpace(i + 1);
  if (line[i] === 0x7d) return false; // {} has no cmd
  for (;;) {
    // In an object: a key and a colon first.
    if (objects[objects.length - 1] === true) {
      if (line[i] !== QUOTE) return false;
      const start = i;
      i = s.string(i);
      if (i < 0) return false;
      if (objects.length === 1) {
        if (s.escaped) return false; // "\u0063md" is cmd too: let JSON.parse decide
        key = keyOf(line, start, i);
      }
      i = s.skipSpace(i);
      if (line[i] !== 0x3a) return false;
      i = s.skipSpace(i + 1);
    }
    // The value.
    const c = line[i];
    if (c === 0x7b || c === 0x5b) {
      if (objects.length === 1 && key !== Key.Other) return false; // cmd or uco not a string
      if (objects.length >= MAX_DEPTH) return false;
      objects.push(c === 0x7b);
      i = s.skipSpace(i + 1);
      if (line[i] !== (c === 0x7b ? 0x7d : 0x5d)) continue; // a first member or element follows
      objects.pop();
      i++;
    } else {
      const start = i;
      i = s.scalar(i);
      if (i < 0) return false;
      if (objects.length === 1 && key !== Key.Other) {
        if (c !== QUOTE || s.escaped) return false;
        if (key === Key.Cmd) {
          isCommand = isComm(line, start + 1, i - 1);
        } else {
          out.ucoStart = start + 1;
          out.ucoEnd = i - 1;
        }
      }
    }
    // After a value: close finished containers, then expect a separator.
    for (;;) {
      i = s.skipSpace(i);
      if (objects.length === 0) return i === n && isCommand;
      const closer = objects[objects.length - 1] === true ? 0x7d : 0x5d;
      if (line[i] === 0x2c) {
        i = s.skipSpace(i + 1);
        break;
      }
      if (line[i] !== closer) return false;
      objects.pop();
      i++;
    }
  }
}
