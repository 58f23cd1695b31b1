/**
 * The relay (PROTOCOL §3 comm): forwards a sender's line to its peer byte for byte,
 * recognises the short `comm` lines that need no parsing, and pauses senders whose
 * peer is not keeping up.
 *
 * @module
 */
import { isLocal, type Connection, type Peer } from './connection.js';
import type { Engine } from './engine.js';
import type { RemotePeer } from './matchmaking/types.js';
import { scanComm, type CommScan } from './scan.js';

/** A sender is paused while its peer holds more unsent output than this (bytes). */
export const PAUSE_SENDER_ABOVE_BYTES = 64 * 1024;

/** Forwarding, the fast-path check and sender backpressure. */
export class Relay {
  /** Scratch space of {@link scanComm}: one per relay, no allocation per line. */
  private readonly scan: CommScan = { ucoStart: -1, ucoEnd: -1 };

  constructor(private readonly engine: Engine) {}

  /**
   * Whether `raw` is certainly a `comm` line whose `uco`, if any, is exactly
   * `conn`'s: such a line needs no decoding nor `JSON.parse` (src/core/scan.ts).
   */
  isOwnCommLine(conn: Connection, raw: Buffer): boolean {
    const scan = this.scan;
    if (!scanComm(raw, scan)) return false;
    if (scan.ucoStart < 0) return true;
    const uco = conn.uco;
    if (uco === undefined || scan.ucoEnd - scan.ucoStart !== uco.length) return false;
    for (let i = 0; i < uco.length; i++) if (raw[scan.ucoStart + i] !== uco.charCodeAt(i)) return false;
    return true;
  }

  /**
   * PROTOCOL §3 comm: the peer gets the line byte for byte (its transport appends the
   * terminator). False when the peer could not take it (the sender is then told
   * `failed`).
   */
  forward(sender: Connection, peer: Peer, raw: Buffer | string): boolean {
    if (!isLocal(peer)) return this.forwardRemote(sender, peer, raw);
    if (!this.engine.send(peer, raw)) return false;
    this.engine.relayed(sender, peer, typeof raw === 'string' ? Buffer.byteLength(raw) : raw.length);
    this.applyBackpressure(sender, peer);
    return true;
  }

  /** A peer elsewhere: its {@link RemotePeer.send} carries the line (no backpressure across the hop). */
  private forwardRemote(sender: Connection, peer: RemotePeer, raw: Buffer | string): boolean {
    if (!peer.send(raw)) return false;
    this.engine.relayed(sender, peer, typeof raw === 'string' ? Buffer.byteLength(raw) : raw.length);
    return true;
  }

  /** Pauses a sender whose peer is not keeping up; it resumes when the peer drains or leaves. */
  private applyBackpressure(sender: Connection, peer: Connection): void {
    if (sender.pausedBy !== undefined || sender.transport.pause === undefined) return;
    if (peer.state !== 'open' || peer.transport.bufferedBytes === undefined) return;
    if (peer.transport.bufferedBytes() <= PAUSE_SENDER_ABOVE_BYTES) return;
    sender.pausedBy = peer;
    (peer.blockedSenders ??= new Set()).add(sender);
    sender.transport.pause();
  }

  /** `conn` drained or its pair ended: the senders it paused read again. */
  releaseBlockedSenders(conn: Connection): void {
    const blocked = conn.blockedSenders;
    if (blocked === undefined || blocked.size === 0) return;
    conn.blockedSenders = undefined;
    for (const sender of blocked) {
      sender.pausedBy = undefined;
      if (sender.state === 'open') sender.transport.resume?.();
    }
  }

  /** `conn` is gone: release the senders it paused, and forget it among the paused. */
  forget(conn: Connection): void {
    this.releaseBlockedSenders(conn);
    const blocker = conn.pausedBy;
    if (blocker !== undefined) {
      blocker.blockedSenders?.delete(conn);
      conn.pausedBy = undefined;
    }
  }
}
