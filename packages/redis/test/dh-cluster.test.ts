/**
 * The DH exercise end to end (test/blackbox/dh-suite.ts, unchanged) through
 * `chat-roulette-cluster`: 3 nodes behind the round-robin balancer, so the JDK client and
 * the reference peer talk across nodes. One case of the three: the others add nothing a
 * cluster could break.
 */
import { dhSuite } from '../../../test/blackbox/dh-suite.js';
import { SOURCE_LAUNCHER_COMMAND } from './launcher-process.js';
import { skipReason } from './redis-server.js';

dhSuite(
  {
    name: 'chat-roulette-cluster, 3 nodes behind a round-robin balancer',
    command: [...SOURCE_LAUNCHER_COMMAND, '--nodes', '3', '--host', '127.0.0.1', '--port', '0'],
    nodes: 3,
    skip: skipReason(),
  },
  [0],
);
