/**
 * PROTOCOL §1 framing: bytes to lines, with a bound on what is buffered.
 *
 * @module
 */

const LF = 0x0a;
const CR = 0x0d;

/** PROTOCOL §1: `line` without one trailing `"\r"`, if it has one (no copy). */
export function stripCarriageReturn(line: Buffer): Buffer {
  return line.length > 0 && line[line.length - 1] === CR ? line.subarray(0, line.length - 1) : line;
}

/** Receives what a {@link LineFramer} finds. */
export interface LineSink {
  /** A complete line, without `"\n"` or a trailing `"\r"`; at most `maxLineBytes` long. */
  onLine(line: Buffer): void;
  /** A line exceeded `maxLineBytes`; it is discarded up to its terminator. Called once per such line. */
  onLineTooLong(): void;
}

/**
 * Splits a byte stream into lines. Holds at most `maxLineBytes + 1` bytes of an
 * unfinished line (the `+ 1` for a `"\r"` whose `"\n"` is in the next chunk); a
 * longer line is reported once and skipped to its end.
 */
export class LineFramer {
  /** Pieces of the unfinished line; `undefined` while there is none (no array per idle client). */
  private pending: Buffer[] | undefined = undefined;
  private pendingBytes = 0;
  private discarding = false;

  /**
   * A framer with nothing buffered.
   *
   * @param maxLineBytes - longest line accepted, not counting the terminator.
   */
  constructor(private readonly maxLineBytes: number) {}

  /** Bytes held for the unfinished line. */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  /** Frames one chunk. Lines are handed to `sink` synchronously, in order. */
  push(chunk: Uint8Array, sink: LineSink): void {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(LF, start);
      if (nl === -1) break;
      if (this.discarding) {
        this.discarding = false;
      } else if (this.pendingBytes === 0) {
        this.emit(buf.subarray(start, nl), sink);
      } else {
        const piece = buf.subarray(start, nl);
        if (this.pendingBytes + piece.length > this.maxLineBytes + 1) {
          this.reset();
          sink.onLineTooLong();
        } else {
          const pieces = this.pending as Buffer[];
          pieces.push(piece);
          const line = Buffer.concat(pieces, this.pendingBytes + piece.length);
          this.reset();
          this.emit(line, sink);
        }
      }
      start = nl + 1;
    }
    if (start >= buf.length || this.discarding) return;
    const rest = buf.subarray(start);
    if (this.pendingBytes + rest.length > this.maxLineBytes + 1) {
      this.reset();
      this.discarding = true;
      sink.onLineTooLong();
      return;
    }
    // Copy: the caller may reuse its chunk, and a slice would pin the whole chunk.
    (this.pending ??= []).push(Buffer.from(rest));
    this.pendingBytes += rest.length;
  }

  private emit(line: Buffer, sink: LineSink): void {
    const text = stripCarriageReturn(line);
    if (text.length > this.maxLineBytes) sink.onLineTooLong();
    else sink.onLine(text);
  }

  private reset(): void {
    this.pending = undefined;
    this.pendingBytes = 0;
  }
}
