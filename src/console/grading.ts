/**
 * Live grading: each in-process reference peer's round log, written by the testing
 * kit's own {@link writeRoundLog} into memory, read back line by line with
 * {@link parseRoundEvent} and graded with {@link summarize} — so the page, `/metrics`
 * and the downloads agree with `chat-roulette report` on the same log, whatever the
 * log holds.
 *
 * @module
 */
import { Writable } from 'node:stream';
import { writeRoundLog, type RoundLog } from '../testing/dh/log.js';
import type { DhReferencePeer } from '../testing/dh/peer.js';
import { formatReport, parseRoundEvent, summarize, type DhReport } from '../testing/report.js';

/** One event of the log, as the report reads it. */
type LogEvent = Exclude<ReturnType<typeof parseRoundEvent>, string>;

/** The round logs of the reference peers, and their report. */
export class GradingBoard {
  private readonly lines: string[] = [];
  private readonly events: LogEvent[] = [];
  private readonly logs: RoundLog[] = [];
  private cached: DhReport | undefined;

  constructor(
    private readonly peers: readonly DhReferencePeer[],
    private readonly changed: () => void,
  ) {
    for (const peer of peers) {
      let rest = '';
      const sink = new Writable({
        write: (chunk: Buffer, _encoding, done) => {
          const parts = (rest + chunk.toString('utf8')).split('\n');
          rest = parts.pop() ?? '';
          for (const line of parts) this.take(line);
          done();
        },
      });
      this.logs.push(writeRoundLog(peer, sink));
    }
  }

  /** The ucos of the reference peers. */
  get peerUcos(): string[] {
    return this.peers.map((peer) => peer.uco);
  }

  /** The report of every event so far (recomputed only after a new event). */
  report(): DhReport {
    this.cached ??= summarize(this.events);
    return this.cached;
  }

  /** The report as `chat-roulette report` prints it. */
  text(): string {
    return formatReport(this.report());
  }

  /** The round log as NDJSON, as `--round-log` writes it. */
  ndjson(): string {
    return this.lines.map((line) => `${line}\n`).join('');
  }

  /** Stops listening to the peers. */
  close(): void {
    for (const log of this.logs) void log.close();
  }

  private take(line: string): void {
    if (line.trim() === '') return;
    const event = parseRoundEvent(line);
    if (typeof event === 'string') return;
    this.lines.push(line);
    this.events.push(event);
    this.cached = undefined;
    this.changed();
  }
}
