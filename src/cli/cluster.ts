/**
 * `chat-roulette start --redis`: loads `@chat-roulette/redis` on demand (the core does
 * not depend on it) and builds the node's matchmaker.
 *
 * @module
 */
import type { MatchmakerFactory } from '../index.js';
import type { ClusterFlags } from './args.js';

/** The node's matchmaker and its handle, as `@chat-roulette/redis` returns them. */
export interface ClusterNode extends MatchmakerFactory {
  /** Resolves once the node holds its lease and its inbox subscription. */
  ready(): Promise<void>;
  /** Resolves once a stopped node has handed its clients back and closed its connections. */
  closed(): Promise<void>;
}

/** What the package exports, as far as the CLI uses it. */
interface RedisPackage {
  redisCluster(options: { url: string; name: string; nodeId?: string }): ClusterNode;
}

/** The package's name. */
export const REDIS_PACKAGE = '@chat-roulette/redis';

/** Imports a module by name (replaced in tests). */
export type Importer = (specifier: string) => Promise<unknown>;

/**
 * The cluster node for `flags`, or the one-line error (without newline) to print before
 * exiting with code 2: the package is not installed, or a value is refused.
 */
export async function loadClusterNode(flags: ClusterFlags, importer: Importer = (specifier) => import(specifier)): Promise<ClusterNode | string> {
  let pkg: RedisPackage;
  try {
    pkg = (await importer(REDIS_PACKAGE)) as RedisPackage;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      return `--redis needs the package ${REDIS_PACKAGE}: install it next to chat-roulette (npm install ${REDIS_PACKAGE})`;
    }
    return `cannot load ${REDIS_PACKAGE}: ${error instanceof Error ? error.message : String(error)}`;
  }
  try {
    return pkg.redisCluster({ url: flags.url, name: flags.name, ...(flags.nodeId === undefined ? {} : { nodeId: flags.nodeId }) });
  } catch (error) {
    return `--redis: ${error instanceof Error ? error.message : String(error)}`;
  }
}
