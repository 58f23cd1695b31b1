/**
 * The PROXY protocol on accepted sockets: holds each new socket until its header
 * is complete (see {@link parseProxyHeader}), then hands it on with the bytes
 * that followed the header put back. A socket whose header is missing, malformed
 * or late is destroyed without a reply.
 *
 * @module
 */
import type net from 'node:net';
import createDebug from 'debug';
import type { Clock, TimerHandle } from '../core/clock.js';
import { RouletteError } from '../core/errors.js';
import { parseProxyHeader, type ProxyHeader } from './proxy-protocol.js';

const log = createDebug('chat-roulette:proxy');

/** Defaults of {@link ProxyProtocolOptions}. */
export const PROXY_PROTOCOL_DEFAULTS = Object.freeze({
  /** Whether every connection must begin with a PROXY header. */
  proxyProtocol: false,
  /** How long a new connection has to send its complete PROXY header, in ms. */
  proxyHeaderTimeoutMs: 5_000,
});

/** The PROXY protocol options of `listen()` and `createRouletteServer()`. */
export interface ProxyProtocolOptions {
  /**
   * Every accepted connection must begin with a PROXY protocol header, version 1
   * (text) or 2 (binary), as HAProxy's `send-proxy` / `send-proxy-v2` and nginx's
   * `proxy_protocol on` send it. The client address it carries becomes the
   * connection's remote address (logs, events, `clients()`, `maxConnectionsPerAddress`);
   * version 1 `UNKNOWN` and version 2 `LOCAL` keep the socket's own. A connection
   * without a valid header within {@link ProxyProtocolOptions.proxyHeaderTimeoutMs}
   * is closed without a reply. Only turn it on when every connection comes through
   * the balancer: anyone who can reach the port directly can claim any address.
   * Not supported with a `tls.Server` (terminate TLS at the balancer).
   * @defaultValue false
   */
  proxyProtocol?: boolean;
  /**
   * With {@link ProxyProtocolOptions.proxyProtocol}: how long a new connection has to
   * send its complete header, in ms (counted on the core's clock).
   * @defaultValue 5000
   */
  proxyHeaderTimeoutMs?: number;
}

/** Counters of the PROXY headers a server read since it was created (`server.proxyHeaderStats()`). */
export interface ProxyHeaderStats {
  /** Connections still waiting for their header. */
  readonly pending: number;
  /** Headers that carried a client address, which the connection now has. */
  readonly proxied: number;
  /** Valid headers without a client address (v1 `UNKNOWN`, v2 `LOCAL`): the socket's address stays. */
  readonly local: number;
  /** Connections closed because their first bytes were not a valid header (or too long a one). */
  readonly invalid: number;
  /** Connections closed because the header was not complete in time. */
  readonly timedOut: number;
  /** Connections that closed, ended or failed before their header was complete. */
  readonly closed: number;
}

/** Validates {@link ProxyProtocolOptions.proxyHeaderTimeoutMs} and the rest; returns the timeout, or `undefined` when off. */
export function resolveProxyProtocolOptions(options: ProxyProtocolOptions): number | undefined {
  const { proxyProtocol = PROXY_PROTOCOL_DEFAULTS.proxyProtocol, proxyHeaderTimeoutMs = PROXY_PROTOCOL_DEFAULTS.proxyHeaderTimeoutMs } = options;
  if (typeof proxyProtocol !== 'boolean') {
    throw new RouletteError('ERR_INVALID_OPTION', `option proxyProtocol must be a boolean, got ${String(proxyProtocol)}`);
  }
  if (typeof proxyHeaderTimeoutMs !== 'number' || !Number.isSafeInteger(proxyHeaderTimeoutMs) || proxyHeaderTimeoutMs < 1) {
    throw new RouletteError('ERR_INVALID_OPTION', `option proxyHeaderTimeoutMs must be an integer >= 1, got ${String(proxyHeaderTimeoutMs)}`);
  }
  return proxyProtocol ? proxyHeaderTimeoutMs : undefined;
}

/** A socket waiting for its header. */
interface Pending {
  readonly socket: net.Socket;
  /** The socket's peer, read on accept: a peer that sent its header and closed has none by then. */
  readonly peer: SocketPeer;
  /** The bytes received so far. */
  bytes: Buffer;
  readonly timer: TimerHandle;
  readonly onData: (chunk: Buffer) => void;
  readonly onGone: () => void;
}

/** The socket's own peer address, as read when it was accepted. */
export interface SocketPeer {
  /** `socket.remoteAddress` on accept. */
  readonly address: string | undefined;
  /** `socket.remotePort` on accept. */
  readonly port: number | undefined;
}

/**
 * Holds accepted sockets until their PROXY header is complete, then calls
 * `onHeader` with the socket (paused, the bytes after the header put back) and the
 * header. The caller attaches the socket, then resumes it.
 */
export class ProxyHeaderGate {
  private readonly pending = new Map<net.Socket, Pending>();
  private readonly counts = { proxied: 0, local: 0, invalid: 0, timedOut: 0, closed: 0 };

  /**
   * @param clock - the clock of the header timeout.
   * @param timeoutMs - see {@link ProxyProtocolOptions.proxyHeaderTimeoutMs}.
   * @param onHeader - takes each socket whose header is complete, with its own peer address.
   */
  constructor(
    private readonly clock: Clock,
    private readonly timeoutMs: number,
    private readonly onHeader: (socket: net.Socket, header: ProxyHeader, peer: SocketPeer) => void,
  ) {}

  /** Starts reading the header of a newly accepted socket. */
  admit(socket: net.Socket): void {
    const entry: Pending = {
      socket,
      peer: { address: socket.remoteAddress, port: socket.remotePort },
      bytes: Buffer.alloc(0),
      timer: this.clock.setTimeout(() => this.reject(socket, 'timedOut', `no complete header within ${this.timeoutMs} ms`), this.timeoutMs),
      onData: (chunk) => this.onData(entry, chunk),
      onGone: () => this.reject(socket, 'closed', 'closed before its header'),
    };
    this.pending.set(socket, entry);
    socket.on('data', entry.onData);
    socket.on('end', entry.onGone);
    socket.on('error', entry.onGone);
    socket.on('close', entry.onGone);
  }

  /** Destroys every socket still waiting for its header (the server is closing). */
  destroyAll(): void {
    for (const socket of [...this.pending.keys()]) this.reject(socket, 'closed', 'server closing');
  }

  /** The counters since the gate was created. */
  stats(): ProxyHeaderStats {
    return { pending: this.pending.size, ...this.counts };
  }

  private onData(entry: Pending, chunk: Buffer): void {
    entry.bytes = entry.bytes.length === 0 ? chunk : Buffer.concat([entry.bytes, chunk]);
    const result = parseProxyHeader(entry.bytes);
    if (result.kind === 'incomplete') return;
    const { socket } = entry;
    if (result.kind === 'invalid') {
      this.reject(socket, 'invalid', result.reason);
      return;
    }
    this.release(entry);
    // Paused, so the bytes after the header wait for the caller's own 'data' listener.
    socket.pause();
    if (entry.bytes.length > result.length) socket.unshift(entry.bytes.subarray(result.length));
    const { source } = result.header;
    this.counts[source === undefined ? 'local' : 'proxied']++;
    if (log.enabled) {
      log('%s:%s: PROXY v%d %s', entry.peer.address, entry.peer.port, result.header.version, source === undefined ? 'without address' : `from ${source.address}:${source.port}`);
    }
    this.onHeader(socket, result.header, entry.peer);
  }

  /** Stops reading the header: the socket is the caller's (or gone). */
  private release(entry: Pending): void {
    const { socket } = entry;
    this.pending.delete(socket);
    this.clock.clearTimeout(entry.timer);
    socket.off('data', entry.onData);
    socket.off('end', entry.onGone);
    socket.off('error', entry.onGone);
    socket.off('close', entry.onGone);
  }

  /** Closes a socket without a reply, counted and logged. */
  private reject(socket: net.Socket, cause: 'invalid' | 'timedOut' | 'closed', reason: string): void {
    const entry = this.pending.get(socket);
    if (entry === undefined) return;
    this.release(entry);
    this.counts[cause]++;
    log('%s:%s: closed, %s', entry.peer.address, entry.peer.port, reason);
    // An 'error' after this must not crash the process.
    socket.on('error', noop);
    socket.destroy();
  }
}

function noop(): void {}
