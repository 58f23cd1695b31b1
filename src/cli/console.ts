/**
 * What `chat-roulette start` adds around the core for a lab: the reference DH peer
 * inside the server (`--reference-peer`, `--round-log`) and the teacher's console on
 * its own HTTP server (`--http`, `--http-token`, `--http-public`). Thin users of
 * `chat-roulette/testing` and `chat-roulette/console`.
 *
 * @module
 */
import { promises as fsp } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Writable } from 'node:stream';
import { createConsole, type RouletteConsole } from '../console/index.js';
import { connectInProcess, type RouletteCore } from '../index.js';
import { attachReferencePeer, type DhReferencePeer, type DhRoundEvent, type ReferencePeerHandle } from '../testing/dh/index.js';
import type { Logger } from './log.js';

/** Logs one round event of a reference peer as `peer` does: start, ok, failure or cut short, with the reason. */
export function describeRound(event: DhRoundEvent, log: Logger): void {
  const who = `round ${event.round} with ${event.student} (${event.role})`;
  if (event.event === 'pair') log.info(`${who}: started`);
  else if (event.event === 'finish') log.info(`${who}: ok`);
  else if (event.event === 'fail') log.warn(`${who} failed at ${event.step ?? '?'}: ${event.reason ?? ''}`);
  else if (event.event === 'incomplete') log.info(`${who} incomplete at ${event.step ?? '?'}: ${event.reason ?? ''}`);
}

/** A reference peer running inside the server. */
export interface InProcessPeer {
  /** Its state machine, for the console's grading. */
  readonly peer: DhReferencePeer;
  /** Sends `exit`, closes the round log. */
  close(): Promise<void>;
}

/**
 * `--reference-peer UCO [--round-log FILE]`: the reference peer as a client of `core`
 * over the in-process transport, logging its rounds on stderr and, with a file, as
 * NDJSON appended to it.
 *
 * @returns the peer, or an error message when the log file cannot be opened.
 */
export async function startReferencePeer(
  core: RouletteCore,
  uco: string,
  roundLog: string | undefined,
  log: Logger,
): Promise<InProcessPeer | string> {
  let stream: Writable | undefined;
  if (roundLog !== undefined) {
    try {
      stream = (await fsp.open(roundLog, 'a')).createWriteStream();
    } catch (error) {
      return `cannot open --round-log ${roundLog}: ${error instanceof Error ? error.message : String(error)}`;
    }
  }
  const handle: ReferencePeerHandle = attachReferencePeer(connectInProcess(core, { remoteAddress: 'in-process' }), {
    uco,
    // In the server, the peer also sees students the server drops or refuses.
    core,
    log: stream,
    onLogError: (error) => log.error(`cannot write --round-log ${roundLog ?? ''}: ${error.message}; round log stopped`),
  });
  handle.peer.on('round', (event) => describeRound(event, log));
  log.info(`Reference peer ${uco} runs in the server${roundLog === undefined ? '' : `, rounds logged to ${roundLog}`}`);
  return { peer: handle.peer, close: () => handle.close() };
}

/** What the console's HTTP server runs with. */
export interface ConsoleServerOptions {
  /** Where to listen. */
  host: string;
  /** The port; 0 picks a free one. */
  port: number;
  /** The access token, if any. */
  token: string | undefined;
  /** `--http-public`: without a token, answer requests for any host name. */
  publicAccess: boolean;
  /** Reference peers to grade. */
  referencePeers: readonly DhReferencePeer[];
}

/** The console, listening. */
export interface ConsoleServer {
  /** `http://host:port/` */
  readonly url: string;
  /** `/healthz` turns 503: the server is stopping. */
  shutdown(): void;
  /** Ends the live pages and closes the HTTP server. */
  close(): Promise<void>;
}

/**
 * `--http HOST:PORT`: the console of `core` on its own HTTP server. Operator actions
 * are logged as `Operator: <action> <ucos> (from <address>)`.
 *
 * @returns the server, or an error message when it cannot listen.
 */
export async function startConsoleServer(core: RouletteCore, options: ConsoleServerOptions, log: Logger): Promise<ConsoleServer | string> {
  const dashboard: RouletteConsole = createConsole(core, {
    token: options.token,
    publicAccess: options.publicAccess,
    referencePeers: options.referencePeers,
    onAction: ({ action, ucos, remoteAddress }) =>
      log.info(`Operator: ${[action, ...ucos].join(' ')} (from ${remoteAddress ?? 'unknown address'})`),
  });
  const server: Server = createServer(dashboard);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    dashboard.close();
    const code = (error as NodeJS.ErrnoException).code;
    return `cannot serve the console on ${options.host}:${options.port}: ${error instanceof Error ? error.message : String(error)}${code === undefined || (error as Error).message.includes(code) ? '' : ` (${code})`}`;
  }
  server.on('error', (error) => log.error(`console: ${error.message}`));
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}/`,
    shutdown: () => dashboard.shutdown(),
    close: async () => {
      dashboard.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
