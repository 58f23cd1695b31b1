/**
 * `@chat-roulette/redis`: several chat-roulette processes behind a TCP balancer behave
 * as one server. Each process's {@link RouletteCore} gets a Redis matchmaker through the
 * core's `cluster` option; registration, takeover, `maxClients` and pairing become
 * cluster-wide, and `comm` lines cross processes through Redis pub/sub.
 *
 * @example
 * ```ts
 * import { RouletteCore, listen } from 'chat-roulette';
 * import { redisCluster } from '@chat-roulette/redis';
 *
 * const cluster = redisCluster({ url: 'redis://127.0.0.1:6379', name: 'pv181' });
 * const core = new RouletteCore({ cluster });
 * core.start();
 * await cluster.ready();
 * const server = await listen(core, { port: 44333 });
 * ```
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { RouletteError, type Matchmaker, type MatchmakerContext, type MatchmakerFactory } from 'chat-roulette';
import { RedisMatchmaker, type AnyRedisClient, type RedisClusterStats, type RelayCounters } from './matchmaker.js';

export type { AnyRedisClient, RedisClusterStats, RelayCounters };

/** Options of {@link redisCluster}. */
export interface RedisClusterOptions {
  /**
   * The Redis server, e.g. `redis://127.0.0.1:6379`. Ignored when {@link client} is given.
   * @defaultValue `redis://localhost:6379` (the `@redis/client` default)
   */
  readonly url?: string;
  /**
   * An existing `@redis/client` client: used for commands (and connected if it is not),
   * and duplicated for the inbox subscription. The node never closes it.
   */
  readonly client?: AnyRedisClient;
  /**
   * The cluster's name: independent clusters share one Redis under different names.
   * Keys are `cr:{NAME}:…` (one hash slot). Letters, digits, `.`, `_` and `-`.
   * @defaultValue `'main'`
   */
  readonly name?: string;
  /**
   * This node's id, unique in the cluster. Letters, digits, `.`, `_` and `-`.
   * @defaultValue random per process start, so a restarted process never inherits rows
   */
  readonly nodeId?: string;
  /**
   * How long a node's lease lasts without renewal; a node silent longer is reaped by
   * the others (its clients' peers are freed and paired again).
   * @defaultValue 5000
   */
  readonly nodeTtlMs?: number;
  /**
   * How often a node renews its lease and looks for dead nodes.
   * @defaultValue 1000
   */
  readonly beatMs?: number;
  /**
   * How long after its lease ends a node is reaped.
   * @defaultValue 1000
   */
  readonly graceMs?: number;
  /**
   * How long a `connect` waits for Redis before it is refused with `unavailable`.
   * @defaultValue 5000
   */
  readonly clusterWaitMs?: number;
  /**
   * How often a node compares its view of its clients with Redis and repairs what a
   * lost notice left behind (a subscriber reconnect loses the notices of that moment).
   * @defaultValue 10000
   */
  readonly reconcileMs?: number;
}

/**
 * What {@link redisCluster} returns: the `cluster` option of one `RouletteCore`, with
 * a handle on the node it creates.
 */
export interface RedisClusterFactory extends MatchmakerFactory {
  /** This node's id. */
  readonly nodeId: string;
  /**
   * Resolves once the core has started and the node holds its lease and its inbox
   * subscription; rejects if it could not. Registrations made before wait for it.
   */
  ready(): Promise<void>;
  /**
   * Resolves once the core has stopped and the node has handed its clients' peers back
   * (they are paired again at once elsewhere) and closed its Redis connections.
   */
  closed(): Promise<void>;
  /** This node's view of the cluster, or `undefined` before the core is built. */
  stats(): RedisClusterStats | undefined;
}

const ID = /^[A-Za-z0-9._-]{1,64}$/;

function positive(name: string, value: number | undefined, fallback: number): number {
  const resolved = value ?? fallback;
  if (!Number.isFinite(resolved) || resolved <= 0) throw new RouletteError('ERR_INVALID_OPTION', `${name} must be a positive number of ms`);
  return resolved;
}

/**
 * The Redis matchmaker for one core: pass it as the `cluster` option of `RouletteCore`.
 *
 * @param options - the Redis server and the cluster's name
 * @returns a factory usable by exactly one core
 * @throws RouletteError `ERR_INVALID_OPTION` for a malformed name, node id or duration
 */
export function redisCluster(options: RedisClusterOptions = {}): RedisClusterFactory {
  const name = options.name ?? 'main';
  const nodeId = options.nodeId ?? `n-${randomBytes(6).toString('hex')}`;
  if (!ID.test(name)) throw new RouletteError('ERR_INVALID_OPTION', `cluster name ${JSON.stringify(name)}: use letters, digits, ".", "_" and "-"`);
  if (!ID.test(nodeId)) throw new RouletteError('ERR_INVALID_OPTION', `node id ${JSON.stringify(nodeId)}: use letters, digits, ".", "_" and "-"`);
  const settings = {
    url: options.url,
    client: options.client,
    name,
    nodeId,
    nodeTtlMs: positive('nodeTtlMs', options.nodeTtlMs, 5_000),
    beatMs: positive('beatMs', options.beatMs, 1_000),
    graceMs: positive('graceMs', options.graceMs, 1_000),
    clusterWaitMs: positive('clusterWaitMs', options.clusterWaitMs, 5_000),
    reconcileMs: positive('reconcileMs', options.reconcileMs, 10_000),
  };
  let node: RedisMatchmaker | undefined;
  const factory = (context: MatchmakerContext): Matchmaker => {
    if (node !== undefined) throw new RouletteError('ERR_INVALID_STATE', 'a redisCluster() factory serves one core only');
    node = new RedisMatchmaker(context, settings);
    return node;
  };
  return Object.assign(factory, {
    nodeId,
    ready: () => node?.ready() ?? Promise.reject(new RouletteError('ERR_INVALID_STATE', 'no core uses this cluster yet')),
    closed: () => node?.closed() ?? Promise.resolve(),
    stats: () => node?.stats(),
  });
}

export {
  launchCluster,
  LaunchedCluster,
  LaunchError,
  LAUNCH_DEFAULTS,
  type LaunchOptions,
  type LaunchEvents,
  type NodeHandle,
  type NodeExitEvent,
} from './launcher/cluster.js';
export type { ExitStatus } from './launcher/processes.js';
