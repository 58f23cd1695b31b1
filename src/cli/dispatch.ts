/**
 * The `chat-roulette` dispatcher: picks the subcommand named by the first argument.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { EXIT, type CliIo, type Command } from './command.js';
import { commands } from './commands/index.js';

/**
 * Runs `chat-roulette <command> [args]` and resolves with the exit code.
 * `--help` / `-h` / `help` print the usage to stdout (0), `--version` / `-v` the
 * package's version (0); no command or an unknown one prints the usage to stderr (2).
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    io.out(await cliUsage());
    return EXIT.ok;
  }
  if (name === '--version' || name === '-v') {
    io.out(`${await packageVersion()}\n`);
    return EXIT.ok;
  }
  if (name === undefined) {
    io.err(`chat-roulette: missing command\n${await cliUsage()}`);
    return EXIT.usage;
  }
  const load = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (load === undefined) {
    io.err(`chat-roulette: unknown command '${name}'\n${await cliUsage()}`);
    return EXIT.usage;
  }
  const command: Command = (await load()).default;
  return command.run(rest, io);
}

/** The `version` of this package's package.json (two levels up from `src/cli/` and `dist/cli/` alike). */
export async function packageVersion(): Promise<string> {
  const text = await readFile(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}

/** The general help, listing every command of {@link commands}, ending with a newline. */
export async function cliUsage(): Promise<string> {
  const entries = await Promise.all(
    Object.entries(commands).map(async ([name, load]) => [name, (await load()).default.summary] as const),
  );
  const width = Math.max(...entries.map(([name]) => name.length));
  return [
    'Usage: chat-roulette <command> [options]',
    '',
    'Commands:',
    ...entries.map(([name, summary]) => `  ${name.padEnd(width)}  ${summary}`),
    '',
    "Run 'chat-roulette <command> --help' for a command's options,",
    "'chat-roulette --version' for the version.",
    '',
  ].join('\n');
}
