/**
 * The registry: every open connection, and the uco → connection map (PROTOCOL §2–3).
 *
 * @module
 */
import type { Connection } from './connection.js';

/** Open connections and registered ucos. Pure bookkeeping: no I/O, no events. */
export class Registry {
  /** Every connection not yet closed, by id. */
  readonly connections = new Map<number, Connection>();
  /** Registered clients by uco. */
  readonly clients = new Map<string, Connection>();
  /** Open connections per remote address (`maxConnectionsPerAddress`). */
  private readonly perAddress = new Map<string, number>();

  /** Adds an open connection. Returns how many open connections its address now has. */
  open(conn: Connection): number {
    this.connections.set(conn.id, conn);
    const key = conn.addressKey;
    if (key === undefined) return 0;
    const count = (this.perAddress.get(key) ?? 0) + 1;
    this.perAddress.set(key, count);
    return count;
  }

  /** Forgets a connection, and its uco if it held one. */
  close(conn: Connection): void {
    if (this.connections.delete(conn.id) && conn.addressKey !== undefined) {
      const count = (this.perAddress.get(conn.addressKey) ?? 1) - 1;
      if (count <= 0) this.perAddress.delete(conn.addressKey);
      else this.perAddress.set(conn.addressKey, count);
    }
    this.unregister(conn);
  }

  /** Open connections from `address` (a {@link Connection.addressKey}). */
  connectionsFrom(address: string): number {
    return this.perAddress.get(address) ?? 0;
  }

  /** Number of distinct remote addresses with an open connection. */
  get addresses(): number {
    return this.perAddress.size;
  }

  /** The connection registered under `uco`. */
  lookup(uco: string): Connection | undefined {
    return this.clients.get(uco);
  }

  /** Registers `conn` under `uco` (the caller has dealt with any previous holder). */
  register(conn: Connection, uco: string, session: string): void {
    conn.uco = uco;
    conn.session = session;
    this.clients.set(uco, conn);
  }

  /** Removes `conn`'s registration, if it has one. Returns the uco it held. */
  unregister(conn: Connection): string | undefined {
    const uco = conn.uco;
    if (uco === undefined) return undefined;
    if (this.clients.get(uco) === conn) this.clients.delete(uco);
    conn.uco = undefined;
    return uco;
  }

  /** Number of registered clients. */
  get size(): number {
    return this.clients.size;
  }
}
