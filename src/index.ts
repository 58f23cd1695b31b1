/**
 * chat-roulette: a pairing-and-relay server. Import {@link RouletteCore} and attach
 * it to a transport; see the README for the TCP server and the CLI.
 *
 * @packageDocumentation
 */
export * from './core/index.js';
export { MemoryConnection, type MemoryConnectionOptions, type MemoryCloseKind, type ServerMessage } from './transports/memory.js';
export * from './transports/index.js';
