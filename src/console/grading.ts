/**
 * Live grading: the round events of in-process reference peers, kept in memory and
 * graded with the report's own {@link summarize}, so the page, `/metrics` and the
 * downloads agree with `chat-roulette report` on the same log.
 *
 * @module
 */
import type { DhRoundEvent } from '../testing/dh/events.js';
import type { DhReferencePeer } from '../testing/dh/peer.js';
import { formatReport, summarize, type DhReport } from '../testing/report.js';

/** The round events of the reference peers, and their report. */
export class GradingBoard {
  private readonly events: DhRoundEvent[] = [];
  private cached: DhReport | undefined;
  private readonly onRound = (event: DhRoundEvent): void => {
    this.events.push(event);
    this.cached = undefined;
    this.changed();
  };

  constructor(
    private readonly peers: readonly DhReferencePeer[],
    private readonly changed: () => void,
  ) {
    for (const peer of peers) peer.on('round', this.onRound);
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

  /** The round log as NDJSON, as the peer's `--log` writes it. */
  ndjson(): string {
    return this.events.map((event) => `${JSON.stringify(event)}\n`).join('');
  }

  /** Stops listening to the peers. */
  close(): void {
    for (const peer of this.peers) peer.off('round', this.onRound);
  }
}
