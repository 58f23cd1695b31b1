/**
 * The black-box protocol suite (test/blackbox/protocol-suite.ts) against one
 * `chat-roulette start` process, run from source. `@chat-roulette/redis` runs the same
 * suite against a cluster (packages/redis/test/protocol-blackbox.test.ts).
 */
import { protocolSuite } from '../blackbox/protocol-suite.js';

protocolSuite({
  name: 'chat-roulette start',
  command: [process.execPath, '--conditions=source', '--import', 'tsx', 'src/cli/main.ts', 'start', '--host', '127.0.0.1', '--port', '0'],
  nodes: 1,
  skip: false,
});
