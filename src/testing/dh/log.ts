/**
 * The round log: {@link DhRoundEvent}s as NDJSON, one event per line, for the grading
 * report.
 *
 * @module
 */
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { stringify } from 'ndjson';
import type { DhLogEvent, DhRoundEvent, DhStudentEvent } from './events.js';
import type { DhReferencePeer } from './peer.js';

/** Options of {@link writeRoundLog}. */
export interface RoundLogOptions {
  /** End `out` when the log is closed (false for stdout). @defaultValue `true` */
  end?: boolean;
  /**
   * Called once with the first error of `out` (or of the NDJSON encoder), after which
   * the log stops writing. Errors are never left unhandled, with or without this.
   */
  onError?: (error: Error) => void;
}

/** A running round log, from {@link writeRoundLog}. */
export interface RoundLog {
  /** The first error of the output, if any: the log stopped writing then. */
  readonly error: Error | undefined;
  /**
   * Stops listening, flushes what was written and (by default) ends the output.
   * Never rejects: a failure of the output is in {@link RoundLog.error}.
   */
  close(): Promise<void>;
}

/**
 * Writes every `round` and `student` event of `peer` to `out` as one NDJSON line (ndjson's
 * `stringify()` stream: `JSON.stringify(event)` + EOL).
 *
 * An error of `out` (a full disk, a closed pipe) is handled: it is reported through
 * {@link RoundLogOptions.onError} and {@link RoundLog.error}, and the log stops; it
 * never becomes an unhandled `'error'` event that would end the process.
 *
 * @example
 * ```ts
 * const log = writeRoundLog(peer, fs.createWriteStream('rounds.ndjson'), { onError: (e) => console.error(e.message) });
 * // …
 * await log.close();
 * ```
 */
export function writeRoundLog(peer: DhReferencePeer, out: Writable, options: RoundLogOptions = {}): RoundLog {
  const end = options.end ?? true;
  const lines = stringify();
  let error: Error | undefined;
  const onRound = (event: DhRoundEvent | DhStudentEvent): void => {
    lines.write(event);
  };
  const onError = (cause: unknown): void => {
    if (error !== undefined) return;
    error = cause instanceof Error ? cause : new Error(String(cause));
    peer.off('round', onRound);
    peer.off('student', onRound);
    lines.unpipe(out);
    lines.destroy();
    options.onError?.(error);
  };
  // Kept on `out` for its whole life when we end it; removed on close otherwise (stdout).
  out.on('error', onError);
  lines.on('error', onError);
  lines.pipe(out, { end });
  peer.on('round', onRound);
  peer.on('student', onRound);
  let closing: Promise<void> | undefined;
  return {
    get error(): Error | undefined {
      return error;
    },
    close(): Promise<void> {
      closing ??= (async () => {
        peer.off('round', onRound);
        peer.off('student', onRound);
        if (error === undefined) {
          lines.end();
          try {
            await finished(lines);
            if (end) await finished(out);
          } catch (cause) {
            onError(cause);
          }
        }
        if (!end) out.off('error', onError);
      })();
      return closing;
    },
  };
}

/** Parses NDJSON text written by {@link writeRoundLog} back into events (for tests and reports). */
export function readRoundLog(text: string): DhLogEvent[] {
  return text
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as DhLogEvent);
}
