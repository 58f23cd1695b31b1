/**
 * The flags of `chat-roulette start` (PROTOCOL §9): a pure parser from `argv` to
 * options, and the usage text. Every default comes from {@link DEFAULTS} or
 * {@link TCP_DEFAULTS}; nothing here repeats a number.
 *
 * @module
 */
import { parseArgs } from 'node:util';
import { CONSOLE_TOKEN_ENV } from '../console/auth.js';
import { DEFAULTS, sanitizeUco, TCP_DEFAULTS } from '../index.js';
import { mayBeInfinite, OPTION_ORDERS, optionMinimum } from '../core/options.js';

/** The numeric options of the core that `start` exposes as flags. */
export type CoreFlagOption =
  | 'epochMs'
  | 'pingIntervalMs'
  | 'deadAfterMs'
  | 'registerTimeoutMs'
  | 'pairDelayMs'
  | 'maxLineBytes'
  | 'maxClients';

/** One numeric flag bound to one core option. */
export interface OptionFlag<Option extends string> {
  /** The flag without its leading `--`. */
  readonly flag: string;
  /** The `RouletteOptions` field it sets. */
  readonly option: Option;
  /** One line of help. */
  readonly help: string;
}

/** A flag of PROTOCOL §9 bound to its core option. */
export type CoreFlag = OptionFlag<CoreFlagOption>;

/** The numeric flags of `start`, in the order of PROTOCOL §9, each bound to its core option. */
export const CORE_FLAGS: readonly CoreFlag[] = Object.freeze([
  { flag: 'epoch-ms', option: 'epochMs', help: 'length of a pairing epoch, in ms' },
  { flag: 'ping-ms', option: 'pingIntervalMs', help: 'interval between pings, in ms' },
  { flag: 'dead-ms', option: 'deadAfterMs', help: 'a client silent (no pong) this long is dropped, in ms' },
  { flag: 'register-timeout-ms', option: 'registerTimeoutMs', help: 'time allowed to send connect, in ms' },
  { flag: 'pair-delay-ms', option: 'pairDelayMs', help: 'longest wait of a free client for a peer, in ms' },
  { flag: 'max-line-bytes', option: 'maxLineBytes', help: 'longest accepted line, in bytes' },
  { flag: 'max-clients', option: 'maxClients', help: 'most registered clients at once' },
]);

/** The limits of the core that `start` exposes as flags beyond PROTOCOL §9. */
export type LimitFlagOption = 'maxBufferedBytes' | 'rateLimit' | 'rateBurst' | 'maxConnectionsPerAddress';

/** A limit flag bound to its core option; `off` stands for `Infinity` where the core allows it. */
export type LimitFlag = OptionFlag<LimitFlagOption>;

/** The limit flags of `start` (this server's additions to PROTOCOL §9), each bound to its core option. */
export const LIMIT_FLAGS: readonly LimitFlag[] = Object.freeze([
  { flag: 'max-buffered-bytes', option: 'maxBufferedBytes', help: 'unsent output that drops a client (slow consumer), in bytes' },
  { flag: 'rate-limit', option: 'rateLimit', help: 'messages per second per connection (rate limited)' },
  { flag: 'rate-burst', option: 'rateBurst', help: 'messages a connection may send in a burst' },
  { flag: 'max-connections-per-address', option: 'maxConnectionsPerAddress', help: 'open connections per remote address' },
]);

/** The core options `start` passes: PROTOCOL §9's always, the limits and `strict` only when their flag is given. */
export type StartCoreOptions = Record<CoreFlagOption, number> & { [K in LimitFlagOption]?: number } & {
  /** `--strict`: invalid JSON or a non-object closes the connection (`protocol error`). */
  strict?: boolean;
};

/** The files of `--tls-cert` and `--tls-key` (PEM). */
export interface TlsFiles {
  /** Path of the certificate chain. */
  readonly cert: string;
  /** Path of the private key. */
  readonly key: string;
}

/** What `chat-roulette start` runs with, every default applied. */
export interface StartOptions {
  /** Interface to bind (`--host`). */
  host: string;
  /** TCP port, 0–65535; `0` binds any free port (`--port`). */
  port: number;
  /**
   * The core's options: each numeric option of PROTOCOL §9 from its flag or from
   * {@link DEFAULTS}; a limit of {@link LIMIT_FLAGS} and `strict` only when given
   * (the core applies its {@link DEFAULTS} otherwise).
   */
  core: StartCoreOptions;
  /** Serve TLS with these files (`--tls-cert` and `--tls-key`, both or neither). */
  tls?: TlsFiles;
  /** Seed of the pairing randomness (`--seed`), or `undefined` for `Math.random`. */
  seed: string | undefined;
  /** Silences the INFO log lines (`--quiet`); errors are still written. */
  quiet: boolean;
  /** Every this many ms, one `STATS` summary line on stderr (`--stats-interval`); 0 for none. */
  statsIntervalMs: number;
  /**
   * On SIGINT / SIGTERM, how long connections have to flush and close after the
   * shutdown notice before they are cut (`--shutdown-grace-ms`), in ms.
   */
  shutdownGraceMs: number;
  /** The teacher's console (`--http`, `--http-token`, `--http-public`); absent without `--http`. */
  console?: ConsoleFlags;
  /** The reference DH peer inside the server (`--reference-peer`, `--round-log`). */
  referencePeer?: ReferencePeerFlags;
  /** Run as one node of a cluster on Redis (`--redis`, `--cluster`, `--node-id`). */
  cluster?: ClusterFlags;
  /**
   * Every connection must begin with a PROXY protocol header, v1 or v2, whose client
   * address becomes the connection's (`--proxy-protocol`): behind HAProxy or nginx.
   */
  proxyProtocol: boolean;
}

/** Where and how the console is served. */
export interface ConsoleFlags {
  /** Address to listen on (`--http HOST:PORT`; `127.0.0.1` when only a port is given). */
  host: string;
  /** Port; `0` picks a free one. */
  port: number;
  /** `--http-token`; the CLI falls back to `CHAT_ROULETTE_HTTP_TOKEN`. */
  token: string | undefined;
  /** `--http-public`: no token on a non-loopback address, any `Host`. */
  publicAccess: boolean;
}

/** The reference peer run inside the server. */
export interface ReferencePeerFlags {
  /** Its uco (`--reference-peer`). */
  uco: string;
  /** `--round-log`: the NDJSON file its rounds are appended to. */
  roundLog: string | undefined;
}

/** The flags of a clustered node (docs/scaling.md). */
export interface ClusterFlags {
  /** The Redis server (`--redis redis://HOST:PORT`). */
  readonly url: string;
  /** The cluster's name (`--cluster`, default `main`). */
  readonly name: string;
  /** This node's id (`--node-id`), or `undefined` for a random one. */
  readonly nodeId: string | undefined;
}

/**
 * Default of `--shutdown-grace-ms`: after the shutdown notice, connections have this
 * long to flush and close before the server cuts them and exits 0, in ms.
 */
export const SHUTDOWN_GRACE_MS = 2_000;

/** The outcome of {@link parseStartArgs}. */
export type StartArgs =
  /** Valid flags: run the server. */
  | { readonly kind: 'run'; readonly options: StartOptions }
  /** `--help` / `-h`: print {@link startUsage} to stdout. */
  | { readonly kind: 'help' }
  /** A bad flag or value: print `message` and the usage to stderr, exit code 2. */
  | { readonly kind: 'usage-error'; readonly message: string };

const HOST = 'host';
const PORT = 'port';
const SEED = 'seed';
const QUIET = 'quiet';
const STRICT = 'strict';
const HELP = 'help';
const TLS_CERT = 'tls-cert';
const TLS_KEY = 'tls-key';
const STATS_INTERVAL = 'stats-interval';
const SHUTDOWN_GRACE = 'shutdown-grace-ms';
const HTTP = 'http';
const HTTP_TOKEN = 'http-token';
const HTTP_PUBLIC = 'http-public';
const REFERENCE_PEER = 'reference-peer';
const ROUND_LOG = 'round-log';
const REDIS = 'redis';
const CLUSTER = 'cluster';
const NODE_ID = 'node-id';
const PROXY_PROTOCOL = 'proxy-protocol';
const MAX_PORT = 65_535;
/** The value of a limit flag that turns the limit off (`Infinity` for the core). */
const OFF = 'off';

const VALUE_FLAGS: ReadonlySet<string> = new Set([
  HOST,
  PORT,
  SEED,
  TLS_CERT,
  TLS_KEY,
  STATS_INTERVAL,
  SHUTDOWN_GRACE,
  HTTP,
  HTTP_TOKEN,
  REFERENCE_PEER,
  ROUND_LOG,
  REDIS,
  CLUSTER,
  NODE_ID,
  ...CORE_FLAGS.map((f) => f.flag),
  ...LIMIT_FLAGS.map((f) => f.flag),
]);
const SWITCH_FLAGS: ReadonlySet<string> = new Set([QUIET, STRICT, HELP, HTTP_PUBLIC, PROXY_PROTOCOL]);

/**
 * Parses the arguments that follow `start` (PROTOCOL §9). Pure: it never prints
 * nor exits. The last occurrence of a repeated flag wins.
 *
 * @example
 * ```ts
 * parseStartArgs(['--port', '0', '--seed', 'lab-3']);
 * // { kind: 'run', options: { host: '0.0.0.0', port: 0, seed: 'lab-3', ... } }
 * ```
 */
export function parseStartArgs(argv: readonly string[]): StartArgs {
  const { tokens } = parseArgs({
    args: [...argv],
    options: {
      ...Object.fromEntries([...VALUE_FLAGS].map((name) => [name, { type: 'string' as const }])),
      [QUIET]: { type: 'boolean' },
      [STRICT]: { type: 'boolean' },
      [HTTP_PUBLIC]: { type: 'boolean' },
      [PROXY_PROTOCOL]: { type: 'boolean' },
      [HELP]: { type: 'boolean', short: 'h' },
    },
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const values = new Map<string, string>();
  let quiet = false;
  let strict = false;
  let help = false;
  let httpPublic = false;
  let proxyProtocol = false;
  for (const token of tokens) {
    if (token.kind === 'positional') return usageError(`unexpected argument '${token.value}'`);
    if (token.kind === 'option-terminator') continue;
    const { name, rawName, value, inlineValue } = token;
    if (SWITCH_FLAGS.has(name)) {
      if (value !== undefined) return usageError(`option ${rawName} takes no value`);
      if (name === HELP) help = true;
      else if (name === STRICT) strict = true;
      else if (name === HTTP_PUBLIC) httpPublic = true;
      else if (name === PROXY_PROTOCOL) proxyProtocol = true;
      else quiet = true;
    } else if (VALUE_FLAGS.has(name) && rawName === `--${name}`) {
      // A separate value that looks like another flag means this one's value is missing.
      if (value === undefined || (inlineValue === false && value.startsWith('-') && !/^-\d/.test(value))) {
        return usageError(`option ${rawName} needs a value`);
      }
      values.set(name, value);
    } else {
      return usageError(`unknown option '${rawName}'`);
    }
  }
  if (help) return { kind: 'help' };
  return resolveStartOptions(values, { quiet, strict, httpPublic, proxyProtocol });
}

/** The switches of `start`, each `true` when given. */
interface Switches {
  readonly quiet: boolean;
  readonly strict: boolean;
  readonly httpPublic: boolean;
  readonly proxyProtocol: boolean;
}

function resolveStartOptions(values: ReadonlyMap<string, string>, { quiet, strict, httpPublic, proxyProtocol }: Switches): StartArgs {
  const host = values.get(HOST) ?? TCP_DEFAULTS.host;
  if (host === '') return usageError('option --host needs a value');
  const seed = values.get(SEED);
  if (seed === '') return usageError('option --seed needs a value');

  let port: number = TCP_DEFAULTS.port;
  const portText = values.get(PORT);
  if (portText !== undefined) {
    const parsed = parseNonNegativeInteger(portText);
    if (parsed === undefined || parsed > MAX_PORT) {
      return usageError(`invalid value for --port: '${portText}' (expected an integer from 0 to ${MAX_PORT})`);
    }
    port = parsed;
  }

  // PROTOCOL §9's options always, from DEFAULTS unless their flag is given.
  const core = {} as StartCoreOptions;
  for (const { option } of CORE_FLAGS) core[option] = DEFAULTS[option];
  // Every numeric option flag; `off` (Infinity) only where the core allows it.
  for (const { flag, option } of [...CORE_FLAGS, ...LIMIT_FLAGS]) {
    const text = values.get(flag);
    if (text === undefined) continue;
    const parsed = parseOptionValue(flag, option, text);
    if (typeof parsed === 'string') return usageError(parsed);
    core[option] = parsed;
  }
  const conflict = conflictingFlags(core, values);
  if (conflict !== undefined) return usageError(conflict);
  if (strict) core.strict = true;

  const cert = values.get(TLS_CERT);
  const key = values.get(TLS_KEY);
  if (cert === '' || key === '') return usageError(`option --${cert === '' ? TLS_CERT : TLS_KEY} needs a value`);
  if ((cert === undefined) !== (key === undefined)) return usageError(`options --${TLS_CERT} and --${TLS_KEY} go together`);
  const statsText = values.get(STATS_INTERVAL);
  const statsIntervalMs = statsText === undefined ? 0 : parseNonNegativeInteger(statsText);
  if (statsIntervalMs === undefined) return usageError(invalidValue(STATS_INTERVAL, statsText ?? '', 0, false));
  const graceText = values.get(SHUTDOWN_GRACE);
  const shutdownGraceMs = graceText === undefined ? SHUTDOWN_GRACE_MS : parseNonNegativeInteger(graceText);
  if (shutdownGraceMs === undefined) return usageError(invalidValue(SHUTDOWN_GRACE, graceText ?? '', 0, false));
  const options: StartOptions = { host, port, core, seed, quiet, statsIntervalMs, shutdownGraceMs, proxyProtocol };
  if (cert !== undefined && key !== undefined) {
    // The PROXY header comes before the TLS handshake, which the TLS server reads itself.
    if (proxyProtocol) return usageError(`option --${PROXY_PROTOCOL} cannot be used with --${TLS_CERT}: terminate TLS at the balancer`);
    options.tls = { cert, key };
  }
  const lab = resolveLabFlags(values, httpPublic);
  if (typeof lab === 'string') return usageError(lab);
  if (lab.console !== undefined) options.console = lab.console;
  if (lab.referencePeer !== undefined) options.referencePeer = lab.referencePeer;
  const url = values.get(REDIS);
  const name = values.get(CLUSTER);
  const nodeId = values.get(NODE_ID);
  if (url === undefined) {
    if (name !== undefined || nodeId !== undefined) return usageError(`options --${CLUSTER} and --${NODE_ID} need --${REDIS}`);
  } else {
    if (!/^rediss?:\/\/./.test(url)) return usageError(`invalid value for --${REDIS}: '${url}' (expected redis://HOST:PORT)`);
    for (const [flag, text] of [[CLUSTER, name], [NODE_ID, nodeId]] as const) {
      if (text !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(text)) {
        return usageError(`invalid value for --${flag}: '${text}' (expected 1 to 64 letters, digits, '.', '_' or '-')`);
      }
    }
    options.cluster = { url, name: name ?? 'main', nodeId };
  }
  return { kind: 'run', options };
}

/** `--http`, `--http-token`, `--http-public`, `--reference-peer`, `--round-log`, or the usage error. */
function resolveLabFlags(
  values: ReadonlyMap<string, string>,
  httpPublic: boolean,
): { console?: ConsoleFlags; referencePeer?: ReferencePeerFlags } | string {
  const result: { console?: ConsoleFlags; referencePeer?: ReferencePeerFlags } = {};
  const http = values.get(HTTP);
  const token = values.get(HTTP_TOKEN);
  if (http === undefined) {
    if (token !== undefined) return `--${HTTP_TOKEN} needs --${HTTP}`;
    if (httpPublic) return `--${HTTP_PUBLIC} needs --${HTTP}`;
  } else {
    const address = parseHttpAddress(http);
    if (address === undefined) return `invalid value for --${HTTP}: '${http}' (expected HOST:PORT, [IPv6]:PORT or PORT)`;
    if (token === '') return `option --${HTTP_TOKEN} needs a value`;
    result.console = { ...address, token, publicAccess: httpPublic };
  }
  const uco = values.get(REFERENCE_PEER);
  const roundLog = values.get(ROUND_LOG);
  if (uco === undefined) {
    if (roundLog !== undefined) return `--${ROUND_LOG} needs --${REFERENCE_PEER}`;
  } else {
    if (sanitizeUco(uco) !== uco) return `invalid value for --${REFERENCE_PEER}: '${uco}' (expected ASCII letters and digits, 1 to 24)`;
    if (roundLog === '') return `option --${ROUND_LOG} needs a value`;
    result.referencePeer = { uco, roundLog };
  }
  return result;
}

/**
 * Parses `--http`: `HOST:PORT`, `[IPv6]:PORT`, or `PORT` alone (on 127.0.0.1).
 *
 * @returns the address, or `undefined` when it is not one.
 */
export function parseHttpAddress(text: string): { host: string; port: number } | undefined {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[^:[\]]+):)?(\d{1,5})$/.exec(text);
  if (m === null) return undefined;
  const port = Number(m[2]);
  if (port > MAX_PORT) return undefined;
  const host = m[1] === undefined ? '127.0.0.1' : m[1].replace(/^\[|\]$/g, '');
  return { host, port };
}

/**
 * The value of `--<flag>` for core option `option`, or the usage error: an integer
 * from the core's minimum, or `off` (`Infinity`) for every limit the core lets be
 * turned off.
 */
function parseOptionValue(flag: string, option: CoreFlagOption | LimitFlagOption, text: string): number | string {
  const infiniteOk = mayBeInfinite(option);
  const min = optionMinimum(option) ?? 0;
  const parsed = text === OFF && infiniteOk ? Infinity : parseNonNegativeInteger(text);
  if (parsed === undefined || parsed < min) return invalidValue(flag, text, min, infiniteOk);
  return parsed;
}

/** The one wording of a bad value, whatever is wrong with it: `invalid value for --epoch-ms: '0' (expected an integer >= 1)`. */
function invalidValue(flag: string, text: string, min: number, offOk: boolean): string {
  return `invalid value for --${flag}: '${text}' (expected an integer >= ${min}${offOk ? ` or '${OFF}'` : ''})`;
}

/** The flag of a core option, for messages. */
function flagOf(option: string): string {
  return `--${[...CORE_FLAGS, ...LIMIT_FLAGS].find((f) => f.option === option)?.flag ?? option}`;
}

/** The first pair of flags that contradict each other (see {@link OPTION_ORDERS}), as a usage error. */
function conflictingFlags(core: StartCoreOptions, values: ReadonlyMap<string, string>): string | undefined {
  const valueOf = (option: string): string => {
    const flag = flagOf(option);
    const value = String(core[option as CoreFlagOption]);
    return values.has(flag.slice(2)) ? `${flag} ${value}` : `${flag} ${value} (the default)`;
  };
  for (const { option, than, why } of OPTION_ORDERS) {
    const a = core[option as CoreFlagOption];
    const b = core[than as CoreFlagOption];
    if (!(a > b)) return `${flagOf(option)} must be greater than ${flagOf(than)} (${why}): got ${valueOf(option)} and ${valueOf(than)}`;
  }
  return undefined;
}

/** Decimal digits only (no sign, exponent, hex or spaces), within the safe integers. */
export function parseNonNegativeInteger(text: string): number | undefined {
  if (!/^[0-9]+$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}

function usageError(message: string): StartArgs {
  return { kind: 'usage-error', message };
}

/** The help of `chat-roulette start`, defaults included, ending with a newline. */
export function startUsage(): string {
  const rows: Array<[string, string]> = [
    ['--host H', `interface to bind (default ${TCP_DEFAULTS.host})`],
    ['--port P', `TCP port, 0 for any free port (default ${TCP_DEFAULTS.port})`],
    ...[...CORE_FLAGS, ...LIMIT_FLAGS].map(({ flag, option, help }): [string, string] => [
      `--${flag} N`,
      `${help}${mayBeInfinite(option) ? `, '${OFF}' for none` : ''} (default ${DEFAULTS[option] === Infinity ? OFF : DEFAULTS[option]})`,
    ]),
    ['--strict', 'close a connection that sends invalid JSON or a non-object (protocol error)'],
    ['--tls-cert F', 'serve TLS with this PEM certificate chain (needs --tls-key)'],
    ['--tls-key F', 'the PEM private key of --tls-cert'],
    ['--seed S', 'seed of the pairing randomness, for reproducible pairings'],
    ['--quiet', 'log errors only'],
    ['--stats-interval N', 'print a STATS summary line to stderr every N ms (default 0: never)'],
    ['--shutdown-grace-ms N', `on SIGINT/SIGTERM, time clients have to close before they are cut, in ms (default ${SHUTDOWN_GRACE_MS})`],
    ['--http HOST:PORT', "serve the teacher's console there (PORT alone: 127.0.0.1; default off)"],
    ['--http-token T', `require this token for the console (default: $${CONSOLE_TOKEN_ENV}, else none)`],
    ['--http-public', 'allow a console without a token on a non-loopback address'],
    ['--reference-peer UCO', 'run the reference Diffie-Hellman peer in the server and grade its rounds'],
    ['--round-log FILE', "append the reference peer's rounds to FILE as NDJSON (for report)"],
    ['--redis URL', 'run as one node of a cluster on Redis (redis://HOST:PORT; needs @chat-roulette/redis)'],
    ['--cluster NAME', 'with --redis: the cluster to join (default main)'],
    ['--node-id ID', 'with --redis: this node\'s id, unique in the cluster (default random)'],
    ['--proxy-protocol', 'every connection begins with a PROXY v1/v2 header (HAProxy, nginx): its client address counts'],
    ['-h, --help', 'show this help'],
  ];
  const width = Math.max(...rows.map(([left]) => left.length));
  return [
    'Usage: chat-roulette start [options]',
    '',
    'Runs the chat-roulette server over TCP, or TLS with --tls-cert and --tls-key.',
    'Prints "listening on <host>:<port>" to stdout once listening; logs go to',
    'stderr. SIGINT / SIGTERM stop it gracefully: every client gets the shutdown',
    'notice, connections still open after --shutdown-grace-ms are cut, exit code 0.',
    'With --http, the second line of stdout is "console on http://<host>:<port>/".',
    '',
    'Options:',
    ...rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`),
    '',
  ].join('\n');
}
