/**
 * A small round-robin TCP balancer, enough for one machine: each accepted connection is
 * piped both ways (with backpressure) to the next node that accepts a connection; a node
 * that refuses, or is down, is skipped. Half-closes are forwarded; an error or reset on
 * one side destroys the other. With `proxyProtocol`, the first bytes each node gets are a
 * PROXY v1 header with the client's address (the nodes run `--proxy-protocol`).
 *
 * @module
 */
import { once } from 'node:events';
import net from 'node:net';
import { formatProxyHeaderV1, type ProxyEndpoint } from 'chat-roulette';

/** A node's address, or `undefined` while it is down. */
export type Backend = { readonly host: string; readonly port: number } | undefined;

/** The balancer: a listening `net.Server` and the connections it pipes. */
export class Balancer {
  readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private next = 0;

  /**
   * `backends()` is read for every connection, so a node that goes down or comes back is
   * seen at once. With `proxyProtocol`, each node connection begins with a PROXY v1 header.
   */
  constructor(
    private readonly backends: () => readonly Backend[],
    private readonly proxyProtocol = false,
  ) {
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
    // Read on accept: a client that is gone by the time a node accepts has no address any more.
    const header = this.proxyProtocol ? proxyHeader(client) : undefined;
    if (header === null) {
      client.destroy();
      return;
    }
    const backends = this.backends();
    this.tryNode(client, header, backends, backends.length);
  }

  /** Connects `client` to the next backend, skipping the down ones and those that refuse; `left` bounds the tries. */
  private tryNode(client: net.Socket, header: string | undefined, backends: readonly Backend[], left: number): void {
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
    const refused = (): void => this.tryNode(client, header, backends, left);
    upstream.once('error', refused);
    upstream.once('connect', () => {
      upstream.off('error', refused);
      // PROXY header first: written before the client's bytes, which flow once piped.
      if (header !== undefined) upstream.write(header, 'latin1');
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

/**
 * The PROXY v1 header of `client`'s connection (its remote end, then ours), or `null` when
 * the client is gone already. Should the writer refuse an address, the header is
 * `UNKNOWN`: the node then sees the balancer's address.
 */
function proxyHeader(client: net.Socket): string | null {
  const source = endpoint(client.remoteAddress, client.remotePort, client.remoteFamily);
  const destination = endpoint(client.localAddress, client.localPort, client.localFamily);
  if (source === undefined || destination === undefined) return null;
  try {
    return formatProxyHeaderV1({ source, destination });
  } catch {
    return formatProxyHeaderV1({ source: undefined, destination: undefined });
  }
}

function endpoint(address: string | undefined, port: number | undefined, family: string | undefined): ProxyEndpoint | undefined {
  if (address === undefined || port === undefined || (family !== 'IPv4' && family !== 'IPv6')) return undefined;
  return { address, port, family };
}
