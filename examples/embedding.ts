/**
 * Embedding RouletteCore in your own app, with your own events: counts pairs and
 * relayed messages while four in-process clients chat, then stops by itself.
 *
 *   node --conditions=source --import tsx examples/embedding.ts
 */
import { connectInProcess, RouletteCore } from 'chat-roulette';
import type { Duplex } from 'node:stream';

const core = new RouletteCore({ pairDelayMs: 10 });
let pairs = 0;
core.on('paired', ({ a, b, kind }) => {
  pairs++;
  console.log(`pair #${pairs}: ${a} <-> ${b} (${kind})`);
});
core.start();

/** A tiny client: registers, answers pings, greets each new peer once. */
function client(uco: string): Duplex {
  const socket = connectInProcess(core);
  const send = (msg: object): boolean => socket.write(JSON.stringify(msg) + '\n');
  let rest = '';
  socket.on('data', (chunk: Buffer) => {
    const lines = (rest + chunk.toString('utf8')).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      const msg = JSON.parse(line) as { cmd?: string; uco?: string; text?: string };
      if (msg.cmd === 'ping') send({ cmd: 'pong' });
      if (msg.cmd === 'pair') send({ cmd: 'comm', text: `hello ${msg.uco}, I am ${uco}` });
    }
  });
  send({ cmd: 'connect', uco, nonce: 1 });
  return socket;
}

const sockets = ['ada', 'bob', 'cyd', 'dee'].map(client);
const relayed = await new Promise<number>((resolve) => {
  let count = 0;
  core.on('relayed', () => {
    if (++count === sockets.length) resolve(count);
  });
});
console.log(`pairs: ${pairs}, relayed: ${relayed}, stats: ${JSON.stringify({ ...core.stats(), errors: undefined })}`);
core.stop();
