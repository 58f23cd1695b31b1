/**
 * The subcommands of `chat-roulette`, by name. Adding one is one line here plus its
 * module, which default-exports a `Command` (see `../command.ts`).
 *
 * @module
 */
import type { CommandLoader } from '../command.js';

/** Every subcommand, name → loader, in the order the help lists them. */
export const commands: Readonly<Record<string, CommandLoader>> = Object.freeze({
  start: () => import('./start.js'),
  report: () => import('./report.js'),
  peer: () => import('./peer.js'),
});
