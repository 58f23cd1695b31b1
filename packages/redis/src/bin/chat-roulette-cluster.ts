#!/usr/bin/env node
/**
 * Entry point of the `chat-roulette-cluster` binary: runs the launcher on the process's
 * arguments and exits with its code.
 *
 * @module
 */
import { runLauncher } from '../launcher/cli.js';

runLauncher(process.argv.slice(2), {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`chat-roulette-cluster: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
