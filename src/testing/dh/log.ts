/**
 * The round log: {@link DhRoundEvent}s as NDJSON, one event per line, for the grading
 * report.
 *
 * @module
 */
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { stringify } from 'ndjson';
import type { DhRoundEvent } from './events.js';
import type { DhReferencePeer } from './peer.js';

/** Options of {@link writeRoundLog}. */
export interface RoundLogOptions {
  /** End `out` when the log is closed (false for stdout). @defaultValue `true` */
  end?: boolean;
}

/** A running round log, from {@link writeRoundLog}. */
export interface RoundLog {
  /** Stops listening, flushes what was written and (by default) ends the output. */
  close(): Promise<void>;
}

/**
 * Writes every `round` event of `peer` to `out` as one NDJSON line (ndjson's
 * `stringify()` stream: `JSON.stringify(event)` + EOL).
 *
 * @example
 * ```ts
 * const log = writeRoundLog(peer, fs.createWriteStream('rounds.ndjson'));
 * // …
 * await log.close();
 * ```
 */
export function writeRoundLog(peer: DhReferencePeer, out: Writable, options: RoundLogOptions = {}): RoundLog {
  const end = options.end ?? true;
  const lines = stringify();
  lines.pipe(out, { end });
  const onRound = (event: DhRoundEvent): void => {
    lines.write(event);
  };
  peer.on('round', onRound);
  let closing: Promise<void> | undefined;
  return {
    close(): Promise<void> {
      closing ??= (async () => {
        peer.off('round', onRound);
        lines.end();
        await finished(lines);
        if (end) await finished(out);
      })();
      return closing;
    },
  };
}

/** Parses NDJSON text written by {@link writeRoundLog} back into events (for tests and reports). */
export function readRoundLog(text: string): DhRoundEvent[] {
  return text
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as DhRoundEvent);
}
