/**
 * The soak's bookkeeping: every `comm` sent, what the server answered, what each
 * receiver got, and how each connection ended. See bench/soak.ts for the definition
 * of an accepted message that these checks apply.
 */

/** One `comm` a client sent. */
export interface SentMessage {
  /** The sender's uco. */
  readonly from: string;
  /** Per-sender sequence number (over all of the sender's connections). */
  readonly seq: number;
  /** The peer the sender believed it had (its last `pair` line). */
  readonly to: string;
  /** The sender's pair-session id at sending. */
  readonly session: number;
  /** Monotonic time of sending, ms. */
  readonly sentAt: number;
  /** The error reply the sender got for it, if any. */
  error?: string;
  /** When a later fence's ack arrived with the sender's session intact. */
  fencedAt?: number;
}

/** How one client connection ended. */
export interface ConnectionEnd {
  /** The uco it was registered under. */
  readonly uco: string;
  /** When it opened, ms. */
  readonly openedAt: number;
  /** When it ended, ms (Infinity while open). */
  endedAt: number;
  /** True when it closed without an exit line it read (dropped, destroyed): unread lines were lost. */
  abrupt: boolean;
}

/** Violations found while receiving, and the ledger of everything sent. */
export class Ledger {
  /** Every message sent, by `from:seq`. */
  readonly sent = new Map<string, SentMessage>();
  /** Receptions per `from:seq`. */
  readonly delivered = new Map<string, number>();
  /** Every connection's end record. */
  readonly connections: ConnectionEnd[] = [];
  /** Received from someone that was not the receiver's peer of the moment. */
  wrongPeer = 0;
  /** Received twice. */
  duplicates = 0;
  /** Received out of per-sender order on one connection. */
  outOfOrder = 0;
  /** Relayed although the sender got an error reply for it. */
  refusedButRelayed = 0;
  /** Lines that were not JSON, or comm lines without our fields. */
  garbled = 0;

  /** Records a sent message. */
  send(message: SentMessage): void {
    this.sent.set(`${message.from}:${message.seq}`, message);
  }

  /** Records a received comm. */
  receive(from: string, seq: number): void {
    const key = `${from}:${seq}`;
    const count = (this.delivered.get(key) ?? 0) + 1;
    this.delivered.set(key, count);
    if (count > 1) this.duplicates++;
  }

  /** Records an error reply naming one of our messages. */
  refuse(from: string, seq: number, error: string): void {
    const m = this.sent.get(`${from}:${seq}`);
    if (m !== undefined) m.error = error;
  }

  /**
   * Messages accepted (fenced, no error) and never delivered, minus those excused by
   * an abrupt end of a connection of their receiver that was live when they were sent.
   */
  audit(): { accepted: number; refused: number; unconfirmed: number; excused: number; lost: SentMessage[] } {
    let accepted = 0;
    let refused = 0;
    let unconfirmed = 0;
    let excused = 0;
    const lost: SentMessage[] = [];
    const byUco = new Map<string, ConnectionEnd[]>();
    for (const c of this.connections) {
      const list = byUco.get(c.uco) ?? [];
      list.push(c);
      byUco.set(c.uco, list);
    }
    for (const m of this.sent.values()) {
      const key = `${m.from}:${m.seq}`;
      const got = (this.delivered.get(key) ?? 0) > 0;
      if (m.error !== undefined) {
        refused++;
        if (got) this.refusedButRelayed++;
        continue;
      }
      if (m.fencedAt === undefined) {
        unconfirmed++;
        continue;
      }
      accepted++;
      if (got) continue;
      const fencedAt = m.fencedAt;
      const cut = (byUco.get(m.to) ?? []).some((c) => c.abrupt && c.openedAt <= fencedAt && c.endedAt >= m.sentAt);
      if (cut) excused++;
      else lost.push(m);
    }
    return { accepted, refused, unconfirmed, excused, lost };
  }
}
