/**
 * Adapters binding a {@link RouletteCore} to byte streams: any `Duplex`
 * ({@link attachStream}), a TCP/TLS server ({@link listen}) and an in-process
 * connection ({@link connectInProcess}).
 *
 * @module
 */
export {
  attachStream,
  resolveStreamOptions,
  STREAM_DEFAULTS,
  type StreamOptions,
  type ResolvedStreamOptions,
} from './stream.js';
export {
  listen,
  createRouletteServer,
  RouletteServer,
  TCP_DEFAULTS,
  type CloseOptions,
  type ListenOptions,
  type RouletteServerOptions,
  type ServerAddress,
} from './tcp.js';
export { connectInProcess, type InProcessOptions } from './in-process.js';
export { duplexPair } from './duplex-pair.js';
