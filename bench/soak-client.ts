/**
 * One soak client: a uco that connects over TCP, answers pings, chats with its peer
 * (each `comm` carries its uco and a per-sender sequence number), fences its messages
 * with a repeated `connect` (whose ack proves the server processed what came before),
 * and misbehaves when told to: goes silent, drops, is taken over, floods, stops reading.
 */
import net from 'node:net';
import { openedConnection, type ConnectionEnd, type Ledger, type SentMessage } from './soak-ledger.js';

/** Counters of what the server told the clients. */
export interface SoakCounters {
  /** Exit lines by reason. */
  exits: Map<string, number>;
  /** Error replies by text. */
  errors: Map<string, number>;
  /** `comm` lines received. */
  received: number;
  /** `comm` lines sent. */
  sent: number;
}

interface CommLine {
  cmd?: unknown;
  from?: unknown;
  seq?: unknown;
  ack?: unknown;
  exit?: unknown;
  reason?: unknown;
  error?: unknown;
  dropped?: unknown;
  uco?: unknown;
  msg?: { from?: unknown; seq?: unknown };
}

/** One live connection of a {@link SoakClient}. */
class Link {
  readonly socket: net.Socket;
  readonly end: ConnectionEnd;
  /** The peer per the last `pair` line, and that session's id and start. */
  peer: string | undefined = undefined;
  session = 0;
  pairedAt = 0;
  /** Last seq received per sender on this connection. */
  readonly lastSeq = new Map<string, number>();
  /** Messages of the current session not yet fenced. */
  unfenced: SentMessage[] = [];
  /** Fence id → messages it covers, the session it was sent in, and how many messages this connection had sent before it. */
  readonly fences = new Map<string, { session: number; messages: SentMessage[]; upTo: number }>();
  /** Every comm sent on this connection, in order. */
  readonly messages: SentMessage[] = [];
  /** Messages before this index are known to be processed by the server (a later fence was acknowledged). */
  private processedUpTo = 0;
  registered = false;
  sawExit = false;
  closed = false;
  silent = false;
  private rest = '';

  constructor(
    readonly owner: SoakClient,
    port: number,
  ) {
    this.end = openedConnection(owner.uco);
    owner.ledger.connections.push(this.end);
    this.socket = net.connect({ host: '127.0.0.1', port });
    this.socket.setEncoding('utf8');
    this.socket.on('connect', () => this.connect('hello'));
    this.socket.on('data', (text: string) => this.onData(text));
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => this.onClose());
  }

  write(message: object): boolean {
    if (this.closed || this.socket.destroyed || !this.socket.writable) return false;
    this.socket.write(`${JSON.stringify(message)}\n`);
    return true;
  }

  /** Sends a `connect` (the first one, or a fence), counted for the accounting. */
  private connect(nonce: string): void {
    if (this.write({ cmd: 'connect', uco: this.owner.uco, nonce })) this.end.connectsSent++;
  }

  private onData(text: string): void {
    const parts = (this.rest + text).split('\n');
    this.rest = parts.pop() ?? '';
    for (const line of parts) this.onLine(line);
  }

  private onLine(line: string): void {
    const o = this.owner;
    let m: CommLine;
    try {
      m = JSON.parse(line) as CommLine;
    } catch {
      o.ledger.garbled++;
      return;
    }
    if (m.cmd === 'ping') {
      if (!this.silent) this.write({ cmd: 'pong' });
    } else if (m.cmd === 'pair' && typeof m.uco === 'string') {
      // What the server has not processed yet goes to the new peer.
      for (let i = this.processedUpTo; i < this.messages.length; i++) (this.messages[i] as SentMessage).uncertainTarget = true;
      this.peer = m.uco;
      this.session++;
      this.pairedAt = performance.now();
      o.ledger.change(o.uco, this.pairedAt, m.uco);
      this.unfenced = [];
    } else if (m.cmd === 'comm') {
      if (typeof m.from !== 'string' || typeof m.seq !== 'number') {
        o.ledger.garbled++;
        return;
      }
      o.counters.received++;
      if (this.peer !== m.from) o.ledger.wrongPeer++;
      const last = this.lastSeq.get(m.from) ?? -1;
      if (m.seq <= last) o.ledger.outOfOrder++;
      this.lastSeq.set(m.from, m.seq);
      o.ledger.receive(m.from, m.seq);
    } else if (typeof m.ack === 'string') {
      this.end.connectsAcked++;
      if (m.ack === 'hello') this.registered = true;
      const fence = this.fences.get(m.ack);
      if (fence !== undefined) {
        this.fences.delete(m.ack);
        const now = performance.now();
        for (let i = this.processedUpTo; i < fence.upTo; i++) (this.messages[i] as SentMessage).processedBy = now;
        this.processedUpTo = Math.max(this.processedUpTo, fence.upTo);
        if (fence.session === this.session) {
          const now = performance.now();
          for (const msg of fence.messages) if (msg.session === this.session) msg.fencedAt ??= now;
        }
      }
    } else if (m.exit === true) {
      this.sawExit = true;
      this.peer = undefined;
      this.session++;
      o.ledger.change(o.uco, performance.now(), '');
      const reason = String(m.reason);
      this.end.exitReason = reason;
      // A slow consumer's unsent backlog was discarded before its exit line.
      if (reason === 'slow consumer') this.end.abrupt = true;
      o.counters.exits.set(reason, (o.counters.exits.get(reason) ?? 0) + 1);
    } else if (typeof m.error === 'string') {
      o.counters.errors.set(m.error, (o.counters.errors.get(m.error) ?? 0) + 1);
      // A counted refusal: `dropped` lines, `msg` (when present) the first of them.
      if (m.error === 'rate limited') {
        if (typeof m.dropped === 'number' && m.dropped >= 1) this.end.counted += m.dropped;
        else o.ledger.garbled++;
      }
      const msg = m.msg;
      if (msg !== undefined && msg.from === o.uco && typeof msg.seq === 'number') o.ledger.refuse(o.uco, msg.seq, m.error);
    } else {
      o.ledger.garbled++;
    }
  }

  private onClose(): void {
    this.closed = true;
    this.peer = undefined;
    this.session++;
    this.end.endedAt = performance.now();
    this.owner.ledger.change(this.owner.uco, this.end.endedAt, '');
    // Unread lines may be lost only when no exit line was read (dropped or destroyed).
    if (!this.sawExit) this.end.abrupt = true;
    this.owner.onLinkClosed(this);
  }

  /** Sends `count` comm lines to the current peer, then a fence. */
  chat(count: number): void {
    const o = this.owner;
    if (this.peer === undefined || this.closed) return;
    for (let i = 0; i < count; i++) {
      const seq = o.nextSeq++;
      const message: SentMessage = { from: o.uco, seq, to: this.peer, session: this.session, sentAt: performance.now(), link: this.end, pairedAt: this.pairedAt };
      o.ledger.send(message);
      this.messages.push(message);
      this.unfenced.push(message);
      o.counters.sent++;
      this.write({ cmd: 'comm', from: o.uco, seq, pad: 'x'.repeat(seq % 64) });
    }
    const id = `f${o.nextFence++}`;
    this.fences.set(id, { session: this.session, messages: this.unfenced, upTo: this.messages.length });
    this.unfenced = [];
    this.connect(id);
  }
}

/** A client identity (uco) with its current connection; reconnects when told. */
export class SoakClient {
  nextSeq = 0;
  nextFence = 0;
  link: Link | undefined;
  /** Connections of this uco still open (the current one, and old ones being replaced). */
  readonly links = new Set<Link>();
  /** Reconnect automatically when the current connection ends (off once leaving). */
  reconnect = true;

  constructor(
    readonly uco: string,
    readonly port: number,
    readonly ledger: Ledger,
    readonly counters: SoakCounters,
    readonly reconnectDelayMs: number,
  ) {}

  /** Opens a connection (a takeover when one is already open). */
  open(): void {
    const link = new Link(this, this.port);
    this.links.add(link);
    this.link = link;
  }

  /** @internal */
  onLinkClosed(link: Link): void {
    this.links.delete(link);
    if (this.link !== link) return;
    this.link = undefined;
    if (this.reconnect) setTimeout(() => this.reconnect && this.link === undefined && this.open(), this.reconnectDelayMs);
  }

  /** Normal traffic: a few comm lines and a fence. */
  chat(count: number): void {
    this.link?.chat(count);
  }

  /** Stops answering pings: the server times it out. */
  goSilent(): void {
    if (this.link !== undefined) this.link.silent = true;
  }

  /** Destroys the socket abruptly. */
  drop(): void {
    const link = this.link;
    if (link === undefined) return;
    link.end.selfDropped = true;
    link.socket.destroy();
  }

  /** Opens a second connection with the same uco: the first gets `new session`. */
  takeover(): void {
    if (this.link !== undefined) this.open();
  }

  /** Stops reading for `ms` (its peer's messages pile up in the server). */
  stopReading(ms: number): void {
    const link = this.link;
    if (link === undefined) return;
    link.socket.pause();
    setTimeout(() => link.socket.resume(), ms);
  }

  /** Leaves: `exit` on every connection. */
  leave(): void {
    this.reconnect = false;
    for (const link of this.links) {
      link.socket.resume();
      link.write({ cmd: 'exit' });
    }
  }

  /** Destroys what is left (after a bounded wait). */
  destroy(): void {
    this.reconnect = false;
    for (const link of this.links) {
      link.end.selfDropped = true;
      link.socket.destroy();
    }
  }

  /** Whether every connection of this uco is closed. */
  get gone(): boolean {
    return this.links.size === 0;
  }

  /** Whether the current connection is registered and paired. */
  get paired(): boolean {
    return this.link?.peer !== undefined;
  }
}
