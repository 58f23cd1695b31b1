/**
 * What a subcommand of `chat-roulette` is: a summary for the general help and a
 * `run` that returns the process exit code.
 *
 * @module
 */

/** Where a command writes. Both functions receive text with its newlines. */
export interface CliIo {
  /** Standard output: only what scripts read (PROTOCOL §9). */
  out(text: string): void;
  /** Standard error: errors, usage after an error, logs. */
  err(text: string): void;
}

/** One subcommand, the default export of a module in `src/cli/commands/`. */
export interface Command {
  /** One line for `chat-roulette --help`. */
  readonly summary: string;
  /**
   * Runs the command with the arguments after its name and resolves with the exit
   * code: 0 success, 1 failure, 2 usage error.
   */
  run(argv: readonly string[], io: CliIo): Promise<number>;
}

/** Loads a command module on demand, so one command's dependencies never slow another. */
export type CommandLoader = () => Promise<{ readonly default: Command }>;

/** Exit codes of the CLI. */
export const EXIT = Object.freeze({
  /** Success, including a graceful stop on SIGINT / SIGTERM. */
  ok: 0,
  /** Runtime failure (e.g. the port is in use). */
  failure: 1,
  /** Bad command, flag or value (PROTOCOL §9). */
  usage: 2,
});
