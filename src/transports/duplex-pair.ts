/**
 * Two connected in-memory `Duplex` streams: what one side writes, the other reads.
 * `node:stream` has `duplexPair()` since Node 22 only; this is the same idea for
 * Node 20, used by {@link connectInProcess} and by tests.
 *
 * @module
 */
import { Duplex, finished, type DuplexOptions } from 'node:stream';

type WriteCallback = (error?: Error | null) => void;

/**
 * One end of a {@link duplexPair}. A write is handed to the other end's readable side
 * and completes only when that end asks for more data, so a reader that stops reading
 * makes the writer's `writableLength` grow, as a socket's would.
 */
class DuplexSide extends Duplex {
  /** The other end; set once by {@link duplexPair}. */
  private other: DuplexSide | undefined;
  /** The callback of this side's write that the other end has not consumed yet. */
  private pendingWrite: WriteCallback | undefined;

  /** Connects this side to the other end; called once by {@link duplexPair}. */
  link(other: DuplexSide): void {
    this.other = other;
  }

  override _read(): void {
    this.other?.releaseWrite();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: WriteCallback): void {
    const other = this.other;
    if (other === undefined || other.destroyed) {
      callback(new Error('duplex pair: the other side is destroyed'));
      return;
    }
    if (chunk.length === 0) {
      process.nextTick(callback);
      return;
    }
    // Store first: push() may ask for more (call _read) synchronously.
    this.pendingWrite = callback;
    other.push(chunk);
  }

  override _final(callback: WriteCallback): void {
    const other = this.other;
    if (other === undefined || other.destroyed) {
      callback();
      return;
    }
    // Finish once the other end has read everything, so that neither end's
    // auto-destroy can drop data the other has not read yet.
    finished(other, { readable: true, writable: false }, () => callback());
    other.push(null);
  }

  override _destroy(error: Error | null, callback: WriteCallback): void {
    const other = this.other;
    this.pendingWrite = undefined;
    // Like a reset connection: the other end closes too.
    if (other !== undefined && !other.destroyed) other.destroy();
    callback(error);
  }

  /** The other end consumed our last chunk: complete that write. */
  private releaseWrite(): void {
    const callback = this.pendingWrite;
    if (callback === undefined) return;
    this.pendingWrite = undefined;
    callback();
  }
}

/**
 * Creates two connected `Duplex` streams, like `duplexPair()` of `node:stream`
 * (Node ≥ 22). Ending one end ends the other's readable side; destroying one end
 * destroys the other (without an error, as Node's does).
 *
 * @param options - passed to both `Duplex` constructors.
 * @returns `[a, b]`: bytes written to `a` are read from `b` and the reverse.
 *
 * @example
 * ```ts
 * const [client, server] = duplexPair();
 * server.on('data', (chunk) => server.write(chunk)); // echo
 * client.write('hello\n');
 * ```
 */
export function duplexPair(options?: DuplexOptions): [Duplex, Duplex] {
  const a = new DuplexSide(options);
  const b = new DuplexSide(options);
  a.link(b);
  b.link(a);
  return [a, b];
}
