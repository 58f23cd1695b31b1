/**
 * Browser clients over WebSocket: each WebSocket message is one protocol line. The
 * custom transport is the whole adapter. Open http://127.0.0.1:<port>/ in two tabs.
 *
 *   node --conditions=source --import tsx examples/websocket-server.ts [port]
 *
 * Needs the `ws` package (a dev dependency here; a dependency of your app).
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { RouletteCore, type Transport } from 'chat-roulette';
import { WebSocketServer, type WebSocket } from 'ws';

/** A WebSocket as a chat-roulette transport: one message per line. */
class WebSocketTransport implements Transport {
  constructor(private readonly ws: WebSocket, readonly remoteAddress: string | undefined) {}
  send(line: string | Uint8Array): boolean {
    if (this.ws.readyState !== this.ws.OPEN) return false;
    this.ws.send(typeof line === 'string' ? line : Buffer.from(line).toString('utf8'));
    return true;
  }
  close(): void {
    this.ws.close(1000);
  }
  bufferedBytes(): number {
    return this.ws.bufferedAmount;
  }
}

const core = new RouletteCore();
core.start();

const page = readFileSync(new URL('./websocket-page.html', import.meta.url));
const http = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(page));
// Room for a line over maxLineBytes, so the core can answer "message too long" and keep
// the connection (PROTOCOL §1) instead of ws closing it; far larger is refused by ws.
const wss = new WebSocketServer({ server: http, maxPayload: 4 * core.options.maxLineBytes });
wss.on('connection', (ws, req) => {
  const handle = core.connect(new WebSocketTransport(ws, req.socket.remoteAddress));
  ws.on('message', (data: Buffer) => handle.receiveLine(data));
  ws.on('close', () => handle.closed());
  ws.on('error', (err) => handle.closed(err));
});

const port = Number(process.argv[2] ?? 8080);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`usage: websocket-server.ts [port]   (an integer from 0 to 65535, got '${process.argv[2]}')`);
  process.exit(2);
}
http.listen(port, '127.0.0.1', () => {
  const address = http.address();
  if (address !== null && typeof address === 'object') console.log(`listening on 127.0.0.1:${address.port}`);
});
function shutdown(): void {
  core.stop(); // PROTOCOL §7: every client gets the shutdown notice
  wss.close();
  http.close();
}
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
