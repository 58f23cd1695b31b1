/**
 * Shared helpers of the core's unit tests: a started core on a {@link ManualClock},
 * in-memory clients, a cursor over each client's raw output lines, and a wait for
 * registered clients.
 */
import type { ConnectionHandle, ManualClock, MemoryConnection, RouletteCore, RouletteOptions } from '../../src/index.js';
import { createHarness, inspectCore } from '../../src/testing/index.js';

/**
 * The core's unit-test fixture: the public test kit's harness ({@link createHarness}:
 * a core on a {@link ManualClock}, seeded pairing) plus shortcuts for registered and
 * paired in-memory clients.
 */
export interface Harness {
  readonly clock: ManualClock;
  readonly core: RouletteCore;
  /** A new in-memory connection, not registered. */
  open(): MemoryConnection;
  /** A new connection that sent `connect` with `uco` (and nonce 1); its ack is consumed. */
  client(uco: string): MemoryConnection;
  /** Two new clients, paired with each other (after `pairDelayMs`); their output so far is consumed. */
  pair(ucoA: string, ucoB: string): [MemoryConnection, MemoryConnection];
}

/** Core options of {@link harness}, and the seed of its pairing randomness. */
export type HarnessCoreOptions = Omit<RouletteOptions, 'clock' | 'random'> & { seed?: string | number };

/** Builds a harness with `options`, started unless `start` is false. */
export function harness(options: HarnessCoreOptions = {}, start = true): Harness {
  const { seed, ...coreOptions } = options;
  const kit = createHarness({ core: coreOptions, start, ...(seed === undefined ? {} : { seed }) });
  const { clock, core } = kit;
  return {
    clock,
    core,
    open: () => kit.connect(),
    client(uco) {
      const conn = kit.connect();
      conn.send({ cmd: 'connect', uco, nonce: 1 });
      fresh(conn);
      return conn;
    },
    pair(ucoA, ucoB) {
      const a = this.client(ucoA);
      const b = this.client(ucoB);
      clock.advance(core.options.pairDelayMs);
      if (core.client(ucoA)?.peer !== ucoB) throw new Error(`${ucoA} and ${ucoB} were not paired`);
      fresh(a);
      fresh(b);
      return [a, b];
    },
  };
}

const cursors = new WeakMap<MemoryConnection, number>();

/** The raw lines `conn` received since the previous call to `fresh` on it. */
export function fresh(conn: MemoryConnection): string[] {
  const from = cursors.get(conn) ?? 0;
  cursors.set(conn, conn.lines.length);
  return conn.lines.slice(from);
}

/** `{"exit":true,"reason":<reason>}` as the server writes it. */
export function exitLine(reason: string): string {
  return `{"exit":true,"reason":${JSON.stringify(reason)}}`;
}

/** `{"cmd":"pair","uco":<uco>}` as the server writes it. */
export function pairLine(uco: string): string {
  return `{"cmd":"pair","uco":${JSON.stringify(uco)}}`;
}

/** The ping line. */
export const PING = '{"cmd":"ping"}';

/** Answers the pings: sends `pong` from each connection. */
export function pong(...conns: MemoryConnection[]): void {
  for (const conn of conns) conn.send({ cmd: 'pong' });
}

/** True once the core closed (or is closing) the connection of `handle`: its input is ignored. */
export function isClosed(core: RouletteCore, handle: ConnectionHandle): boolean {
  return inspectCore(core).connections.find((c) => c.id === handle.id)?.state !== 'open';
}

/** Bytes the core holds for the unfinished input line of `handle`'s connection. */
export function inputBuffered(core: RouletteCore, handle: ConnectionHandle): number {
  return inspectCore(core).connections.find((c) => c.id === handle.id)?.inputBufferedBytes ?? 0;
}

/** The uco `conn` is registered under, read from the core (`undefined` before `connect`). */
export function ucoOf(core: RouletteCore, conn: MemoryConnection): string | undefined {
  return core.clients().find((c) => c.connectionId === conn.handle.id)?.uco;
}

/** The uco of `conn`'s current peer, read from the core. */
export function peerOf(core: RouletteCore, uco: string): string | undefined {
  return core.client(uco)?.peer;
}

/** Resolves once `core` has `count` registered clients (eventemitter3 has no `once()` helper). */
export function registered(core: RouletteCore, count: number): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (core.clients().length < count) return;
      core.off('registered', check);
      resolve();
    };
    core.on('registered', check);
    check();
  });
}
