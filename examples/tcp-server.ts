/**
 * The smallest complete TCP server: a core, a listener, a graceful stop.
 *
 *   node --conditions=source --import tsx examples/tcp-server.ts [port]
 */
import { listen, RouletteCore } from 'chat-roulette';

const core = new RouletteCore();
core.on('paired', ({ a, b }) => console.error(`Pairing ${a} <-> ${b}`));
core.start();

const server = await listen(core, { host: '127.0.0.1', port: Number(process.argv[2] ?? 44333) });
const { host, port } = server.address();
console.log(`listening on ${host}:${port}`);

async function shutdown(): Promise<void> {
  core.stop(); // PROTOCOL §7: every client gets the shutdown notice
  await server.close(); // waits until the notices are flushed
}
process.once('SIGINT', () => void shutdown());
process.once('SIGTERM', () => void shutdown());
