/**
 * A chat-roulette test client, like the old server's `client.py`: it registers,
 * answers pings, prints its pairings and what its peer sends, and sends its peer a
 * `comm` every few seconds.
 *
 * ```sh
 * npm run client -- --port 44333 --uco alice --every-ms 2000
 * ```
 *
 * Options: `--host` (127.0.0.1), `--port` (44333), `--uco` (random), `--session`
 * (random), `--every-ms` (3000), `--count N` (exit after N received messages).
 *
 * Prints to stdout, one event a line: `registered as <uco>`, `paired with <uco>`,
 * `from <uco>: <text>`, `exit: <reason>`. Exits with 0 after the server's `exit`
 * message (or after `--count` messages, or SIGINT), 1 on a connection error, 2 on a
 * bad option.
 *
 * @module
 */
import net from 'node:net';
import { parseArgs } from 'node:util';
import { DEFAULTS, LineFramer, TCP_DEFAULTS } from 'chat-roulette';

const USAGE = `Usage: client.ts [--host H] [--port P] [--uco U] [--session S] [--every-ms N] [--count N]
  --host H      server address (default 127.0.0.1)
  --port P      server port (default ${TCP_DEFAULTS.port})
  --uco U       our identifier (default: random digits)
  --session S   our session (default: random)
  --every-ms N  send our peer a message every N ms (default 3000)
  --count N     exit after receiving N messages
`;

/** How long to wait for the server's reply to our `exit` before closing anyway. */
const EXIT_GRACE_MS = 2_000;

interface ClientOptions {
  host: string;
  port: number;
  uco: string;
  session: string;
  everyMs: number;
  count: number | undefined;
}

/** A server message, once parsed. */
type ServerMessage = Record<string, unknown>;

function parseOptions(argv: string[]): ClientOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: String(TCP_DEFAULTS.port) },
      uco: { type: 'string', default: String(100_000 + Math.floor(Math.random() * 900_000)) },
      session: { type: 'string', default: Math.random().toString(36).slice(2, 10) },
      'every-ms': { type: 'string', default: '3000' },
      count: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help === true) return 'help';
  return {
    host: values.host,
    port: integer('port', values.port, 0),
    uco: values.uco,
    session: values.session,
    everyMs: integer('every-ms', values['every-ms'], 1),
    count: values.count === undefined ? undefined : integer('count', values.count, 1),
  };
}

function integer(name: string, text: string, min: number): number {
  const value = Number(text);
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(value) || value < min) {
    throw new Error(`--${name} must be an integer >= ${min}, got '${text}'`);
  }
  return value;
}

/** One client connection and its small state machine. */
class RouletteClient {
  private readonly socket: net.Socket;
  private readonly framer = new LineFramer(DEFAULTS.maxLineBytes);
  private nonce = 0;
  private peer: string | undefined;
  private sent = 0;
  private received = 0;
  private exiting = false;
  private sawExit = false;
  private failed = false;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly options: ClientOptions) {
    this.socket = net.connect(options.port, options.host);
    this.socket.on('connect', () => this.send({ cmd: 'connect' }));
    this.socket.on('data', (chunk: Buffer) =>
      this.framer.push(chunk, {
        onLine: (line) => this.onLine(line.toString('utf8')),
        onLineTooLong: () => console.error('error: line from the server too long, skipped'),
      }),
    );
    this.socket.on('error', (error) => {
      console.error(`error: ${error.message}`);
      this.failed = true;
      process.exitCode = 1;
    });
    this.socket.on('close', () => this.onClose());
    this.timer = setInterval(() => this.sendComm(), options.everyMs);
  }

  /** Asks the server to let us go (PROTOCOL §3 exit); closes anyway after a grace period. */
  exit(): void {
    if (this.exiting) return;
    this.exiting = true;
    clearInterval(this.timer);
    if (this.socket.writable) this.send({ cmd: 'exit' });
    setTimeout(() => this.socket.destroy(), EXIT_GRACE_MS).unref();
  }

  private onLine(line: string): void {
    let msg: ServerMessage;
    try {
      msg = JSON.parse(line) as ServerMessage;
    } catch {
      console.error(`error: not JSON from the server: ${line}`);
      return;
    }
    if (msg.exit === true) {
      this.sawExit = true;
      console.log(`exit: ${String(msg.reason)}`);
      clearInterval(this.timer);
      return; // the server closes the connection next
    }
    if (typeof msg.ack === 'string') {
      console.log(`registered as ${this.options.uco}`);
    } else if (msg.cmd === 'ping') {
      this.send({ cmd: 'pong' }); // PROTOCOL §5: only pong keeps us alive
    } else if (msg.cmd === 'pair') {
      this.peer = String(msg.uco);
      console.log(`paired with ${this.peer}`);
      this.sendComm();
    } else if (msg.cmd === 'comm') {
      this.onComm(msg);
    } else if (typeof msg.error === 'string') {
      // PROTOCOL §6: no message tells us our peer left; this reply does. Wait for a new pair.
      if (msg.error === 'no peer') {
        console.log(`peer ${this.peer ?? ''} left; waiting for a new pair`);
        this.peer = undefined;
      } else {
        console.error(`error: ${msg.error}`);
      }
    } else {
      console.error(`unexpected message: ${line}`);
    }
  }

  private onComm(msg: ServerMessage): void {
    // After --count, a message already in flight before our exit is not counted.
    if (this.exiting) return;
    console.log(`from ${String(msg.uco)}: ${String(msg.msg)}`);
    this.received++;
    if (this.options.count !== undefined && this.received >= this.options.count) this.exit();
  }

  private sendComm(): void {
    if (this.peer === undefined || this.exiting) return;
    this.sent++;
    this.send({ cmd: 'comm', msg: `hello #${this.sent} from ${this.options.uco} to ${this.peer}` });
  }

  /** Every message carries our identity, as the course clients' do (PROTOCOL §2). */
  private send(message: Record<string, unknown>): void {
    const { uco, session } = this.options;
    this.socket.write(`${JSON.stringify({ ...message, uco, session, nonce: ++this.nonce })}\n`);
  }

  private onClose(): void {
    clearInterval(this.timer);
    if (!this.sawExit && !this.exiting && !this.failed) {
      console.error('error: the server closed the connection without an exit message');
      process.exitCode = 1;
    }
  }
}

function main(): void {
  let options: ClientOptions | 'help';
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    console.error(`client: ${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (options === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  const client = new RouletteClient(options);
  process.once('SIGINT', () => client.exit());
  process.once('SIGTERM', () => client.exit());
}

main();
