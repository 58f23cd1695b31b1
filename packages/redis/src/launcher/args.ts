/**
 * The flags of `chat-roulette-cluster`: a pure parser that keeps the launcher's own
 * flags and passes every other one, unchanged and in order, to each node's
 * `chat-roulette start` (which checks them).
 *
 * @module
 */
import { LAUNCH_DEFAULTS, type LaunchOptions } from './cluster.js';

/** The outcome of {@link parseLauncherArgs}. */
export type LauncherArgs =
  | { readonly kind: 'run'; readonly options: LaunchOptions & { readonly startFlags: readonly string[] } }
  | { readonly kind: 'help' }
  | { readonly kind: 'usage-error'; readonly message: string };

/** The launcher's flags that take a value. */
const VALUE_FLAGS = new Set(['--host', '--port', '--nodes', '--redis', '--redis-server', '--cluster']);
/** The launcher sets these on each node itself. */
const REFUSED = new Set(['--node-id']);
const MAX_PORT = 65_535;
const MAX_NODES = 64;
const NAME = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * Parses the arguments of `chat-roulette-cluster`. A flag it does not know is passed to
 * the nodes with its value (the next argument, unless that one starts with `--`).
 * The last occurrence of a repeated launcher flag wins.
 */
export function parseLauncherArgs(argv: readonly string[]): LauncherArgs {
  const values = new Map<string, string>();
  const startFlags: string[] = [];
  let restartNodes = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '-h' || arg === '--help') return { kind: 'help' };
    if (!arg.startsWith('--')) return usageError(`unexpected argument '${arg}'`);
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg : arg.slice(0, eq);
    if (REFUSED.has(name)) return usageError(`option ${name} is set by the launcher (n1, n2, …)`);
    if (name === '--restart-nodes') {
      if (eq !== -1) return usageError('option --restart-nodes takes no value');
      restartNodes = true;
    } else if (VALUE_FLAGS.has(name)) {
      const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
      if (value === undefined || value === '' || (eq === -1 && value.startsWith('--'))) return usageError(`option ${name} needs a value`);
      values.set(name, value);
    } else {
      // Someone else's flag: passed on as given, with its separate value if it has one.
      startFlags.push(arg);
      const next = argv[i + 1];
      if (eq === -1 && next !== undefined && !next.startsWith('--')) startFlags.push(argv[++i] as string);
    }
  }
  const port = integer(values.get('--port'), LAUNCH_DEFAULTS.port);
  if (port === undefined || port > MAX_PORT) return usageError(`invalid value for --port: '${values.get('--port')}' (expected an integer from 0 to ${MAX_PORT})`);
  const nodes = integer(values.get('--nodes'), LAUNCH_DEFAULTS.nodes);
  if (nodes === undefined || nodes < 1 || nodes > MAX_NODES) return usageError(`invalid value for --nodes: '${values.get('--nodes')}' (expected an integer from 1 to ${MAX_NODES})`);
  const redisUrl = values.get('--redis');
  if (redisUrl !== undefined && !/^rediss?:\/\/./.test(redisUrl)) return usageError(`invalid value for --redis: '${redisUrl}' (expected redis://HOST:PORT)`);
  const name = values.get('--cluster');
  if (name !== undefined && !NAME.test(name)) return usageError(`invalid value for --cluster: '${name}' (expected 1 to 64 letters, digits, '.', '_' or '-')`);
  const options: LaunchOptions & { startFlags: readonly string[] } = {
    nodes,
    host: values.get('--host') ?? LAUNCH_DEFAULTS.host,
    port,
    restartNodes,
    startFlags,
    ...(redisUrl === undefined ? {} : { redisUrl }),
    ...(name === undefined ? {} : { name }),
    ...(values.has('--redis-server') ? { redisServer: values.get('--redis-server') as string } : {}),
  };
  return { kind: 'run', options };
}

/** `text` as a non-negative integer, `fallback` when absent, `undefined` when invalid. */
function integer(text: string | undefined, fallback: number): number | undefined {
  if (text === undefined) return fallback;
  return /^[0-9]{1,9}$/.test(text) ? Number(text) : undefined;
}

function usageError(message: string): LauncherArgs {
  return { kind: 'usage-error', message };
}

/** The help of `chat-roulette-cluster`, ending with a newline. */
export function launcherUsage(): string {
  const d = LAUNCH_DEFAULTS;
  return [
    'Usage: chat-roulette-cluster [options] [chat-roulette start options]',
    '',
    'Runs a chat-roulette cluster on this machine: a redis-server of its own (unless',
    '--redis), N nodes `chat-roulette start --host 127.0.0.1 --port 0 --redis URL',
    '--cluster NAME --node-id nK` and a round-robin TCP balancer in front of them.',
    'Prints "listening on <host>:<port>" (the balancer) to stdout once all are up;',
    'logs go to stderr. SIGINT / SIGTERM stop the nodes, then redis-server; exit code 0.',
    'Every other option is passed unchanged to each node (see chat-roulette start --help).',
    '',
    'Options:',
    `  --host H            interface of the balancer (default ${d.host})`,
    `  --port P            port of the balancer, 0 for any free port (default ${d.port})`,
    `  --nodes N           how many nodes (default ${d.nodes})`,
    '  --redis URL         use this Redis (redis://HOST:PORT) instead of starting one',
    `  --redis-server F    the redis-server binary to start (default ${d.redisServer})`,
    '  --cluster NAME      the cluster name (default: a fresh random one)',
    '  --restart-nodes     start a node again when it exits unexpectedly',
    '  -h, --help          show this help',
    '',
  ].join('\n');
}
