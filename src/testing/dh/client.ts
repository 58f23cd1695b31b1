/**
 * The reference peer as an ordinary chat-roulette client over any `Duplex` (a TCP
 * socket, an in-process stream): it connects, answers pings and plays the DH
 * exercise in every round it is paired for.
 *
 * @module
 */
import { connect as netConnect, type Socket } from 'node:net';
import type { Duplex, Writable } from 'node:stream';
import createDebug from 'debug';
import type { RouletteCore } from '../../core/core.js';
import { LineFramer, type LineSink } from '../../core/framing.js';
import { writeRoundLog, type RoundLog } from './log.js';
import { DhReferencePeer, type DhPeerOptions } from './peer.js';
import { watchStudents } from './watch.js';

const log = createDebug('chat-roulette:peer');

/** Defaults of {@link ReferencePeerClientOptions}. */
export const REFERENCE_CLIENT_DEFAULTS = Object.freeze({
  /** Longest server line read, in bytes (relayed lines are at most the server's `maxLineBytes`). */
  maxLineBytes: 1024 * 1024,
  /** After `close()` sent `exit`, the stream is destroyed if still open after this, in ms. */
  closeTimeoutMs: 2_000,
});

/** Options of {@link attachReferencePeer}. */
export interface ReferencePeerClientOptions extends DhPeerOptions {
  /** Where to write the round events as NDJSON (see {@link writeRoundLog}). */
  log?: Writable | undefined;
  /** End {@link ReferencePeerClientOptions.log} when the client closes (false for stdout). @defaultValue `true` */
  endLog?: boolean;
  /** Called once if writing {@link ReferencePeerClientOptions.log} fails; the log stops, the peer goes on. */
  onLogError?: (error: Error) => void;
  /** Longest server line read, in bytes. @defaultValue `1048576` */
  maxLineBytes?: number;
  /** Grace period of {@link ReferencePeerHandle.close}, in ms (real time). @defaultValue `2000` */
  closeTimeoutMs?: number;
  /**
   * The in-process core the stream is served by (e.g. `harness.core`): the peer then
   * also logs students the server dropped or refused, and ends a round as incomplete
   * the moment its student leaves (see {@link watchStudents}). Without it (over TCP)
   * the peer sees only its own connection. @defaultValue none
   */
  core?: RouletteCore | undefined;
}

/** Options of {@link runReferencePeer}. */
export interface RunReferencePeerOptions extends ReferencePeerClientOptions {
  /** Server host. */
  host: string;
  /** Server TCP port. */
  port: number;
}

/** A running reference client, from {@link attachReferencePeer} or {@link runReferencePeer}. */
export interface ReferencePeerHandle {
  /** The state machine: subscribe to its `round` events. */
  readonly peer: DhReferencePeer;
  /** Resolves when the connection is gone (by either side), with the transport error if any. */
  readonly closed: Promise<Error | undefined>;
  /**
   * Ends a running round as incomplete (`the reference peer stopped`), sends `exit`,
   * ends the stream (destroying it after the grace period), closes the NDJSON log.
   * Idempotent.
   */
  close(): Promise<void>;
}

/**
 * Runs a {@link DhReferencePeer} over `stream`: sends `connect` at once, then feeds every
 * server line to the peer and writes its answers.
 *
 * @example In-process, against a core
 * ```ts
 * const ref = attachReferencePeer(connectInProcess(core), { uco: 'ref1' });
 * ref.peer.on('round', (e) => console.log(e));
 * ```
 */
export function attachReferencePeer(stream: Duplex, options: ReferencePeerClientOptions): ReferencePeerHandle {
  return new ReferenceClient(stream, options);
}

/**
 * Connects to a chat-roulette server over TCP and runs the reference peer there.
 * Resolves once the socket is connected; rejects if it cannot connect.
 *
 * @example
 * ```ts
 * const ref = await runReferencePeer({ host: '127.0.0.1', port: 44333, uco: 'ref1', log: fs.createWriteStream('ref1.ndjson') });
 * // …
 * await ref.close();
 * ```
 */
export async function runReferencePeer(options: RunReferencePeerOptions): Promise<ReferencePeerHandle> {
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = netConnect({ host: options.host, port: options.port });
    const onError = (error: Error): void => reject(error);
    s.once('error', onError);
    s.once('connect', () => {
      s.off('error', onError);
      s.setNoDelay(true);
      resolve(s);
    });
  });
  log('%s connected to %s:%d', options.uco, options.host, options.port);
  return attachReferencePeer(socket, options);
}

/** The {@link ReferencePeerHandle} over one stream. */
class ReferenceClient implements ReferencePeerHandle, LineSink {
  readonly peer: DhReferencePeer;
  readonly closed: Promise<Error | undefined>;
  private readonly framer: LineFramer;
  private readonly roundLog: RoundLog | undefined;
  private readonly closeTimeoutMs: number;
  private readonly unwatch: () => void;
  private error: Error | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly stream: Duplex,
    options: ReferencePeerClientOptions,
  ) {
    this.peer = new DhReferencePeer(options);
    this.framer = new LineFramer(options.maxLineBytes ?? REFERENCE_CLIENT_DEFAULTS.maxLineBytes);
    this.closeTimeoutMs = options.closeTimeoutMs ?? REFERENCE_CLIENT_DEFAULTS.closeTimeoutMs;
    this.roundLog =
      options.log === undefined
        ? undefined
        : writeRoundLog(this.peer, options.log, {
            end: options.endLog ?? true,
            ...(options.onLogError === undefined ? {} : { onError: options.onLogError }),
          });
    this.closed = new Promise((resolve) => {
      stream.once('close', () => resolve(this.error));
    });
    stream.on('data', (chunk: Buffer | string) => this.framer.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk, this));
    stream.on('error', (error: Error) => {
      this.error = error;
      log('%s: transport error %s', this.peer.uco, error.message);
    });
    this.unwatch = options.core === undefined ? () => undefined : watchStudents(options.core, this.peer);
    stream.once('close', () => {
      this.unwatch();
      this.peer.stop("the reference peer's connection closed");
    });
    this.write(this.peer.connectLine());
  }

  /** @internal LineSink */
  onLine(line: Buffer): void {
    for (const answer of this.peer.receive(line.toString('utf8'))) this.write(answer);
  }

  /** @internal LineSink */
  onLineTooLong(): void {
    log('%s: skipped a server line longer than the limit', this.peer.uco);
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.unwatch();
    this.peer.stop('the reference peer stopped');
    if (!this.stream.destroyed) {
      this.write(this.peer.exitLine());
      this.stream.end();
      const timer = setTimeout(() => this.stream.destroy(), this.closeTimeoutMs);
      timer.unref();
      await this.closed;
      clearTimeout(timer);
    }
    await this.roundLog?.close();
  }

  private write(line: string): void {
    if (this.stream.writable) this.stream.write(`${line}\n`);
  }
}
