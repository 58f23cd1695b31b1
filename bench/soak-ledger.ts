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
  /** The connection it was sent on. */
  readonly link: ConnectionEnd;
  /** The error reply the sender got for it, if any (`rate limited`: it was the `msg` of a counted refusal). */
  error?: string;
  /** When a later fence's ack arrived with the sender's session intact. */
  fencedAt?: number;
  /** When an ack of a later fence on the same connection arrived: the server had processed it by then. */
  processedBy?: number;
  /** Sent before the sender read a `pair` line that re-paired it: its receiver may be another client. */
  uncertainTarget?: boolean;
  /** When the sender read the `pair` line of the session it was sent in, ms. */
  readonly pairedAt?: number;
}

/** How one client connection ended. */
export interface ConnectionEnd {
  /** The uco it was registered under. */
  readonly uco: string;
  /** When it opened, ms. */
  readonly openedAt: number;
  /** When it ended, ms (Infinity while open). */
  endedAt: number;
  /**
   * True when unread lines may have been lost: it closed without an exit line it read
   * (dropped, destroyed), or it was cut as a `slow consumer` (its backlog discarded).
   */
  abrupt: boolean;
  /** The client itself destroyed the socket (a `drop` fault, or the final clean-up). */
  selfDropped: boolean;
  /** Cluster soak: it closed without an exit line right after a node was killed (the balancer cut it). */
  crashed?: boolean;
  /** The reason of the exit line it read, if any. */
  exitReason: string | undefined;
  /** Lines counted as dropped by the server's `rate limited` replies (the sum of their `dropped`). */
  counted: number;
  /** `connect` lines sent (the first one and the fences), and those acknowledged. */
  connectsSent: number;
  connectsAcked: number;
}

/** A new {@link ConnectionEnd} for a connection of `uco` opening now. */
export function openedConnection(uco: string): ConnectionEnd {
  return { uco, openedAt: performance.now(), endedAt: Infinity, abrupt: false, selfDropped: false, exitReason: undefined, counted: 0, connectsSent: 0, connectsAcked: 0 };
}

/** The result of {@link Ledger.audit}. */
export interface Audit {
  /** Fenced messages without an error, on connections without counted refusals. */
  accepted: number;
  /** Messages that got an error reply naming them. */
  refused: number;
  /** Messages neither refused nor fenced. */
  unconfirmed: number;
  /** Accepted messages missing because their receiver's connection ended abruptly. */
  excused: number;
  /** Accepted messages missing without excuse. */
  lost: SentMessage[];
  /** Connections that got counted refusals (their messages are checked in aggregate). */
  countedConnections: number;
  /** Lines counted by `rate limited` replies, over all connections. */
  counted: number;
  /** Connections whose lines are not all accounted for (see {@link Ledger.audit}). */
  unaccounted: string[];
  /** Connections cut by the server without an exit line read. */
  cutWithoutReason: number;
  /** Cluster soak: counted categories (see {@link ClusterFaults}); zero otherwise. */
  cluster: ClusterAudit;
}

/** What a cluster soak did to the cluster, for {@link Ledger.audit}. */
export interface ClusterFaults {
  /** When a node was killed (kill -9), ms. */
  readonly kills: number[];
  /** When Redis went down and came back, ms. */
  readonly outages: Array<{ down: number; up: number }>;
  /**
   * How long after an event its effects may still reach a client, ms: lines in flight
   * between nodes, a node's next lease check, the balancer cutting a connection.
   */
  readonly marginMs: number;
  /** How long after Redis is back its clients may still lose lines (lease lapse, rejoin, reconcile), ms. */
  readonly recoveryMs: number;
  /** How long after a kill the dead node's clients' peers may still send to it (lease + grace + beat), ms. */
  readonly reapMs: number;
}

/** The counted categories of a cluster soak: accepted messages missing for a known reason. */
export interface ClusterAudit {
  /** Connections the balancer cut when their node was killed (no exit line, counted, not a failure). */
  crashedConnections: number;
  /** Sent to a peer whose node had been killed, before its lease lapsed (relay `noReceiver` on the node). */
  toCrashedPeer: number;
  /** In flight when the receiver's or the sender's pair changed or ended (a `pair` or exit line, a close): relay `droppedStale`. */
  pairChanged: number;
  /** Sent while Redis was down or just back (relay `publishFailed`, registrations dropped by the restart). */
  redisOutage: number;
  /**
   * How far into its window the latest counted message of each category was, ms: sent
   * after the peer's connection was cut (toCrashedPeer), the receiver's pair changed after
   * the fence's ack (pairChanged), sent after Redis was back (redisOutage). Negative
   * values: before. For judging the windows, not a check.
   */
  lagMs: { toCrashedPeer: number; pairChanged: number; redisOutage: number };
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
  /** Cluster soak: the faults it caused (set by the soak before {@link Ledger.audit}). */
  faults: ClusterFaults | undefined = undefined;
  /** Per uco: when it read a `pair` line naming someone (the peer), an exit line, or its connection closed (peer ''), ms. */
  readonly changes = new Map<string, Array<{ at: number; peer: string }>>();

  /** Records that `uco`'s pair changed or ended at `at` (`peer`: the new peer, '' for none). */
  change(uco: string, at: number, peer: string): void {
    const list = this.changes.get(uco) ?? [];
    list.push({ at, peer });
    this.changes.set(uco, list);
  }

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
   *
   * Then the accounting of every connection: each line it sent that is not exempt
   * from the rate limit (`comm`, `connect`) was relayed (delivered), refused
   * individually (an error reply naming it), or counted by a `rate limited` reply.
   * With U the lines neither delivered, nor refused individually, nor acknowledged:
   * counted ≤ U always (no line counted twice, none counted and relayed); and for a
   * connection that ended with its own `exit` (so the server read every line it sent,
   * up to the moment it was cut) counted ≥ U minus the lines an abrupt end of a
   * receiver may have lost — counted = U when none was. Messages of a connection with
   * counted refusals are checked this way instead of one by one (a count does not
   * name its lines).
   */
  audit(): Audit {
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
    const faults = this.faults;
    const cluster: ClusterAudit = {
      crashedConnections: 0,
      toCrashedPeer: 0,
      pairChanged: 0,
      redisOutage: 0,
      lagMs: { toCrashedPeer: -Infinity, pairChanged: -Infinity, redisOutage: -Infinity },
    };
    if (faults !== undefined) {
      for (const c of this.connections) {
        if (c.exitReason !== undefined || c.selfDropped) continue;
        if (faults.kills.some((k) => c.endedAt >= k && c.endedAt <= k + faults.marginMs)) c.crashed = true;
      }
    }
    type Reason = { category: keyof ClusterAudit['lagMs']; lag: number };
    /** The cluster category that explains a missing message, if any (cluster soak only), and how far into its window. */
    const clusterReason = (m: SentMessage): Reason | undefined => {
      if (faults === undefined) return undefined;
      const margin = faults.marginMs;
      const fenced = m.fencedAt ?? m.processedBy ?? m.link.endedAt;
      const by = fenced + margin;
      const from = m.pairedAt ?? m.sentAt;
      const outage = faults.outages.find((o) => by >= o.down - margin && m.sentAt <= o.up + faults.recoveryMs);
      if (outage !== undefined) return { category: 'redisOutage', lag: m.sentAt - outage.up };
      const targets = m.uncertainTarget === true ? this.connections : (byUco.get(m.to) ?? []);
      const crashed = targets.find(
        (c) => c.crashed === true && c.openedAt <= from && c.endedAt >= from - margin && c.endedAt <= by && m.sentAt <= c.endedAt + faults.reapMs,
      );
      if (crashed !== undefined) return { category: 'toCrashedPeer', lag: m.sentAt - crashed.endedAt };
      const changes = m.uncertainTarget === true ? [...this.changes.values()].flat() : (this.changes.get(m.to) ?? []);
      // The receiver's pair changed (its pair line naming the sender starts the pair, it does not end it)…
      const change =
        changes.find((e) => e.peer !== m.from && e.at >= from && e.at <= by) ??
        // …or the sender's own did (taken over, cut, left, re-paired): the other node may hear of it before the line.
        (this.changes.get(m.from) ?? []).find((e) => e.at > from && e.at >= m.sentAt && e.at <= by);
      if (change !== undefined) return { category: 'pairChanged', lag: change.at - fenced };
      return undefined;
    };
    const lossyIn = (connections: readonly ConnectionEnd[], from: number, to: number): boolean =>
      connections.some((c) => c.abrupt && c.openedAt <= to && c.endedAt >= from);
    /** Whether a missing message may have been lost by its receiver (any receiver, when uncertain). */
    const excusable = (m: SentMessage): boolean => {
      const by = m.processedBy ?? m.link.endedAt;
      return lossyIn(m.uncertainTarget === true ? this.connections : (byUco.get(m.to) ?? []), m.sentAt, by) || clusterReason(m) !== undefined;
    };
    const open = new Map<ConnectionEnd, { missing: number; excusable: number }>();
    for (const m of this.sent.values()) {
      const key = `${m.from}:${m.seq}`;
      const got = (this.delivered.get(key) ?? 0) > 0;
      if (!got && (m.error === undefined || m.error === 'rate limited')) {
        const u = open.get(m.link) ?? { missing: 0, excusable: 0 };
        u.missing++;
        if (m.error === undefined && excusable(m)) u.excusable++;
        open.set(m.link, u);
      }
      if (m.error !== undefined) {
        refused++;
        if (got) this.refusedButRelayed++;
        continue;
      }
      if (m.link.counted > 0 || m.fencedAt === undefined) {
        unconfirmed++;
        continue;
      }
      accepted++;
      if (got) continue;
      const fencedAt = m.fencedAt;
      const cut = (byUco.get(m.to) ?? []).some((c) => c.abrupt && c.openedAt <= fencedAt && c.endedAt >= m.sentAt);
      const reason = cut ? undefined : clusterReason(m);
      if (cut) excused++;
      else if (reason !== undefined) {
        cluster[reason.category]++;
        cluster.lagMs[reason.category] = Math.max(cluster.lagMs[reason.category], reason.lag);
      }
      else lost.push(m);
    }
    let countedConnections = 0;
    let counted = 0;
    let cutWithoutReason = 0;
    const unaccounted: string[] = [];
    for (const c of this.connections) {
      if (c.crashed === true) cluster.crashedConnections++;
      else if (c.exitReason === undefined && !c.selfDropped) cutWithoutReason++;
      if (c.counted > 0) countedConnections++;
      counted += c.counted;
      const u = open.get(c) ?? { missing: 0, excusable: 0 };
      const missing = u.missing + c.connectsSent - c.connectsAcked;
      const describe = (): string =>
        `${c.uco} (${c.exitReason ?? 'no exit line'}): counted ${c.counted}, unaccounted lines ${missing} of which ${u.excusable} possibly lost by a receiver`;
      if (c.counted > missing) unaccounted.push(`over-counted: ${describe()}`);
      else if (c.exitReason === 'client exit' && c.counted < missing - u.excusable) unaccounted.push(`unaccounted: ${describe()}`);
    }
    return { accepted, refused, unconfirmed, excused, lost, countedConnections, counted, unaccounted, cutWithoutReason, cluster };
  }
}
