/**
 * The in-process transport: a client-side `Duplex` connected to the core without a
 * network, for testing a Node client written against a socket.
 *
 * @module
 */
import type { Duplex } from 'node:stream';
import type { RouletteCore } from '../core/core.js';
import { duplexPair } from './duplex-pair.js';
import { attachStream, type StreamOptions } from './stream.js';

/** Options of {@link connectInProcess}. */
export interface InProcessOptions extends StreamOptions {
  /**
   * The client's address, as the core reports it in logs and events.
   * @defaultValue `"in-process"`
   */
  remoteAddress?: string;
}

/**
 * Opens a connection to `core` inside this process and returns the client's end of
 * it: write newline-delimited JSON to it and read the server's lines from it, as from
 * a `net.Socket`. `end()` or `destroy()` it to disconnect.
 *
 * @param core - the core to connect to.
 * @param options - see {@link InProcessOptions}.
 * @returns the client side of a {@link duplexPair}; the other side is attached with
 *   {@link attachStream}.
 * @throws {@link RouletteError} `ERR_INVALID_OPTION` for an invalid option.
 *
 * @example
 * ```ts
 * import readline from 'node:readline';
 * const socket = connectInProcess(core);
 * readline.createInterface({ input: socket }).on('line', (line) => console.log(line));
 * socket.write('{"cmd":"connect","uco":"alice","nonce":1}\n'); // → {"ack":"1"}
 * ```
 */
export function connectInProcess(core: RouletteCore, options: InProcessOptions = {}): Duplex {
  // Like a TCP socket: a side whose input ended ends its output too.
  const [client, server] = duplexPair({ allowHalfOpen: false });
  attachStream(core, server, { ...options, remoteAddress: options.remoteAddress ?? 'in-process' });
  return client;
}
