/**
 * The open connections of one engine, by id, and how many each remote address holds
 * (`maxConnectionsPerAddress`). Which uco each client registered is the matchmaker's
 * business (src/core/matchmaking/).
 *
 * @module
 */
import type { Connection } from './connection.js';

/** Open connections. Pure bookkeeping: no I/O, no events. */
export class Registry {
  /** Every connection not yet closed, by id. */
  private readonly byId = new Map<number, Connection>();
  /** Open connections per remote address. */
  private readonly perAddress = new Map<string, number>();

  /** Adds an open connection. Returns how many open connections its address now has. */
  open(conn: Connection): number {
    this.byId.set(conn.id, conn);
    const key = conn.addressKey;
    if (key === undefined) return 0;
    const count = (this.perAddress.get(key) ?? 0) + 1;
    this.perAddress.set(key, count);
    return count;
  }

  /** Forgets a connection. */
  close(conn: Connection): void {
    if (!this.byId.delete(conn.id) || conn.addressKey === undefined) return;
    const count = (this.perAddress.get(conn.addressKey) ?? 1) - 1;
    if (count <= 0) this.perAddress.delete(conn.addressKey);
    else this.perAddress.set(conn.addressKey, count);
  }

  /** The open connection with this id. */
  get(id: number): Connection | undefined {
    return this.byId.get(id);
  }

  /** Every open connection, in the order they opened. */
  all(): IterableIterator<Connection> {
    return this.byId.values();
  }

  /** Number of open connections. */
  get size(): number {
    return this.byId.size;
  }
}
