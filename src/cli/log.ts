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
 * Logs the core's activity: connections, registrations, pairings, removals with
 * their reason, refused messages and epochs. Returns a function that unsubscribes.
 */
export function logCoreEvents(core: RouletteCore, log: Logger): () => void {
  const onOpened = ({ connectionId, remoteAddress }: ConnectionOpenedEvent): void => {
    log.info(`Client connected from ${remoteAddress ?? 'unknown address'} (connection ${connectionId})`);
  };
  const onRegistered = ({ connectionId, uco, takeover, repeated }: RegisteredEvent): void => {
    if (repeated) log.info(`Registered ${uco} again (connection ${connectionId})`);
    else if (takeover) log.info(`Registered ${uco} (connection ${connectionId}), replacing its older session`);
    else log.info(`Registered ${uco} (connection ${connectionId})`);
  };
  const onPaired = ({ a, b }: PairedEvent): void => log.info(`Pairing ${a} <-> ${b}`);
  const onUnregistered = ({ uco, reason }: UnregisteredEvent): void => log.info(`Removed ${uco}: ${reason}`);
  const onClosed = ({ connectionId, uco, reason, error }: ConnectionClosedEvent): void => {
    const who = uco === undefined ? `Connection ${connectionId}` : `Connection ${connectionId} (${uco})`;
    if (error !== undefined) log.warn(`${who} failed: ${error.message}`);
    // A registered client's removal was already logged by `unregistered`.
    else if (uco === undefined) log.info(`${who} closed: ${reason}`);
  };
  const onRefused = ({ connectionId, uco, kind }: ProtocolErrorEvent): void => {
    log.info(`Refused a message from ${uco ?? `connection ${connectionId}`}: ${kind}`);
  };
  const onEpoch = ({ epoch, clients, pairs }: EpochStartedEvent): void => {
    log.info(`Epoch ${epoch} started: ${count(clients, 'client')}, ${count(pairs, 'pair')}`);
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
