/**
 * `chat-roulette-cluster`: parses the flags, launches the cluster, prints the balancer's
 * `listening on HOST:PORT` line on stdout (and nothing else there), and stops everything
 * on SIGINT / SIGTERM.
 *
 * @module
 */
import { launcherUsage, parseLauncherArgs } from './args.js';
import { LaunchError, launchCluster, type LaunchOptions } from './cluster.js';

/** Where the launcher writes; each function receives text with its newlines. */
export interface LauncherIo {
  /** Standard output: the `listening on` line only. */
  out(text: string): void;
  /** Standard error: errors, usage after an error, logs. */
  err(text: string): void;
}

/** The signals that stop the cluster. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * Runs the launcher with `argv` (the arguments after the program) until SIGINT or
 * SIGTERM. Exit codes: 0 after a stop by signal or `--help`, 1 when the cluster does not
 * start, 2 for a bad flag (the launcher's, or one a node refused). `overrides` replace
 * launch options (tests run the nodes from source with `nodeCommand`).
 */
export async function runLauncher(argv: readonly string[], io: LauncherIo, overrides: Partial<Pick<LaunchOptions, 'nodeCommand'>> = {}): Promise<number> {
  const args = parseLauncherArgs(argv);
  if (args.kind === 'help') {
    io.out(launcherUsage());
    return 0;
  }
  if (args.kind === 'usage-error') {
    io.err(`chat-roulette-cluster: ${args.message}\n${launcherUsage()}`);
    return 2;
  }
  const quiet = args.options.startFlags.includes('--quiet');
  const abort = new AbortController();
  let received: NodeJS.Signals | undefined;
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const onSignal = (signal: NodeJS.Signals): void => {
    received ??= signal;
    abort.abort();
    stop();
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  try {
    // Held until the cluster is up: a flag a node refuses then gets one error line and the usage.
    let held: string[] | undefined = [];
    const log = (line: string): void => {
      if (quiet && /^\d{4}-/.test(line) && !/^\S+ ERROR /.test(line)) return;
      if (held === undefined) io.err(`${line}\n`);
      else held.push(line);
    };
    const release = (): void => {
      const lines = held ?? [];
      held = undefined;
      for (const line of lines) io.err(`${line}\n`);
    };
    let cluster;
    try {
      cluster = await launchCluster({ ...args.options, ...overrides, log, signal: abort.signal });
    } catch (error) {
      if (error instanceof LaunchError && error.code === 'usage') {
        io.err(`chat-roulette-cluster: ${error.message}\n${launcherUsage()}`);
        return 2;
      }
      release();
      if (error instanceof LaunchError && error.code === 'aborted') return 0;
      io.err(`chat-roulette-cluster: ${error instanceof Error ? error.message : String(error)}\n`);
      return 1;
    }
    release();
    io.out(`listening on ${cluster.host}:${cluster.port}\n`);
    await stopped;
    log(`${new Date().toISOString()} INFO Received ${received}: stopping the cluster`);
    await cluster.close();
    log(`${new Date().toISOString()} INFO Cluster stopped`);
    return 0;
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
  }
}
