/** Shortcuts of the `chat-roulette start` flag tests: a parse that must run, or must be a usage error. */
import assert from 'node:assert/strict';
import { parseStartArgs, type StartArgs, type StartOptions } from '../../src/cli/args.js';

/** The options `argv` parses to; fails the test when it is not a run. */
export function options(argv: string[]): StartOptions {
  const result = parseStartArgs(argv);
  assert.equal(result.kind, 'run', JSON.stringify(result));
  return (result as Extract<StartArgs, { kind: 'run' }>).options;
}

/** The usage error `argv` gives; fails the test when it parses. */
export function usageError(argv: string[]): string {
  const result = parseStartArgs(argv);
  assert.equal(result.kind, 'usage-error', JSON.stringify(argv));
  return (result as Extract<StartArgs, { kind: 'usage-error' }>).message;
}
