#!/usr/bin/env node
/**
 * Entry point of the `chat-roulette` binary: runs {@link runCli} on the process's
 * arguments and exits with its code.
 *
 * @module
 */
import { EXIT, type CliIo } from './command.js';
import { runCli } from './dispatch.js';

/** Once the command is done, a handle left open must not keep the process alive. */
const LINGER_MS = 1_000;

const io: CliIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

function finish(code: number): void {
  process.exitCode = code;
  // Unref'd: fires only if something still holds the event loop open.
  setTimeout(() => process.exit(code), LINGER_MS).unref();
}

runCli(process.argv.slice(2), io).then(finish, (error: unknown) => {
  io.err(`chat-roulette: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  finish(EXIT.failure);
});
