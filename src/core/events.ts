/**
 * The typed events of {@link RouletteCore}: one map, one payload interface per event.
 *
 * @module
 */
import type { ErrorKind, ExitReason } from './messages.js';

/**
 * Why a client left the registry or a connection closed: an {@link ExitReason}
 * sent to the client, or one of the transport's own endings (no message sent).
 */
export type LeaveReason =
  | ExitReason
  /** The transport closed (end of stream) before the client exited. */
  | 'transport closed'
  /** The transport failed with an error. */
  | 'transport error'
  /** The connection re-registered under another uco on the same transport. */
  | 'reregistered';

/** Payload of `connectionOpened`. */
export interface ConnectionOpenedEvent {
  /** The new connection's id. */
  connectionId: number;
  /** The transport's remote address, when it has one. */
  remoteAddress: string | undefined;
}

/** Payload of `connectionClosed`. */
export interface ConnectionClosedEvent {
  /** The connection's id. */
  connectionId: number;
  /** The uco it was registered under when it closed, if any. */
  uco: string | undefined;
  /** Why it closed. */
  reason: LeaveReason;
  /** The transport's error, for `transport error`. */
  error: Error | undefined;
}

/** Payload of `registered`. */
export interface RegisteredEvent {
  /** The connection that sent `connect`. */
  connectionId: number;
  /** The sanitised uco. */
  uco: string;
  /** The sanitised session. */
  session: string;
  /** The sanitised nonce, as acknowledged. */
  nonce: string;
  /** True when the uco was registered on another connection, which was closed (`new session`). */
  takeover: boolean;
  /** True for a repeated `connect` with the same uco on the same connection (idempotent). */
  repeated: boolean;
}

/** Payload of `unregistered`. */
export interface UnregisteredEvent {
  /** The connection that held the uco. */
  connectionId: number;
  /** The uco that left the registry. */
  uco: string;
  /** Why. */
  reason: LeaveReason;
}

/**
 * How a pair was formed: at an epoch boundary, between epochs for free clients, or
 * chosen through {@link RouletteCore.pair}.
 */
export type PairKind = 'epoch' | 'immediate' | 'chosen';

/** Payload of `paired`. */
export interface PairedEvent {
  /** One side's uco. */
  a: string;
  /** The other side's uco. */
  b: string;
  /** At an epoch boundary, or between epochs for free clients. */
  kind: PairKind;
  /** The epoch number the pair belongs to (0 before the first epoch boundary). */
  epoch: number;
}

/** Why a pair ended: a new epoch, {@link RouletteCore.pair} choosing other peers, or a side leaving. */
export type UnpairReason = 'epoch' | 'repaired' | LeaveReason;

/** Payload of `unpaired`. */
export interface UnpairedEvent {
  /** One side's uco. */
  a: string;
  /** The other side's uco. */
  b: string;
  /** Why the pair ended: a new epoch, or why one side ({@link UnpairedEvent.a}) left. */
  reason: UnpairReason;
}

/** Payload of `relayed`. */
export interface RelayedEvent {
  /** Sender's uco. */
  from: string;
  /** Receiver's uco. */
  to: string;
  /** Bytes of the relayed line, without terminator. */
  bytes: number;
}

/** Payload of `protocolError`. */
export interface ProtocolErrorEvent {
  /** The connection that sent the faulty message. */
  connectionId: number;
  /** Its registered uco, if any. */
  uco: string | undefined;
  /** Which error reply it got. */
  kind: ErrorKind;
  /**
   * For `rate limited`: how many dropped lines the reply counts (one event per reply,
   * at most one per second per connection; `stats().errors` counts the lines).
   */
  dropped?: number;
}

/** Payload of `traffic`. */
export interface TrafficEvent {
  /** The connection the line went through. */
  connectionId: number;
  /** `in`: received from the client; `out`: written to it. */
  direction: 'in' | 'out';
  /**
   * The line, without terminator, decoded as UTF-8. A received line longer than
   * `maxLineBytes` is not kept: `line` is `""` and {@link TrafficEvent.tooLong} is set.
   */
  line: string;
  /** Set on a received line that exceeded `maxLineBytes`. */
  tooLong?: true;
}

/** Payload of `epochStarted`. */
export interface EpochStartedEvent {
  /** The epoch number, from 1. */
  epoch: number;
  /** Live registered clients at the boundary. */
  clients: number;
  /** Pairs formed. */
  pairs: number;
}

/**
 * The events of {@link RouletteCore}, for eventemitter3's `EventEmitter<RouletteEvents>`.
 *
 * @example
 * ```ts
 * core.on('paired', ({ a, b, kind }) => console.error(`Pairing ${a} <-> ${b} (${kind})`));
 * ```
 */
export interface RouletteEvents {
  /** A transport was attached with {@link RouletteCore.connect}. */
  connectionOpened: [event: ConnectionOpenedEvent];
  /** A connection closed: by the server (after an `exit`), or by its transport. */
  connectionClosed: [event: ConnectionClosedEvent];
  /** A connection registered a uco with `connect`. */
  registered: [event: RegisteredEvent];
  /** A uco left the registry (exit, timeout, close, takeover, re-registration). */
  unregistered: [event: UnregisteredEvent];
  /** Two clients were paired; each has been sent `pair`. */
  paired: [event: PairedEvent];
  /** A pair ended. No message is sent (PROTOCOL §6). */
  unpaired: [event: UnpairedEvent];
  /** A `comm` line was forwarded to the sender's peer. Emitted only when listened to. */
  relayed: [event: RelayedEvent];
  /** A client's message was refused with an error reply. */
  protocolError: [event: ProtocolErrorEvent];
  /**
   * Every line in and out, for transcripts and debugging. Emitted only while listened
   * to; costs a string per line then.
   */
  traffic: [event: TrafficEvent];
  /** A pairing epoch began and its pairs were formed. */
  epochStarted: [event: EpochStartedEvent];
}
