/**
 * The relay's fast path: recognises a short `comm` line without building any object.
 *
 * Most lines a paired client sends are `comm` messages to relay unchanged. For them
 * the core only needs to know that the line is valid JSON (PROTOCOL §1), that it is
 * an object whose `cmd` is `"comm"`, and what its `uco` says (PROTOCOL §2). This
 * scanner answers that directly on the bytes, about twice as fast as
 * `JSON.parse(line.toString())` for short lines. It is conservative: whenever it
 * cannot be sure (escapes in a top-level key, `cmd` or `uco`; a long line; anything
 * malformed) it says no, and the line takes the ordinary path through `JSON.parse`,
 * which decides every reply. So it never changes behaviour, only speed.
 *
 * @module
 */

/** Longer lines are parsed by `JSON.parse`, which is faster than a JS byte loop there. */
export const FAST_SCAN_MAX_BYTES = 192;

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

const HEX = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1;

const SIMPLE_ESCAPES = new Uint8Array(256);
for (const c of '"\\/bfnrt') SIMPLE_ESCAPES[c.charCodeAt(0)] = 1;

/** Containers deeper than this make the scanner give up (the ordinary path decides). */
const MAX_DEPTH = 64;

/** A scanner over one line. Methods return the offset after what they read, or -1. */
class Scanner {
  bytes: Uint8Array = new Uint8Array(0);
  length = 0;
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
      this.escaped = true;
      const e = b[i + 1] as number;
      if (e === 0x75) {
        if (i + 5 >= n) return -1;
        for (let k = 2; k <= 5; k++) if (HEX[b[i + k] as number] !== 1) return -1;
        i += 6;
      } else if (SIMPLE_ESCAPES[e] === 1) {
        i += 2;
      } else {
        return -1;
      }
    }
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
  if (n > FAST_SCAN_MAX_BYTES) return false;
  const s = scanner;
  s.bytes = line;
  s.length = n;
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
