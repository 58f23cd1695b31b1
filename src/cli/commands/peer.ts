/**
 * `chat-roulette peer`: runs the DH exercise's reference peer (DH-EXERCISE.md) as a
 * client of a chat-roulette server, logging each round to stderr and, with `--log`,
 * as NDJSON for the grading report.
 *
 * @module
 */
import { promises as fsp } from 'node:fs';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { sanitizeUco, TCP_DEFAULTS } from '../../index.js';
import {
  DH_PEER_DEFAULTS,
  JDK_GROUP_BITS,
  runReferencePeer,
  type DhGroupBits,
  type ReferencePeerHandle,
} from '../../testing/dh/index.js';
import { parseNonNegativeInteger } from '../args.js';
import { EXIT, type CliIo, type Command } from '../command.js';
import { describeRound } from '../console.js';
import { createLogger } from '../log.js';

/** Default server host of `peer` (a client: the local machine). */
const DEFAULT_HOST = '127.0.0.1';

/** What `chat-roulette peer` runs with. */
interface PeerOptions {
  host: string;
  port: number;
  uco: string;
  session: string;
  bits: DhGroupBits;
  stepTimeoutMs: number;
  log: string | undefined;
  quiet: boolean;
}

/** The usage text of `peer`, ending with a newline. */
function peerUsage(): string {
  return [
    'Usage: chat-roulette peer --uco U [options]',
    '',
    'Runs the reference peer of the Diffie-Hellman exercise as a client.',
    '',
    'Options:',
    `  --host H              server host (default ${DEFAULT_HOST})`,
    `  --port P              server port (default ${TCP_DEFAULTS.port})`,
    '  --uco U               our uco: ASCII letters and digits, at most 24 (required)',
    `  --session S           session field (default "${DH_PEER_DEFAULTS.session}")`,
    `  --bits B              group used as initiator: ${JDK_GROUP_BITS.join(', ')} (default ${DH_PEER_DEFAULTS.bits})`,
    `  --step-timeout-ms N   time allowed for each awaited message (default ${DH_PEER_DEFAULTS.stepTimeoutMs})`,
    '  --log FILE            append the round events as NDJSON to FILE ("-": stdout)',
    '  --quiet               only failed rounds and errors on stderr',
    '  -h, --help            this help',
    '',
  ].join('\n');
}

type Parsed = { kind: 'run'; options: PeerOptions } | { kind: 'help' } | { kind: 'usage-error'; message: string };

function parsePeerArgs(argv: readonly string[]): Parsed {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        uco: { type: 'string' },
        session: { type: 'string' },
        bits: { type: 'string' },
        'step-timeout-ms': { type: 'string' },
        log: { type: 'string' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    return { kind: 'usage-error', message: error instanceof Error ? error.message : String(error) };
  }
  if (values.help === true) return { kind: 'help' };
  const uco = values.uco;
  if (uco === undefined) return { kind: 'usage-error', message: 'missing --uco' };
  if (sanitizeUco(uco) !== uco) return { kind: 'usage-error', message: `invalid --uco '${uco}': ASCII letters and digits, 1 to 24` };
  const port = integer(values.port, TCP_DEFAULTS.port);
  if (port === undefined || port < 1 || port > 65_535) return { kind: 'usage-error', message: `invalid --port '${values.port}'` };
  const bits = integer(values.bits, DH_PEER_DEFAULTS.bits);
  if (!JDK_GROUP_BITS.includes(bits as DhGroupBits)) {
    return { kind: 'usage-error', message: `invalid --bits '${values.bits}': one of ${JDK_GROUP_BITS.join(', ')}` };
  }
  const stepTimeoutMs = integer(values['step-timeout-ms'], DH_PEER_DEFAULTS.stepTimeoutMs);
  if (stepTimeoutMs === undefined || stepTimeoutMs < 1) {
    return { kind: 'usage-error', message: `invalid --step-timeout-ms '${values['step-timeout-ms']}'` };
  }
  return {
    kind: 'run',
    options: {
      host: values.host ?? DEFAULT_HOST,
      port,
      uco,
      session: values.session ?? DH_PEER_DEFAULTS.session,
      bits: bits as DhGroupBits,
      stepTimeoutMs,
      log: values.log,
      quiet: values.quiet === true,
    },
  };
}

function integer(text: string | undefined, fallback: number): number | undefined {
  return text === undefined ? fallback : parseNonNegativeInteger(text);
}

/** Connects, plays rounds until SIGINT / SIGTERM (exit 0) or until the server closes the connection (exit 1). */
async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parsePeerArgs(argv);
  if (args.kind === 'help') {
    io.out(peerUsage());
    return EXIT.ok;
  }
  if (args.kind === 'usage-error') {
    io.err(`chat-roulette peer: ${args.message}\n${peerUsage()}`);
    return EXIT.usage;
  }
  const options = args.options;
  const log = createLogger({ write: io.err, quiet: options.quiet });
  const toStdout = options.log === '-';
  let logStream: Writable | undefined;
  if (toStdout) logStream = process.stdout;
  else if (options.log !== undefined) {
    // Opened first, so a bad path is a plain error here, not an unhandled 'error' event later.
    try {
      const file = await fsp.open(options.log, 'a');
      logStream = file.createWriteStream();
    } catch (error) {
      log.error(`cannot open --log ${options.log}: ${error instanceof Error ? error.message : String(error)}`);
      return EXIT.failure;
    }
  }
  let handle: ReferencePeerHandle;
  try {
    handle = await runReferencePeer({
      host: options.host,
      port: options.port,
      uco: options.uco,
      session: options.session,
      bits: options.bits,
      stepTimeoutMs: options.stepTimeoutMs,
      log: logStream,
      endLog: !toStdout,
      onLogError: (error) => log.error(`cannot write --log ${options.log ?? ''}: ${error.message}; round log stopped`),
    });
  } catch (error) {
    log.error(`cannot connect to ${options.host}:${options.port}: ${error instanceof Error ? error.message : String(error)}`);
    if (!toStdout && logStream !== undefined) {
      logStream.on('error', () => undefined); // nothing was written; a failing close changes nothing
      logStream.end();
    }
    return EXIT.failure;
  }
  log.info(`Reference peer ${options.uco} connected to ${options.host}:${options.port}`);
  handle.peer.on('round', (event) => describeRound(event, log));

  let onSignal: (signal: string) => void = () => undefined;
  const stop = new Promise<string>((resolve) => {
    onSignal = resolve;
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  const outcome = await Promise.race([stop, handle.closed.then((error) => ({ error }))]);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  await handle.close();
  if (typeof outcome === 'string') {
    log.info(`Received ${outcome}, reference peer stopped`);
    return EXIT.ok;
  }
  log.error(`connection closed${outcome.error === undefined ? '' : `: ${outcome.error.message}`}`);
  return EXIT.failure;
}

/** `chat-roulette peer`. */
const peer: Command = {
  summary: 'run the DH reference peer as a client (see peer --help)',
  run,
};

export default peer;
