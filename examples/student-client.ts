/**
 * A small chat-roulette client, the kind a student writes: it registers, answers
 * pings, and greets each new peer with a `comm`. It is written against a socket (any
 * `Duplex`), so the same class runs over TCP and, in tests, fully in-process — see
 * `test/examples/student-client.test.ts` and docs/testing-student-clients.md.
 *
 * ```sh
 * npx chat-roulette start --port 44333 &
 * npx tsx examples/student-client.ts --port 44333 --uco 409123
 * ```
 *
 * @module
 */
import net from 'node:net';
import { createInterface } from 'node:readline';
import type { Duplex } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

/** A message as it travels: one JSON object. */
export type Message = Record<string, unknown>;

/** Options of {@link StudentClient}. */
export interface StudentClientOptions {
  /** The uco to register. */
  uco: string;
  /** The session sent with every message. @defaultValue `"s1"` */
  session?: string;
  /** Called with every message the server sends (after the client has handled it). */
  onMessage?: (message: Message) => void;
}

/**
 * The client: give it a connected socket, call {@link StudentClient.start}.
 *
 * - sends `connect` with its uco, session and a nonce;
 * - answers every `{"cmd":"ping"}` with `pong` (PROTOCOL §5: or the server drops it);
 * - on `{"cmd":"pair","uco":…}` greets the new peer with a `comm`;
 * - keeps the `comm` messages its peer sends in {@link StudentClient.inbox};
 * - on `{"exit":true,…}` ends the socket.
 */
export class StudentClient {
  /** True once the server acknowledged `connect`. */
  registered = false;
  /** The current peer's uco. */
  peer: string | undefined;
  /** Every `comm` received from a peer, in order. */
  readonly inbox: Message[] = [];
  /** The reason of the server's `exit` message, once received. */
  exitReason: string | undefined;
  private nonce = 0;

  /** @param socket - a connected socket: `net.connect(...)`, or a test harness stream. */
  constructor(
    private readonly socket: Duplex,
    private readonly options: StudentClientOptions,
  ) {
    createInterface({ input: socket, crlfDelay: Infinity }).on('line', (line) => this.onLine(line));
    socket.on('end', () => socket.end());
    socket.on('error', () => socket.destroy());
  }

  /** Registers with the server. */
  start(): void {
    this.send({ cmd: 'connect' });
  }

  /** Leaves: the server answers `{"exit":true,"reason":"client exit"}` and closes. */
  exit(): void {
    this.send({ cmd: 'exit' });
  }

  private send(fields: Message): void {
    const message = { ...fields, uco: this.options.uco, session: this.options.session ?? 's1', nonce: ++this.nonce };
    this.socket.write(JSON.stringify(message) + '\n');
  }

  private onLine(line: string): void {
    let message: Message;
    try {
      message = JSON.parse(line) as Message;
    } catch {
      return; // not JSON: ignore it
    }
    if (message.cmd === 'ping') {
      this.send({ cmd: 'pong' });
    } else if (message.cmd === 'pair' && typeof message.uco === 'string') {
      this.peer = message.uco;
      this.send({ cmd: 'comm', text: `hello ${message.uco}, this is ${this.options.uco}` });
    } else if (message.cmd === 'comm') {
      this.inbox.push(message);
    } else if ('ack' in message) {
      this.registered = true;
    } else if (message.exit === true) {
      this.exitReason = String(message.reason);
      this.socket.end();
    }
    this.options.onMessage?.(message);
  }
}

/** Runs the client over TCP: `--host`, `--port`, `--uco`; prints every server message. */
function main(): void {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '44333' },
      uco: { type: 'string', default: 'student' },
    },
  });
  const socket = net.connect({ host: values.host, port: Number(values.port) });
  const client = new StudentClient(socket, { uco: values.uco, onMessage: (m) => console.log(JSON.stringify(m)) });
  socket.on('connect', () => client.start());
  socket.on('close', () => console.log('disconnected'));
  process.on('SIGINT', () => client.exit());
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
