/**
 * A small round-robin TCP balancer, enough for one machine: each accepted connection is
 * piped both ways (with backpressure) to the next node that accepts a connection; a node
 * that refuses, or is down, is skipped. Half-closes are forwarded; an error or reset on
 * one side destroys the other.
 *
 * @module
 */
import { once } from 'node:events';
import net from 'node:net';

/** A node's address, or `undefined` while it is down. */
export type Backend = { readonly host: string; readonly port: number } | undefined;

/** The balancer: a listening `net.Server` and the connections it pipes. */
export class Balancer {
  readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private next = 0;

  /** `backends()` is read for every connection, so a node that goes down or comes back is seen at once. */
  constructor(private readonly backends: () => readonly Backend[]) {
    this.server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => this.accept(client));
  }

  /** Listens on `host:port` (0: any free port) and resolves with the real address. */
  async listen(host: string, port: number): Promise<{ host: string; port: number }> {
    this.server.listen(port, host);
    await Promise.race([
      once(this.server, 'listening'),
      once(this.server, 'error').then(([error]) => Promise.reject(error as Error)),
    ]);
    const address = this.server.address() as net.AddressInfo;
    return { host: address.address, port: address.port };
  }

  /** Stops accepting connections; those already piped go on. */
  stopListening(): void {
    if (this.server.listening) this.server.close();
  }

  /** Destroys every connection still open (both sides). */
  destroyAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  /** How many sockets (client and node sides) are open. */
  get openSockets(): number {
    return this.sockets.size;
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
  }

  private accept(client: net.Socket): void {
    this.track(client);
    client.on('error', () => undefined);
    const backends = this.backends();
    this.tryNode(client, backends, backends.length);
  }

  /** Connects `client` to the next backend, skipping the down ones and those that refuse; `left` bounds the tries. */
  private tryNode(client: net.Socket, backends: readonly Backend[], left: number): void {
    if (client.destroyed) return;
    let backend: Backend;
    while (left > 0 && backend === undefined) {
      backend = backends[this.next++ % backends.length];
      left--;
    }
    if (backend === undefined) {
      client.destroy();
      return;
    }
    const upstream = net.connect({ host: backend.host, port: backend.port, allowHalfOpen: true });
    this.track(upstream);
    const refused = (): void => this.tryNode(client, backends, left);
    upstream.once('error', refused);
    upstream.once('connect', () => {
      upstream.off('error', refused);
      this.pipe(client, upstream);
    });
  }

  /** Pipes both ways: `pipe` forwards data with backpressure and each end (FIN); an error or reset destroys both. */
  private pipe(client: net.Socket, upstream: net.Socket): void {
    upstream.on('error', () => undefined);
    for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
      a.on('close', (hadError) => {
        if (hadError) b.destroy();
        else if (!b.writableEnded) b.end();
      });
    }
    if (client.destroyed) {
      upstream.destroy();
      return;
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  }
}
