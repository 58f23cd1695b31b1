/**
 * `chat-roulette start` (PROTOCOL §9): runs a {@link RouletteCore} behind a TCP
 * server until SIGINT or SIGTERM.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import tls from 'node:tls';
import { listen, RouletteCore, seededRandom, type RouletteServer } from '../../index.js';
import { parseStartArgs, startUsage, type StartOptions } from '../args.js';
import { EXIT, type CliIo, type Command } from '../command.js';
import { createLogger, logCoreEvents, type Logger } from '../log.js';

/** A graceful stop that takes longer than this is cut short (exit code 1). */
export const SHUTDOWN_TIMEOUT_MS = 5_000;

/** The signals that stop the server gracefully (PROTOCOL §9). */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** A stop signal's name. */
type StopSignal = (typeof STOP_SIGNALS)[number];

/**
 * Parses the flags, then serves until a stop signal. Exit codes: 0 after a graceful
 * stop or `--help`, 1 when listening fails or the stop times out, 2 for a bad flag.
 */
async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseStartArgs(argv);
  switch (args.kind) {
    case 'help':
      io.out(startUsage());
      return EXIT.ok;
    case 'usage-error':
      io.err(`chat-roulette start: ${args.message}\n${startUsage()}`);
      return EXIT.usage;
    case 'run':
      return serve(args.options, io);
  }
}

/** Listens, prints `listening on <host>:<port>` to stdout, and serves until a stop signal. */
async function serve(options: StartOptions, io: CliIo): Promise<number> {
  const log = createLogger({ write: io.err, quiet: options.quiet });
  const stopSignal = waitForStopSignal(log);
  const core = new RouletteCore({
    ...options.core,
    ...(options.seed === undefined ? {} : { random: seededRandom(options.seed) }),
  });
  const unsubscribe = logCoreEvents(core, log);
  try {
    const server = await openServer(core, options, log);
    if (server === undefined) return EXIT.failure;
    core.start();
    const stats = options.statsIntervalMs > 0 ? setInterval(printStats, options.statsIntervalMs, core, io) : undefined;
    const { host, port } = server.address();
    // PROTOCOL §9: the only line ever written to stdout.
    io.out(`listening on ${host}:${port}\n`);
    if (options.tls !== undefined) log.info('Serving TLS');

    const signal = await stopSignal.received;
    log.info(`Received ${signal}, shutting down`);
    const timer = setTimeout(() => {
      log.error(`shutdown did not finish within ${SHUTDOWN_TIMEOUT_MS} ms, exiting anyway`);
      process.exit(EXIT.failure);
    }, SHUTDOWN_TIMEOUT_MS);
    // PROTOCOL §7: every connection gets `server shutdown`, then is flushed and closed.
    const closed = server.close();
    core.stop();
    await closed;
    clearTimeout(timer);
    clearInterval(stats);
    log.info('Server stopped');
    return EXIT.ok;
  } finally {
    stopSignal.cancel();
    unsubscribe();
  }
}

/** The TCP (or TLS) server, listening; `undefined` after logging why it could not be. */
async function openServer(core: RouletteCore, options: StartOptions, log: Logger): Promise<RouletteServer | undefined> {
  let tlsServer: tls.Server | undefined;
  if (options.tls !== undefined) {
    try {
      const [cert, key] = await Promise.all([readFile(options.tls.cert), readFile(options.tls.key)]);
      tlsServer = tls.createServer({ cert, key });
    } catch (error) {
      log.error(`cannot use the TLS certificate and key: ${describeError(error)}`);
      return undefined;
    }
  }
  try {
    return await listen(core, {
      host: options.host,
      port: options.port,
      ...(tlsServer === undefined ? {} : { server: tlsServer }),
    });
  } catch (error) {
    log.error(`cannot listen on ${options.host}:${options.port}: ${describeError(error)}`);
    return undefined;
  }
}

/** The first stop signal; a second one during the shutdown exits at once with code 1. */
interface StopSignalWaiter {
  /** Resolves with the first signal received. */
  readonly received: Promise<StopSignal>;
  /** Removes the signal handlers. */
  cancel(): void;
}

function waitForStopSignal(log: Logger): StopSignalWaiter {
  let resolve: (signal: StopSignal) => void = () => undefined;
  const received = new Promise<StopSignal>((res) => {
    resolve = res;
  });
  let count = 0;
  const onSignal = (signal: StopSignal): void => {
    count++;
    if (count === 1) {
      resolve(signal);
      return;
    }
    log.error(`Received ${signal} again, exiting without waiting`);
    process.exit(EXIT.failure);
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  return {
    received,
    cancel: () => {
      for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
    },
  };
}

/**
 * `--stats-interval`: one summary line of `core.stats()` on stderr, `--quiet` or not
 * (it was asked for): `<ISO time> STATS clients=… pairs=… relayed=… errors=…`.
 */
function printStats(core: RouletteCore, io: CliIo): void {
  const s = core.stats();
  const errors = Object.values(s.errors).reduce((sum, n) => sum + n, 0);
  io.err(
    `${new Date().toISOString()} STATS connections=${s.connections} clients=${s.clients} pairs=${s.pairs} ` +
      `epochs=${s.epochs} relayed=${s.relayedMessages} relayedBytes=${s.relayedBytes} errors=${errors}\n`,
  );
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  return code === undefined || error.message.includes(code) ? error.message : `${error.message} (${code})`;
}

/** `chat-roulette start`. */
const start: Command = {
  summary: 'run the server over TCP (see start --help)',
  run,
};

export default start;
