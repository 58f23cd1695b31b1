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

  /** Adds an open connection. */
  open(conn: Connection): void {
    this.connections.set(conn.id, conn);
  }

  /** Forgets a connection, and its uco if it held one. */
  close(conn: Connection): void {
    this.connections.delete(conn.id);
    this.unregister(conn);
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
