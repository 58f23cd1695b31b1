/**
 * The smallest complete TCP server: a core, a listener, a graceful stop.
 *
 *   node --conditions=source --import tsx examples/tcp-server.ts [port]
 */
import { listen, RouletteCore } from 'chat-roulette';

const port = Number(process.argv[2] ?? 44333);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`usage: tcp-server.ts [port]   (an integer from 0 to 65535, got '${process.argv[2]}')`);
  process.exit(2);
}

const core = new RouletteCore();
core.on('paired', ({ a, b }) => console.error(`Pairing ${a} <-> ${b}`));
core.start();

const server = await listen(core, { host: '127.0.0.1', port });
const address = server.address();
console.log(`listening on ${address.host}:${address.port}`);

async function shutdown(): Promise<void> {
  core.stop(); // PROTOCOL §7: every client gets the shutdown notice
  await server.close(); // waits until the notices are flushed
}
process.once('SIGINT', () => void shutdown());
process.once('SIGTERM', () => void shutdown());
