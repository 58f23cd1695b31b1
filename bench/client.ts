/**
 * The generator's client: one TCP socket speaking the wire protocol (PROTOCOL §1–4).
 * It answers pings, remembers its peer, and hands relayed `comm` lines to a hook
 * without parsing them as JSON (the generator must stay cheaper than the server).
 *
 * @module
 */
import { connect as netConnect, type Socket } from 'node:net';

const LF = 0x0a;
const PONG = '{"cmd":"pong"}\n';
/** Relayed lines start with this (the generator writes them so). */
const COMM_PREFIX = Buffer.from('{"cmd":"comm"');

/** What a client has seen that was not a relayed line. */
export interface ClientCounters {
  pings: number;
  errors: number;
  exits: number;
}

/** One benchmark client connection. */
export class BenchClient {
  /** Our uco (set at `connect`, or told by the baseline's pair line). */
  uco = '';
  /** The current peer's uco, from the last `pair` line. */
  peer: string | undefined = undefined;
  /** Nonce of the last `ack`. */
  acked: string | undefined = undefined;
  /** Counters of control traffic. */
  readonly counters: ClientCounters = { pings: 0, errors: 0, exits: 0 };
  /** The last error or exit line, for diagnostics. */
  lastProblem = '';
  /** Called with each relayed `comm` line (without its `\n`); the buffer is only valid during the call. */
  onComm: ((line: Buffer) => void) | undefined = undefined;
  /** Called after each chunk of input has been split into lines. */
  afterChunk: (() => void) | undefined = undefined;
  /** Called for each control line (ack, pair, ping, error, exit), parsed. */
  onControl: ((msg: Record<string, unknown>) => void) | undefined = undefined;
  closed = false;
  private rest: Buffer | undefined = undefined;

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => {
      this.closed = true;
    });
  }

  /** Writes one message object as a line. */
  send(message: object): void {
    if (!this.closed) this.socket.write(`${JSON.stringify(message)}\n`);
  }

  /** Writes raw text (one or more complete lines). */
  write(text: string): void {
    if (!this.closed) this.socket.write(text);
  }

  /** Closes the socket (FIN), and destroys it if still open after a moment. */
  close(): void {
    if (this.closed) return;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1_000).unref();
  }

  private onData(chunk: Buffer): void {
    let buf = chunk;
    if (this.rest !== undefined) {
      buf = Buffer.concat([this.rest, chunk]);
      this.rest = undefined;
    }
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(LF, start);
      if (nl === -1) break;
      this.onLine(buf.subarray(start, nl));
      start = nl + 1;
    }
    if (start < buf.length) this.rest = Buffer.from(buf.subarray(start));
    this.afterChunk?.();
  }

  private onLine(line: Buffer): void {
    if (line.length > COMM_PREFIX.length && line.compare(COMM_PREFIX, 0, COMM_PREFIX.length, 0, COMM_PREFIX.length) === 0) {
      this.onComm?.(line);
      return;
    }
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line.toString('utf8')) as Record<string, unknown>;
    } catch {
      this.counters.errors++;
      this.lastProblem = line.toString('utf8', 0, 200);
      return;
    }
    if (msg.cmd === 'ping') {
      this.counters.pings++;
      this.write(PONG);
    } else if (msg.cmd === 'pair') {
      this.peer = String(msg.uco);
      // The baseline relay has no registry: it tells each socket its own name.
      if (typeof msg.self === 'string') this.uco = msg.self;
    } else if (msg.ack !== undefined) {
      this.acked = String(msg.ack);
    } else if (msg.error !== undefined) {
      this.counters.errors++;
      this.lastProblem = line.toString('utf8', 0, 200);
    } else if (msg.exit !== undefined) {
      this.counters.exits++;
      this.lastProblem = line.toString('utf8', 0, 200);
    }
    this.onControl?.(msg);
  }
}

/** Opens a TCP connection (no Nagle delay) and resolves once it is established. */
export function openClient(host: string, port: number, timeoutMs: number, localAddress?: string): Promise<BenchClient> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host, port, noDelay: true, ...(localAddress === undefined ? {} : { localAddress }) });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connect to ${host}:${port} timed out`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeListener('error', onError);
      resolve(new BenchClient(socket));
    });
    const onError = (err: Error): void => {
      clearTimeout(timer);
      reject(err);
    };
    socket.once('error', onError);
  });
}

/** Resolves when `check()` holds (polled every 5 ms), or fails after `timeoutMs`. */
export function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (check()) {
      resolve();
      return;
    }
    const started = Date.now();
    const timer = setInterval(() => {
      if (check()) {
        clearInterval(timer);
        resolve();
      } else if (Date.now() - started > timeoutMs) {
        clearInterval(timer);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }
    }, 5);
  });
}

/** Runs `task(i)` for i in [0, count) with at most `limit` running at once. */
export async function pool<T>(count: number, limit: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      out[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
  return out;
}
