/**
 * Human-readable log lines on stderr (PROTOCOL §9), fed by the core's typed events:
 * `2026-11-28T03:00:00.000Z INFO Pairing 67 <-> 220`.
 *
 * @module
 */
import type {
  ConnectionClosedEvent,
  ConnectionOpenedEvent,
  EpochStartedEvent,
  LeaveReason,
  PairedEvent,
  ProtocolErrorEvent,
  RegisteredEvent,
  RouletteCore,
  RouletteEvents,
  UnregisteredEvent,
} from '../index.js';

/** Severity of a log line. `--quiet` drops `INFO`. */
export type LogLevel = 'INFO' | 'WARN' | 'ERROR';

/** Writes one log line per call. */
export interface Logger {
  /** Normal activity: connections, registrations, pairings, epochs. */
  info(message: string): void;
  /** Something unusual that does not stop the server. */
  warn(message: string): void;
  /** A failure; written even with `quiet`. */
  error(message: string): void;
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Receives each line, newline included. */
  write: (line: string) => void;
  /** Drop `INFO` lines. @defaultValue false */
  quiet?: boolean;
  /** Timestamp source. @defaultValue `() => new Date()` */
  now?: () => Date;
}

/** A {@link Logger} that writes `<ISO time> <LEVEL> <message>` lines. */
export function createLogger(options: LoggerOptions): Logger {
  const { write, quiet = false, now = () => new Date() } = options;
  const line = (level: LogLevel, message: string): void => write(`${now().toISOString()} ${level} ${message}\n`);
  return {
    info: (message) => {
      if (!quiet) line('INFO', message);
    },
    warn: (message) => line('WARN', message),
    error: (message) => line('ERROR', message),
  };
}

/** `1 pair`, `2 pairs`. */
function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/**
 * Why a client left, in words a teacher reads without the protocol at hand; the
 * log line keeps the wire reason in parentheses after it.
 */
const LEAVE_REASONS: Readonly<Record<LeaveReason, string>> = Object.freeze({
  'new session': 'it connected again on another connection',
  'client exit': 'it sent exit',
  timeout: 'it stopped answering pings',
  'register timeout': 'it sent no connect in time',
  'server full': 'the server is full',
  'server shutdown': 'the server is shutting down',
  'slow consumer': 'it did not read its messages fast enough',
  'protocol error': 'it sent a line that is not a JSON object (strict mode)',
  unauthorized: 'the authorize hook refused it',
  'too many connections': 'too many connections come from its address',
  flood: 'it sent too much while its connect awaited authorisation',
  unavailable: 'the matchmaker could not decide its connect',
  'transport closed': 'it closed its connection',
  'transport error': 'its connection failed',
  reregistered: 'its connection registered under another uco',
});

/** `it stopped answering pings (timeout)`. */
function why(reason: LeaveReason): string {
  return `${LEAVE_REASONS[reason]} (${reason})`;
}

/**
 * Logs the core's activity, one sentence per line naming the client's uco once it has
 * one: connections, registrations, pairings, removals with their reason, refused
 * messages and epochs. Epochs with no client are logged once per idle stretch, not
 * at every boundary. Returns a function that unsubscribes.
 */
export function logCoreEvents(core: RouletteCore, log: Logger): () => void {
  /** Remote addresses of the connections not yet closed, for the lines about them. */
  const addresses = new Map<number, string>();
  let idle = false;
  const onOpened = ({ connectionId, remoteAddress }: ConnectionOpenedEvent): void => {
    const from = remoteAddress ?? 'unknown address';
    addresses.set(connectionId, from);
    log.info(`Client connected from ${from} (connection ${connectionId})`);
  };
  const onRegistered = ({ connectionId, uco, takeover, repeated }: RegisteredEvent): void => {
    if (repeated) log.info(`Registered ${uco} again on the same connection (connection ${connectionId})`);
    else if (takeover) log.info(`Registered ${uco} (connection ${connectionId}), replacing its older session`);
    else log.info(`Registered ${uco} (connection ${connectionId})`);
  };
  // PROTOCOL §9: the old server's `Pairing 67 <-> 220`, which teachers know.
  const onPaired = ({ a, b }: PairedEvent): void => log.info(`Pairing ${a} <-> ${b}`);
  const onUnregistered = ({ connectionId, uco, reason }: UnregisteredEvent): void => {
    log.info(`Removed ${uco} (connection ${connectionId}): ${why(reason)}`);
  };
  const onClosed = ({ connectionId, uco, reason, error }: ConnectionClosedEvent): void => {
    const from = addresses.get(connectionId) ?? 'unknown address';
    addresses.delete(connectionId);
    if (error !== undefined) {
      const who = uco === undefined ? `Connection ${connectionId} from ${from}` : `The connection of ${uco} (connection ${connectionId})`;
      log.warn(`${who} failed: ${error.message}`);
    } else if (uco === undefined) {
      // A registered client's removal was already logged by `unregistered`.
      log.info(`Connection ${connectionId} from ${from} closed before registering: ${why(reason)}`);
    }
  };
  const onRefused = ({ connectionId, uco, kind }: ProtocolErrorEvent): void => {
    log.info(`Refused a message from ${uco ?? `connection ${connectionId}`}: ${kind}`);
  };
  const onEpoch = ({ epoch, clients, pairs }: EpochStartedEvent): void => {
    if (clients > 0) log.info(`Epoch ${epoch} started: ${count(clients, 'client')}, ${count(pairs, 'pair')}`);
    else if (!idle) log.info(`Epoch ${epoch} started with no clients; the next empty epochs are not logged`);
    idle = clients === 0;
  };
  const unsubscribe = [
    subscribe(core, 'connectionOpened', onOpened),
    subscribe(core, 'registered', onRegistered),
    subscribe(core, 'paired', onPaired),
    subscribe(core, 'unregistered', onUnregistered),
    subscribe(core, 'connectionClosed', onClosed),
    subscribe(core, 'protocolError', onRefused),
    subscribe(core, 'epochStarted', onEpoch),
  ];
  return () => {
    for (const off of unsubscribe) off();
  };
}

/** Listens to one event of `core`; returns the function that stops listening. */
function subscribe<E extends keyof RouletteEvents>(core: RouletteCore, event: E, listener: (...args: RouletteEvents[E]) => void): () => void {
  core.on(event, listener);
  return () => core.off(event, listener);
}
