/**
 * `chat-roulette start` (PROTOCOL §9): runs a {@link RouletteCore} behind a TCP
 * server until SIGINT or SIGTERM.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import tls from 'node:tls';
import { listen, RouletteCore, seededRandom, type RouletteServer } from '../../index.js';
import { bindRefusal, CONSOLE_TOKEN_ENV } from '../../console/auth.js';
import { parseStartArgs, startUsage, type StartOptions } from '../args.js';
import { loadClusterNode, type ClusterNode } from '../cluster.js';
import { EXIT, type CliIo, type Command } from '../command.js';
import { startConsoleServer, startReferencePeer, type ConsoleServer, type InProcessPeer } from '../console.js';
import { createLogger, logCoreEvents, type Logger } from '../log.js';

/**
 * A stop still not done this long after the grace (`--shutdown-grace-ms`) has ended
 * — every socket destroyed by then — is a real failure: exit at once with code 1.
 */
export const SHUTDOWN_MARGIN_MS = 1_000;

/** The signals that stop the server gracefully (PROTOCOL §9). */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** A stop signal's name. */
type StopSignal = (typeof STOP_SIGNALS)[number];

/**
 * Parses the flags, then serves until a stop signal. Exit codes: 0 after a graceful
 * stop (connections still open after the grace are cut) or `--help`, 1 when
 * listening fails or the stop hangs past the grace, 2 for a bad flag.
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

/** How long a clustered node waits for Redis at start before giving up (exit 1). */
export const CLUSTER_START_MS = 10_000;

/**
 * Listens, prints `listening on <host>:<port>` to stdout (then, with `--http`,
 * `console on http://<host>:<port>/`), and serves until a stop signal.
 */
async function serve(options: StartOptions, io: CliIo): Promise<number> {
  // The console shows student ids: without a token, loopback only (unless --http-public).
  const token = options.console === undefined ? undefined : (options.console.token ?? nonEmpty(process.env[CONSOLE_TOKEN_ENV]));
  if (options.console !== undefined) {
    const refusal = bindRefusal(options.console.host, { token, publicAccess: options.console.publicAccess });
    if (refusal !== undefined) {
      io.err(`chat-roulette start: ${refusal}\n`);
      return EXIT.usage;
    }
  }
  const log = createLogger({ write: io.err, quiet: options.quiet });
  let cluster: ClusterNode | undefined;
  if (options.cluster !== undefined) {
    const loaded = await loadClusterNode(options.cluster);
    if (typeof loaded === 'string') {
      io.err(`chat-roulette start: ${loaded}\n`);
      return EXIT.usage;
    }
    cluster = loaded;
  }
  const stopSignal = waitForStopSignal();
  const core = new RouletteCore({
    ...options.core,
    ...(options.seed === undefined ? {} : { random: seededRandom(options.seed) }),
    ...(cluster === undefined ? {} : { cluster }),
  });
  const unsubscribe = logCoreEvents(core, log);
  try {
    const server = await openServer(core, options, log);
    if (server === undefined) return EXIT.failure;
    core.start();
    if (cluster !== undefined && options.cluster !== undefined) {
      const joined = await joinCluster(cluster, options.cluster.url, log);
      if (!joined) {
        await server.close({ graceMs: 0 });
        core.stop();
        await cluster.closed();
        return EXIT.failure;
      }
    }
    const lab = await openLab(core, options, token, log);
    if (typeof lab === 'string') {
      log.error(lab);
      core.stop();
      await server.close({ graceMs: 0 });
      await cluster?.closed();
      return EXIT.failure;
    }
    const stats = options.statsIntervalMs > 0 ? setInterval(printStats, options.statsIntervalMs, core, io) : undefined;
    const { host, port } = server.address();
    // PROTOCOL §9: the first line of stdout; `console on` is the only other one (opt-in).
    io.out(`listening on ${host}:${port}\n`);
    if (lab.console !== undefined) io.out(`console on ${lab.console.url}\n`);
    if (options.tls !== undefined) log.info('Serving TLS');
    if (options.proxyProtocol) log.info('Expecting a PROXY protocol header on every connection (--proxy-protocol)');

    const signal = await stopSignal.received;
    // /healthz answers 503 from now on; the reference peer leaves first (its round log is flushed).
    lab.console?.shutdown();
    await lab.peer?.close();
    const graceMs = options.shutdownGraceMs;
    log.info(`Received ${signal}: telling ${count(server.connections, 'connection')} the server shuts down, waiting up to ${graceMs} ms for them to close`);
    const limitMs = graceMs + SHUTDOWN_MARGIN_MS;
    const timer = setTimeout(() => {
      log.error(`The shutdown did not finish within ${limitMs} ms; exiting anyway`);
      process.exit(EXIT.failure);
    }, limitMs);
    // PROTOCOL §7: every connection gets `server shutdown`, is flushed and closed; the
    // ones still open after the grace are cut.
    const closed = server.close({ graceMs });
    // A second signal cuts the grace short.
    stopSignal.onRepeat((again) => {
      log.info(`Received ${again} again: closing the remaining ${count(server.connections, 'connection')} now`);
      void server.close({ graceMs: 0 });
    });
    core.stop();
    await closed;
    await lab.console?.close();
    // A clustered node hands its clients' peers back to the cluster before it exits.
    await cluster?.closed();
    clearTimeout(timer);
    clearInterval(stats);
    log.info('Server stopped');
    return EXIT.ok;
  } finally {
    stopSignal.cancel();
    unsubscribe();
  }
}

/** What `--reference-peer` and `--http` started. */
interface Lab {
  readonly peer: InProcessPeer | undefined;
  readonly console: ConsoleServer | undefined;
}

/** The reference peer and the console, as asked; an error message when one cannot start. */
async function openLab(core: RouletteCore, options: StartOptions, token: string | undefined, log: Logger): Promise<Lab | string> {
  let peer: InProcessPeer | undefined;
  if (options.referencePeer !== undefined) {
    const started = await startReferencePeer(core, options.referencePeer.uco, options.referencePeer.roundLog, log);
    if (typeof started === 'string') return started;
    peer = started;
  }
  if (options.console === undefined) return { peer, console: undefined };
  const { host, port, publicAccess } = options.console;
  const started = await startConsoleServer(core, { host, port, token, publicAccess, referencePeers: peer === undefined ? [] : [peer.peer] }, log);
  if (typeof started === 'string') {
    await peer?.close();
    return started;
  }
  log.info(`Console on ${started.url}${token === undefined ? ' (no token: read-only, no operator actions)' : ' (token required)'}`);
  return { peer, console: started };
}

/** `undefined` for an unset or empty environment variable. */
function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** Waits for the node's lease and inbox subscription; false after logging why not. */
async function joinCluster(cluster: ClusterNode, url: string, log: Logger): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CLUSTER_START_MS} ms`)), CLUSTER_START_MS);
  });
  try {
    await Promise.race([cluster.ready(), timeout]);
    log.info(`Joined the cluster on ${url}`);
    return true;
  } catch (error) {
    log.error(`cannot join the cluster on ${url}: ${describeError(error)}`);
    return false;
  } finally {
    clearTimeout(timer);
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
      proxyProtocol: options.proxyProtocol,
      ...(tlsServer === undefined ? {} : { server: tlsServer }),
    });
  } catch (error) {
    log.error(`cannot listen on ${options.host}:${options.port}: ${describeError(error)}`);
    return undefined;
  }
}

/**
 * The first stop signal, and the later ones. Under `npm start`, one Ctrl-C arrives
 * twice (from the terminal and forwarded by npm): a repeat only hurries the stop.
 */
interface StopSignalWaiter {
  /** Resolves with the first signal received. */
  readonly received: Promise<StopSignal>;
  /** Calls `handler` for each signal after the first. */
  onRepeat(handler: (signal: StopSignal) => void): void;
  /** Removes the signal handlers. */
  cancel(): void;
}

function waitForStopSignal(): StopSignalWaiter {
  let resolve: (signal: StopSignal) => void = () => undefined;
  const received = new Promise<StopSignal>((res) => {
    resolve = res;
  });
  let first = true;
  let repeat: (signal: StopSignal) => void = () => undefined;
  const onSignal = (signal: StopSignal): void => {
    if (first) resolve(signal);
    else repeat(signal);
    first = false;
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  return {
    received,
    onRepeat: (handler) => {
      repeat = handler;
    },
    cancel: () => {
      for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
    },
  };
}

/** `1 connection`, `2 connections`. */
function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
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
