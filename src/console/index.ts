/**
 * The teacher's console: a live dashboard, Prometheus metrics, a health check and
 * live grading of the Diffie–Hellman exercise, as one Node request handler to mount
 * in any HTTP server. `chat-roulette start --http` is a thin user of it.
 *
 * @example
 * ```ts
 * import http from 'node:http';
 * import { RouletteCore, listen } from 'chat-roulette';
 * import { createConsole } from 'chat-roulette/console';
 *
 * const core = new RouletteCore();
 * core.start();
 * await listen(core, { port: 44333 });
 * const dashboard = createConsole(core, { token: process.env.CHAT_ROULETTE_HTTP_TOKEN });
 * http.createServer(dashboard).listen(8080, '127.0.0.1');
 * ```
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import createDebug from 'debug';
import type { RouletteCore } from '../core/core.js';
import { RouletteError } from '../core/errors.js';
import type { DhReferencePeer } from '../testing/dh/peer.js';
import { AccessControl, loopbackHostHeader, sameOriginJson } from './auth.js';
import { GradingBoard } from './grading.js';
import { METRICS_CONTENT_TYPE } from './metrics.js';
import { pagePolicy, renderPage } from './page.js';
import { SseChannel } from './sse.js';
import { ConsoleState } from './state.js';

export { bindRefusal, isLoopbackHost, CONSOLE_COOKIE, CONSOLE_TOKEN_ENV } from './auth.js';
export { PAIR_LATENCY_BOUNDS } from './state.js';
export type { ConsoleView, ConsoleCounts, RelayRate, ClientRow, ExitRow, GradingView } from './state.js';
export { METRICS_CONTENT_TYPE } from './metrics.js';

const log = createDebug('chat-roulette:console');

/** Defaults of {@link ConsoleOptions}. */
export const CONSOLE_DEFAULTS = Object.freeze({
  /** Page title. */
  title: 'chat-roulette',
  /** At least this long between two live updates of a page, in ms. */
  updateIntervalMs: 1_000,
  /** Period of the relay-rate samples, in ms. */
  sampleMs: 1_000,
  /** Samples kept for the relay-rate chart (5 minutes at one per second). */
  samples: 300,
  /** Client rows sent to the page (the counts are always complete). */
  maxClientRows: 500,
  /** Recent exits shown. */
  recentExits: 50,
  /** A comment on idle event streams this often, in ms. */
  heartbeatMs: 15_000,
});

/** What {@link ConsoleOptions.health} reports. */
export interface ConsoleHealth {
  /** Whether the server can serve. */
  ok: boolean;
  /** Why not, shown in `/healthz`'s body. */
  reason?: string;
}

/** An operator action, as given to {@link ConsoleOptions.onAction} once done. */
export interface ConsoleAction {
  /** What was done. */
  action: 'disconnect' | 'epoch' | 'pair';
  /** The ucos it concerned. */
  ucos: string[];
  /** The requester's address. */
  remoteAddress: string | undefined;
}

/** Options of {@link createConsole}. */
export interface ConsoleOptions {
  /**
   * The access token. With one, every route but `/healthz` needs it (`Authorization:
   * Bearer <token>`, or `?token=<token>` once, which sets a cookie) and operator
   * actions are enabled; without one, everything is readable by whoever reaches the
   * handler and there are no operator actions. @defaultValue `undefined`
   */
  token?: string | undefined;
  /**
   * Without a token, serve requests addressed to any host name. By default a console
   * without a token answers only requests whose `Host` is a loopback name or address
   * (`localhost`, `127.0.0.1`, `[::1]`), so that a web page elsewhere cannot read the
   * student ids through DNS rebinding. Ignored with a token. @defaultValue `false`
   */
  publicAccess?: boolean;
  /**
   * Reference peers running in this process (e.g. `attachReferencePeer` of
   * `chat-roulette/testing` over `connectInProcess`): their rounds are graded live.
   * @defaultValue `[]`
   */
  referencePeers?: readonly DhReferencePeer[];
  /**
   * Extra health condition of `/healthz` (e.g. a cluster backend): 503 with its reason
   * while it is not ok. @defaultValue always ok
   */
  health?: () => ConsoleHealth;
  /** Called after each operator action (the console also logs it with `debug`). */
  onAction?: (action: ConsoleAction) => void;
  /** The page's title. @defaultValue `"chat-roulette"` */
  title?: string;
  /** At least this long between two live updates of a page, in ms. @defaultValue `1000` */
  updateIntervalMs?: number;
  /** Period of the relay-rate samples, in ms. @defaultValue `1000` */
  sampleMs?: number;
  /** Samples kept for the relay-rate chart. @defaultValue `300` */
  samples?: number;
  /** Client rows sent to the page. @defaultValue `500` */
  maxClientRows?: number;
  /** Recent exits shown. @defaultValue `50` */
  recentExits?: number;
  /** A comment on idle event streams this often, in ms. @defaultValue `15000` */
  heartbeatMs?: number;
}

/**
 * The console: a Node request handler (`(req, res) => void`) to give to
 * `http.createServer` or to mount in a framework, with a life cycle.
 *
 * Routes (relative to where it is mounted): `/` the page, `/events` its live stream,
 * `/api/state` the same view as JSON, `/metrics`, `/healthz`; with grading,
 * `/rounds.ndjson`, `/report.txt`, `/report.json`; with a token, `POST /api/epoch`,
 * `/api/disconnect` `{"uco"}` and `/api/pair` `{"a","b"}`.
 */
export interface RouletteConsole {
  /** Serves one request. */
  (req: IncomingMessage, res: ServerResponse): void;
  /** Open live streams. */
  readonly streams: number;
  /**
   * The server is stopping: `/healthz` answers 503 and live pages are told. The
   * other routes keep working until {@link RouletteConsole.close}.
   */
  shutdown(): void;
  /** Ends the live streams, stops the timers and listeners. Idempotent. */
  close(): void;
}

/**
 * Creates the console of `core`. It listens to the core's events and samples its
 * counters once per {@link ConsoleOptions.sampleMs} on the core's clock until
 * {@link RouletteConsole.close}.
 *
 * @throws `RouletteError` `ERR_INVALID_OPTION` for an invalid option.
 */
export function createConsole(core: RouletteCore, options: ConsoleOptions = {}): RouletteConsole {
  return new ConsoleServer(core, options).handler();
}

/** Reads a request body of at most this many bytes (operator actions are tiny). */
const MAX_BODY_BYTES = 4_096;

class ConsoleServer {
  private readonly access: AccessControl;
  private readonly grading: GradingBoard | undefined;
  private readonly state: ConsoleState;
  private readonly channel: SseChannel;
  private readonly title: string;
  private stopping = false;
  private closed = false;

  constructor(
    private readonly core: RouletteCore,
    private readonly options: ConsoleOptions,
  ) {
    const numbers = {
      updateIntervalMs: options.updateIntervalMs ?? CONSOLE_DEFAULTS.updateIntervalMs,
      sampleMs: options.sampleMs ?? CONSOLE_DEFAULTS.sampleMs,
      samples: options.samples ?? CONSOLE_DEFAULTS.samples,
      maxClientRows: options.maxClientRows ?? CONSOLE_DEFAULTS.maxClientRows,
      recentExits: options.recentExits ?? CONSOLE_DEFAULTS.recentExits,
      heartbeatMs: options.heartbeatMs ?? CONSOLE_DEFAULTS.heartbeatMs,
    };
    for (const [name, value] of Object.entries(numbers)) {
      const min = name === 'updateIntervalMs' || name === 'maxClientRows' || name === 'recentExits' ? 0 : 1;
      if (!Number.isSafeInteger(value) || value < min) {
        throw new RouletteError('ERR_INVALID_OPTION', `console option ${name} must be an integer >= ${min}, got ${String(value)}`);
      }
    }
    if (options.token !== undefined && options.token === '') {
      throw new RouletteError('ERR_INVALID_OPTION', 'console option token must not be empty');
    }
    this.title = options.title ?? CONSOLE_DEFAULTS.title;
    this.access = new AccessControl(options.token);
    const changed = (): void => this.channel.changed();
    const peers = options.referencePeers ?? [];
    this.grading = peers.length === 0 ? undefined : new GradingBoard(peers, changed);
    this.state = new ConsoleState(core, numbers, this.grading, changed);
    this.channel = new SseChannel(
      core.clock,
      { intervalMs: numbers.updateIntervalMs, heartbeatMs: numbers.heartbeatMs },
      'state',
      () => JSON.stringify(this.state.view()),
    );
  }

  handler(): RouletteConsole {
    const handle = (req: IncomingMessage, res: ServerResponse): void => this.serve(req, res);
    return Object.defineProperties(handle, {
      streams: { get: () => this.channel.size, enumerable: true },
      shutdown: { value: () => this.shutdown() },
      close: { value: () => this.close() },
    }) as RouletteConsole;
  }

  private shutdown(): void {
    this.stopping = true;
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopping = true;
    this.channel.close({ event: 'shutdown', data: '{}' });
    this.state.close();
    this.grading?.close();
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://console.invalid');
    const path = url.pathname;
    if (path === '/healthz') {
      this.health(req, res);
      return;
    }
    const given = url.searchParams.get('token');
    if (given !== null && req.method === 'GET') {
      this.tokenLogin(given, url, res);
      return;
    }
    const access = this.access.check(req);
    if (access === 'open' && this.options.publicAccess !== true && !loopbackHostHeader(req.headers.host)) {
      send(res, 403, 'text/plain; charset=utf-8', 'This console has no token: it answers only on localhost, 127.0.0.1 or [::1].\n');
      return;
    }
    if (access === 'denied') {
      send(res, 401, 'text/plain; charset=utf-8', 'This console needs its token: open it once with ?token=<token>, or send Authorization: Bearer <token>.\n', {
        'www-authenticate': 'Bearer realm="chat-roulette console"',
      });
      return;
    }
    if (req.method === 'POST' && path.startsWith('/api/')) {
      this.action(req, res, path.slice(5), access === 'granted');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { allow: 'GET, HEAD' });
      return;
    }
    this.read(req, res, path, access === 'granted');
  }

  private read(req: IncomingMessage, res: ServerResponse, path: string, operator: boolean): void {
    switch (path) {
      case '/':
      case '/index.html': {
        const nonce = randomBytes(16).toString('base64');
        send(res, 200, 'text/html; charset=utf-8', renderPage({ title: this.title, operator, nonce }), {
          'content-security-policy': pagePolicy(nonce),
          'x-content-type-options': 'nosniff',
          'referrer-policy': 'no-referrer',
        });
        return;
      }
      case '/events':
        if (req.method === 'HEAD') send(res, 200, 'text/event-stream; charset=utf-8', '');
        else this.channel.add(res);
        return;
      case '/api/state':
        send(res, 200, 'application/json; charset=utf-8', JSON.stringify(this.state.view()));
        return;
      case '/metrics':
        send(res, 200, METRICS_CONTENT_TYPE, this.state.metrics({ sseClients: this.channel.size }));
        return;
      default:
        break;
    }
    const grading = this.grading;
    if (grading !== undefined) {
      switch (path) {
        case '/rounds.ndjson':
          send(res, 200, 'application/x-ndjson; charset=utf-8', grading.ndjson(), attachment('rounds.ndjson'));
          return;
        case '/report.txt':
          send(res, 200, 'text/plain; charset=utf-8', grading.text(), attachment('report.txt'));
          return;
        case '/report.json':
          send(res, 200, 'application/json; charset=utf-8', `${JSON.stringify(grading.report(), null, 2)}\n`, attachment('report.json'));
          return;
        default:
          break;
      }
    }
    send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
  }

  /** 200 while serving; 503 while shutting down, stopped, or unhealthy by the hook. */
  private health(req: IncomingMessage, res: ServerResponse): void {
    let reason: string | undefined;
    if (this.stopping) reason = 'shutting down';
    else if (!this.core.running) reason = 'not running';
    else {
      const hook = this.options.health?.();
      if (hook !== undefined && !hook.ok) reason = hook.reason ?? 'unavailable';
    }
    const body = reason === undefined ? 'ok\n' : `${reason}\n`;
    send(res, reason === undefined ? 200 : 503, 'text/plain; charset=utf-8', req.method === 'HEAD' ? '' : body);
  }

  /** `?token=`: the right token becomes a cookie, and the address loses the token. */
  private tokenLogin(given: string, url: URL, res: ServerResponse): void {
    if (!this.access.matches(given)) {
      send(res, 401, 'text/plain; charset=utf-8', 'wrong token\n');
      return;
    }
    url.searchParams.delete('token');
    const location = `${url.pathname.split('/').pop() || './'}${url.search}`;
    res.writeHead(303, { location, 'set-cookie': this.access.cookie(), 'cache-control': 'no-store' }).end();
  }

  /** An operator action: POST, JSON, same origin, with the token. */
  private action(req: IncomingMessage, res: ServerResponse, name: string, operator: boolean): void {
    if (!operator) {
      sendJson(res, 403, { ok: false, message: 'operator actions need a token (--http-token)' });
      return;
    }
    if (!sameOriginJson(req)) {
      sendJson(res, 403, { ok: false, message: 'operator actions need Content-Type application/json from this origin' });
      return;
    }
    readBody(req, (body) => {
      if (body === undefined) {
        sendJson(res, 400, { ok: false, message: 'the body must be a JSON object of at most 4096 bytes' });
        return;
      }
      const remoteAddress = req.socket.remoteAddress;
      const done = (action: ConsoleAction['action'], ucos: string[], message: string): void => {
        log('operator action %s %o from %s', action, ucos, remoteAddress ?? '?');
        this.options.onAction?.({ action, ucos, remoteAddress });
        sendJson(res, 200, { ok: true, message });
      };
      const text = (key: string): string => (typeof body[key] === 'string' ? (body[key] as string) : '');
      switch (name) {
        case 'epoch':
          this.core.nextEpoch();
          done('epoch', [], `epoch ${this.core.epoch} started`);
          return;
        case 'disconnect': {
          const uco = text('uco');
          if (!this.core.disconnectClient(uco)) {
            sendJson(res, 404, { ok: false, message: `'${uco}' is not registered` });
            return;
          }
          done('disconnect', [uco], `${uco} disconnected`);
          return;
        }
        case 'pair': {
          const a = text('a');
          const b = text('b');
          try {
            this.core.pair(a, b);
          } catch (error) {
            sendJson(res, 409, { ok: false, message: error instanceof Error ? error.message : String(error) });
            return;
          }
          done('pair', [a, b], `${a} and ${b} paired`);
          return;
        }
        default:
          sendJson(res, 404, { ok: false, message: `no action ${name}` });
      }
    });
  }
}

function send(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json; charset=utf-8', `${JSON.stringify(value)}\n`);
}

function attachment(name: string): Record<string, string> {
  return { 'content-disposition': `attachment; filename="${name}"` };
}

/** The body as a JSON object, or `undefined` when too long or not an object. */
function readBody(req: IncomingMessage, then: (body: Record<string, unknown> | undefined) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLong = false;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) tooLong = true;
    else chunks.push(chunk);
  });
  req.on('end', () => {
    if (tooLong) {
      then(undefined);
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    } catch {
      value = undefined;
    }
    then(typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined);
  });
}
