/**
 * The TCP server: every accepted socket is attached to the core with
 * {@link attachStream}. Also serves a `tls.Server` handed in by the caller.
 *
 * @module
 */
import net from 'node:net';
import tls from 'node:tls';
import createDebug from 'debug';
import type { RouletteCore } from '../core/core.js';
import { RouletteError } from '../core/errors.js';
import type { TimerHandle } from '../core/clock.js';
import type { ConnectionHandle } from '../core/transport.js';
import { attachStream, resolveStreamOptions, type StreamOptions } from './stream.js';
import { ProxyHeaderGate, resolveProxyProtocolOptions, type ProxyHeaderStats, type ProxyProtocolOptions, type SocketPeer } from './proxy-gate.js';
import type { ProxyHeader } from './proxy-protocol.js';

const log = createDebug('chat-roulette:tcp');

/** Defaults of {@link ListenOptions} (PROTOCOL §8). */
export const TCP_DEFAULTS = Object.freeze({
  /** Address to bind. */
  host: '0.0.0.0',
  /** Port to bind; `0` binds any free port. */
  port: 44_333,
});

/** Options of {@link createRouletteServer} and {@link RouletteServer}. */
export interface RouletteServerOptions extends Omit<StreamOptions, 'remoteAddress' | 'remoteHost'>, ProxyProtocolOptions {
  /**
   * The server to accept connections from, not yet listening. A `tls.Server` is
   * served on its `'secureConnection'` event, any other `net.Server` on `'connection'`.
   * @defaultValue a new `net.Server`
   */
  server?: net.Server;
}

/** Options of {@link listen}. */
export interface ListenOptions extends RouletteServerOptions {
  /**
   * Address to bind.
   * @defaultValue `"0.0.0.0"`
   */
  host?: string;
  /**
   * Port to bind; `0` binds any free port (see {@link RouletteServer.address}).
   * @defaultValue 44333
   */
  port?: number;
}

/** Options of {@link RouletteServer.close}. */
export interface CloseOptions {
  /**
   * After the shutdown notice, how long the connections have to flush and close on
   * their own, in ms (counted on the core's clock). The sockets still open then — a
   * client that keeps its socket open after the notice, one that never reads — are
   * destroyed and `close()` resolves. `Infinity` leaves each connection to its own
   * {@link StreamOptions.drainTimeoutMs}.
   * @defaultValue Infinity
   */
  graceMs?: number;
}

/** Where a {@link RouletteServer} listens. */
export interface ServerAddress {
  /** The bound address, e.g. `"0.0.0.0"` or `"127.0.0.1"`. */
  readonly host: string;
  /** The bound port: the real one when `0` was asked. */
  readonly port: number;
}

/**
 * A TCP (or TLS) server feeding a {@link RouletteCore}. Closing it closes only its
 * own connections: one core may serve several servers and adapters.
 *
 * @example
 * ```ts
 * const core = new RouletteCore();
 * core.start();
 * const server = await listen(core, { host: '127.0.0.1', port: 0 });
 * console.log(`listening on ${server.address().host}:${server.address().port}`);
 * // later
 * await server.close();
 * core.stop();
 * ```
 */
export class RouletteServer {
  /** The underlying server. */
  readonly server: net.Server;
  /** The core every connection is attached to. */
  readonly core: RouletteCore;
  private readonly sockets = new Map<net.Socket, ConnectionHandle>();
  /** A TLS server's raw sockets, handshake done or not: those not done are cut at close. */
  private readonly rawSockets = new Set<net.Socket>();
  private readonly streamOptions: StreamOptions;
  /** With `proxyProtocol`: holds new sockets until their PROXY header is read. */
  private readonly proxyGate: ProxyHeaderGate | undefined;
  private closing: Promise<void> | undefined;
  /** Resolves the wait for the last socket, while closing. */
  private onIdle: (() => void) | undefined;
  /** While closing with a finite grace: its timer and when it fires (core clock). */
  private grace: { timer: TimerHandle; at: number } | undefined;
  /** Every socket's `'close'` listener (`this` is the socket): one function per server, no closure per socket. */
  private readonly socketClosed: (this: net.Socket) => void;

  /**
   * Wraps `options.server` (or a new `net.Server`); call {@link RouletteServer.listen}
   * to start accepting, or {@link listen} to do both at once.
   *
   * @param core - the core every connection is attached to.
   * @param options - see {@link RouletteServerOptions}.
   * @throws {@link RouletteError} `ERR_INVALID_OPTION` for an invalid option, or for
   *   `proxyProtocol` with a `tls.Server`.
   */
  constructor(core: RouletteCore, options: RouletteServerOptions = {}) {
    this.core = core;
    const { server, ...streamOptions } = options;
    this.streamOptions = resolveStreamOptions(streamOptions);
    const headerTimeoutMs = resolveProxyProtocolOptions(options);
    if (headerTimeoutMs !== undefined && server instanceof tls.Server) {
      throw new RouletteError('ERR_INVALID_OPTION', 'option proxyProtocol is not supported with a tls.Server: terminate TLS at the balancer');
    }
    this.proxyGate = headerTimeoutMs === undefined ? undefined : new ProxyHeaderGate(core.clock, headerTimeoutMs, this.onProxyHeader.bind(this));
    this.server = server ?? net.createServer();
    if (this.server instanceof tls.Server) {
      this.server.on('secureConnection', this.onConnection.bind(this));
      this.server.on('connection', this.onRawConnection.bind(this));
    } else {
      this.server.on('connection', this.onConnection.bind(this));
    }
    this.server.on('error', this.onServerError.bind(this));
    const sockets = this.sockets;
    const checkIdle = this.checkIdle.bind(this);
    this.socketClosed = function (this: net.Socket): void {
      sockets.delete(this);
      checkIdle();
    };
  }

  /** Number of open sockets of this server (including ones still flushing after an exit). */
  get connections(): number {
    return this.sockets.size;
  }

  /**
   * With `proxyProtocol`: the counters of PROXY headers (connections waiting for
   * theirs, accepted, rejected by cause); `undefined` without it.
   */
  proxyHeaderStats(): ProxyHeaderStats | undefined {
    return this.proxyGate?.stats();
  }

  /**
   * The bound address and port.
   *
   * @throws {@link RouletteError} `ERR_INVALID_STATE` when the server is not listening.
   */
  address(): ServerAddress {
    const address = this.server.address();
    if (address === null || typeof address === 'string') {
      throw new RouletteError('ERR_INVALID_STATE', 'the server is not listening on a TCP address');
    }
    return { host: address.address, port: address.port };
  }

  /**
   * Starts listening.
   *
   * @param port - port to bind; `0` binds any free port.
   * @param host - address to bind.
   * @returns a promise resolved once listening, rejected with the listen error
   *   (`EADDRINUSE`, `EACCES`, …).
   */
  listen(port: number = TCP_DEFAULTS.port, host: string = TCP_DEFAULTS.host): Promise<this> {
    const server = this.server;
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => {
        server.off('listening', onListening);
        reject(error);
      };
      const onListening = (): void => {
        server.off('error', onError);
        log('listening on %s:%d', this.address().host, this.address().port);
        resolve(this);
      };
      server.once('error', onError);
      server.once('listening', onListening);
      server.listen(port, host);
    });
  }

  /**
   * Stops accepting, sends `{"exit":true,"reason":"server shutdown"}` to every
   * connection of this server (PROTOCOL §7) and closes them. Resolves when every
   * socket has closed: flushed and closed by the client, or destroyed once
   * `options.graceMs` (else its drain timeout) has passed. Does not stop the core.
   *
   * Calling it again returns the same promise; a `graceMs` that ends sooner than the
   * current one shortens the grace (`close({ graceMs: 0 })` destroys what is left now).
   *
   * @param options - see {@link CloseOptions}.
   * @throws {@link RouletteError} `ERR_INVALID_OPTION` for an invalid `graceMs`.
   *
   * @example Stop within 2 s, whatever the clients do
   * ```ts
   * await server.close({ graceMs: 2_000 });
   * core.stop();
   * ```
   */
  close(options: CloseOptions = {}): Promise<void> {
    const { graceMs = Infinity } = options;
    if (typeof graceMs !== 'number' || !(graceMs === Infinity || (Number.isSafeInteger(graceMs) && graceMs >= 0))) {
      throw new RouletteError('ERR_INVALID_OPTION', `option graceMs must be an integer >= 0 or Infinity, got ${String(graceMs)}`);
    }
    this.closing ??= this.beginClose();
    this.shortenGrace(graceMs);
    return this.closing;
  }

  private beginClose(): Promise<void> {
    // The server's callback may run before the sockets' own 'close' events: wait for both.
    const serverClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const socketsClosed = new Promise<void>((resolve) => {
      this.onIdle = resolve;
    });
    // Once the connections are gone, what is left of a TLS server's raw sockets never
    // finished its handshake: nothing to tell them, and server.close() waits for them.
    const handshakesCut = socketsClosed.then(() => {
      for (const raw of this.rawSockets) raw.destroy();
    });
    const closing = Promise.all([serverClosed, handshakesCut]).then(() => {
      if (this.grace !== undefined) this.core.clock.clearTimeout(this.grace.timer);
      this.grace = undefined;
      log('closed');
    });
    log('closing: %d connections', this.sockets.size);
    // Connections that have not sent their PROXY header yet get no notice.
    this.proxyGate?.destroyAll();
    // PROTOCOL §7: the exit notice, a flush, then the end of each connection.
    for (const handle of [...this.sockets.values()]) this.core.disconnect(handle, 'server shutdown');
    this.checkIdle();
    return closing;
  }

  /** Ends the grace `graceMs` from now, unless it already ends sooner (or is over). */
  private shortenGrace(graceMs: number): void {
    if (graceMs === Infinity || (this.sockets.size === 0 && this.onIdle === undefined)) return;
    const clock = this.core.clock;
    const at = clock.now() + graceMs;
    if (this.grace !== undefined) {
      if (this.grace.at <= at) return;
      clock.clearTimeout(this.grace.timer);
    }
    this.grace = { timer: clock.setTimeout(this.endGrace.bind(this), graceMs), at };
  }

  /** The grace is over: destroys every socket still open. */
  private endGrace(): void {
    this.grace = undefined;
    if (this.sockets.size > 0) log('grace over: destroying %d connections', this.sockets.size);
    for (const socket of [...this.sockets.keys()]) socket.destroy();
    for (const raw of this.rawSockets) raw.destroy();
  }

  private onConnection(socket: net.Socket): void {
    if (this.proxyGate === undefined) this.attach(socket, this.streamOptions);
    else this.proxyGate.admit(socket);
  }

  /** The PROXY header is read: the client's address is the connection's (the socket's when it has none). */
  private onProxyHeader(socket: net.Socket, { source }: ProxyHeader, peer: SocketPeer): void {
    const client = source ?? peer;
    if (client.address === undefined) this.attach(socket, this.streamOptions);
    else this.attach(socket, { ...this.streamOptions, remoteAddress: `${client.address}:${client.port ?? '?'}`, remoteHost: client.address });
    socket.resume();
  }

  private attach(socket: net.Socket, streamOptions: StreamOptions): void {
    socket.setNoDelay(true);
    const handle = attachStream(this.core, socket, streamOptions);
    if (socket.destroyed) return;
    this.sockets.set(socket, handle);
    socket.on('close', this.socketClosed);
    // A connection accepted while closing is told at once.
    if (this.closing !== undefined) this.core.disconnect(handle, 'server shutdown');
  }

  private onRawConnection(raw: net.Socket): void {
    this.rawSockets.add(raw);
    raw.once('close', () => this.rawSockets.delete(raw));
  }

  private checkIdle(): void {
    if (this.sockets.size > 0 || this.onIdle === undefined) return;
    this.onIdle();
    this.onIdle = undefined;
  }

  private onServerError(error: Error): void {
    // Listen errors also reject listen(); accept errors (EMFILE, …) are only logged.
    log('server error: %s', error.message);
  }
}

/**
 * Wraps a server for `core` without listening yet: the lower level of {@link listen}.
 * Pass a `tls.Server` as `options.server` to serve TLS with the same per-socket
 * adapter.
 *
 * @example TLS
 * ```ts
 * import tls from 'node:tls';
 * const server = createRouletteServer(core, { server: tls.createServer({ key, cert }) });
 * await server.listen(44334, '0.0.0.0');
 * ```
 */
export function createRouletteServer(core: RouletteCore, options: RouletteServerOptions = {}): RouletteServer {
  return new RouletteServer(core, options);
}

/**
 * Starts a TCP server for `core` (PROTOCOL §8 defaults: `0.0.0.0:44333`). The core
 * is not started for you: call `core.start()` for pairing and pings.
 *
 * @param core - the core every connection is attached to.
 * @param options - see {@link ListenOptions}.
 * @returns the listening server; rejects with the listen error (`EADDRINUSE`, `EACCES`, …).
 *
 * @example
 * ```ts
 * import { RouletteCore, listen } from 'chat-roulette';
 *
 * const core = new RouletteCore();
 * core.start();
 * const server = await listen(core, { port: 0, host: '127.0.0.1' });
 * const { port } = server.address();
 * ```
 */
export async function listen(core: RouletteCore, options: ListenOptions = {}): Promise<RouletteServer> {
  const { host = TCP_DEFAULTS.host, port = TCP_DEFAULTS.port, ...serverOptions } = options;
  return new RouletteServer(core, serverOptions).listen(port, host);
}
