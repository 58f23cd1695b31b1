/**
 * The DH exercise end to end (test/blackbox/dh-suite.ts) against one `chat-roulette
 * start` process, run from source: the JDK client, the reference peer and the report.
 */
import { dhSuite } from '../blackbox/dh-suite.js';

dhSuite({
  name: 'chat-roulette start',
  command: [process.execPath, '--conditions=source', '--import', 'tsx', 'src/cli/main.ts', 'start', '--host', '127.0.0.1', '--port', '0'],
  nodes: 1,
  skip: false,
});
