/**
 * Adapters binding a {@link RouletteCore} to byte streams: any `Duplex`
 * ({@link attachStream}), a TCP/TLS server ({@link listen}, optionally behind a
 * balancer speaking the PROXY protocol: {@link parseProxyHeader}, {@link formatProxyHeaderV1}) and an in-process
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
export {
  formatProxyHeaderV1,
  parseProxyHeader,
  PROXY_V1_MAX_BYTES,
  PROXY_V2_MAX_BYTES,
  type ProxyComplete,
  type ProxyEndpoint,
  type ProxyHeader,
  type ProxyIncomplete,
  type ProxyInvalid,
  type ProxyParseResult,
  type ProxyTlv,
} from './proxy-protocol.js';
export { PROXY_PROTOCOL_DEFAULTS, type ProxyHeaderStats, type ProxyProtocolOptions } from './proxy-gate.js';
export { connectInProcess, type InProcessOptions } from './in-process.js';
export { duplexPair } from './duplex-pair.js';
