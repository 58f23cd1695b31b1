/**
 * S11 (cluster.md §9): the core's black-box protocol suite (test/blackbox/protocol-suite.ts),
 * unchanged, against `chat-roulette-cluster`: a redis-server of its own, 3 nodes and a
 * round-robin balancer, run from source. Each test launches its own cluster. The
 * per-address test runs twice: as is (the nodes see the balancer's address) and with
 * `--proxy-protocol` (the balancer sends PROXY v1 headers, the nodes see the clients').
 */
import { protocolSuite } from '../../../test/blackbox/protocol-suite.js';
import { SOURCE_LAUNCHER_COMMAND } from './launcher-process.js';
import { skipReason } from './redis-server.js';

protocolSuite({
  name: 'chat-roulette-cluster, 3 nodes behind a round-robin balancer',
  command: [...SOURCE_LAUNCHER_COMMAND, '--nodes', '3', '--host', '127.0.0.1', '--port', '0'],
  nodes: 3,
  proxyProtocol: true,
  skip: skipReason(),
});
