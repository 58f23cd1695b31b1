/**
 * {@link launchCluster}: a whole cluster on one machine — its own redis-server (unless
 * given a Redis), N `chat-roulette start` nodes on 127.0.0.1, and a round-robin TCP
 * balancer in front — for trying a cluster out, and for running black-box protocol
 * suites and soaks against it. Everything it starts it stops, by PID.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { Balancer, type Backend } from './balancer.js';
import { Child, type ExitStatus } from './processes.js';
import { startRedisServer, type OwnRedis } from './redis-server.js';

/** Options of {@link launchCluster}. */
export interface LaunchOptions {
  /**
   * How many nodes to start.
   * @defaultValue 3
   */
  readonly nodes?: number;
  /**
   * Flags given unchanged to every node's `chat-roulette start`, after the launcher's own
   * `--host 127.0.0.1 --port 0 --redis URL --cluster NAME --node-id ID` (so they must not
   * repeat those). `--reference-peer` and `--round-log` go to the first node only: two
   * reference peers under one uco would take each other over.
   * @defaultValue `[]`
   */
  readonly startFlags?: readonly string[];
  /**
   * A Redis to use, e.g. `redis://127.0.0.1:6379`: then no redis-server is started.
   * @defaultValue `undefined`: start a redis-server of its own on a free port of 127.0.0.1
   */
  readonly redisUrl?: string;
  /**
   * The redis-server binary to start.
   * @defaultValue `'redis-server'` (looked up on the PATH)
   */
  readonly redisServer?: string;
  /**
   * The cluster's name (`--cluster` of every node).
   * @defaultValue a fresh `launch-<random hex>`, so a launch never joins another cluster
   */
  readonly name?: string;
  /**
   * The balancer's interface.
   * @defaultValue `'127.0.0.1'`
   */
  readonly host?: string;
  /**
   * The balancer's port; `0` picks a free one.
   * @defaultValue 0
   */
  readonly port?: number;
  /**
   * Starts a node again (under a new node id, `n2-2` for the second run of `n2`) when it
   * exits without being asked to; otherwise the balancer skips it from then on.
   * @defaultValue false
   */
  readonly restartNodes?: boolean;
  /**
   * The command that runs `chat-roulette` (executable and first arguments); `start` and
   * the flags follow.
   * @defaultValue `[process.execPath, <the chat-roulette package's bin>]`
   */
  readonly nodeCommand?: readonly string[];
  /**
   * Longest wait for redis-server to be ready and for each node's `listening on` line.
   * @defaultValue 60000
   */
  readonly startTimeoutMs?: number;
  /**
   * How long a node (or the redis-server) has to exit after SIGTERM before it gets
   * SIGKILL. Leave it above the nodes' `--shutdown-grace-ms`.
   * @defaultValue 15000
   */
  readonly stopTimeoutMs?: number;
  /**
   * Receives each human-readable log line (without newline): the launcher's own, and
   * every line the nodes and redis-server write, prefixed with their name.
   * @defaultValue none: the lines are dropped
   */
  readonly log?: (line: string) => void;
  /** Aborting it during the start stops whatever was started and rejects. */
  readonly signal?: AbortSignal;
}

/** The defaults of {@link LaunchOptions}, in one place. */
export const LAUNCH_DEFAULTS = Object.freeze({
  nodes: 3,
  host: '127.0.0.1',
  port: 0,
  redisServer: 'redis-server',
  restartNodes: false,
  startTimeoutMs: 60_000,
  stopTimeoutMs: 15_000,
});

/** A running node, as the launcher sees it. */
export interface NodeHandle {
  /** Its slot, `n1` … `nN`: stable across restarts. */
  readonly slot: string;
  /** Its `--node-id`: the slot, then `<slot>-2`, `<slot>-3` … after restarts. */
  readonly id: string;
  /** Its PID. */
  readonly pid: number;
  /** Its address (127.0.0.1 and the port it printed). */
  readonly host: string;
  /** Its port. */
  readonly port: number;
}

/** A node's process ended. */
export interface NodeExitEvent {
  /** The node as it was. */
  readonly node: NodeHandle;
  /** Its exit code and signal. */
  readonly status: ExitStatus;
  /** Whether the launcher asked for it (`close()`); false for a crash or a kill from outside. */
  readonly expected: boolean;
}

/** The events of a {@link LaunchedCluster}. */
export interface LaunchEvents {
  /** A node is listening (at the start, and after each restart). */
  nodeStart: [node: NodeHandle];
  /** A node's process ended. */
  nodeExit: [event: NodeExitEvent];
  /** The redis-server the launcher started exited without being asked to. */
  redisExit: [status: ExitStatus];
}

/** The error of a launch that failed; everything it had started is stopped. */
export class LaunchError extends Error {
  /** `usage`: a node refused its flags (exit code 2); `start`: something did not start; `aborted`: the signal was aborted. */
  readonly code: 'usage' | 'start' | 'aborted';

  /** @param code see {@link LaunchError.code} */
  constructor(code: 'usage' | 'start' | 'aborted', message: string) {
    super(message);
    this.name = 'LaunchError';
    this.code = code;
  }
}

/** One node slot: its current process, if any. */
interface Slot {
  readonly name: string;
  runs: number;
  child: Child | undefined;
  node: NodeHandle | undefined;
  /** The current run's lines (prefixed) until it listens: logged then, or dropped if it refuses its flags. */
  early: string[];
  /** The current run's first and last lines of stderr, for an error message. */
  first: string | undefined;
  last: string | undefined;
}

/** At most this many lines of a node are kept until it listens. */
const EARLY_LINES = 200;

/** Flags that only the first node gets. */
const FIRST_NODE_ONLY = new Set(['--reference-peer', '--round-log']);

/** A cluster started by {@link launchCluster}. */
export class LaunchedCluster extends EventEmitter<LaunchEvents> {
  /** The balancer's interface. */
  host = '';
  /** The balancer's port. */
  port = 0;
  /** The Redis the nodes use. */
  redisUrl = '';
  /** The cluster's name. */
  readonly name: string;
  private readonly options: Required<Omit<LaunchOptions, 'redisUrl' | 'signal' | 'log' | 'name' | 'nodeCommand'>> & { nodeCommand: readonly string[] };
  private readonly write: (line: string) => void;
  private readonly balancer: Balancer;
  private readonly slots: Slot[] = [];
  private redis: OwnRedis | undefined;
  /** A redis-server being started, so that {@link close} can wait for it and stop it. */
  private redisStarting: Promise<OwnRedis> | undefined;
  private closing: Promise<void> | undefined;
  private readonly exitHook = (): void => this.killAll();

  /** @internal Use {@link launchCluster}. */
  constructor(options: LaunchOptions) {
    super();
    this.options = {
      nodes: options.nodes ?? LAUNCH_DEFAULTS.nodes,
      startFlags: options.startFlags ?? [],
      redisServer: options.redisServer ?? LAUNCH_DEFAULTS.redisServer,
      host: options.host ?? LAUNCH_DEFAULTS.host,
      port: options.port ?? LAUNCH_DEFAULTS.port,
      restartNodes: options.restartNodes ?? LAUNCH_DEFAULTS.restartNodes,
      nodeCommand: options.nodeCommand ?? defaultNodeCommand(),
      startTimeoutMs: options.startTimeoutMs ?? LAUNCH_DEFAULTS.startTimeoutMs,
      stopTimeoutMs: options.stopTimeoutMs ?? LAUNCH_DEFAULTS.stopTimeoutMs,
    };
    if (!Number.isInteger(this.options.nodes) || this.options.nodes < 1) throw new RangeError(`nodes must be an integer >= 1, got ${this.options.nodes}`);
    if (this.options.nodeCommand.length === 0) throw new RangeError('nodeCommand must not be empty');
    this.name = options.name ?? `launch-${randomBytes(4).toString('hex')}`;
    this.redisUrl = options.redisUrl ?? '';
    this.write = options.log ?? (() => undefined);
    this.balancer = new Balancer(() => this.slots.map((s): Backend => s.node));
    for (let i = 1; i <= this.options.nodes; i++) this.slots.push({ name: `n${i}`, runs: 0, child: undefined, node: undefined, early: [], first: undefined, last: undefined });
  }

  /** The running nodes, in slot order (a node that is down is missing). */
  get nodes(): NodeHandle[] {
    return this.slots.flatMap((s) => (s.node === undefined ? [] : [s.node]));
  }

  /** The PID of the redis-server the launcher started, or `undefined` (given `redisUrl`, or not running). */
  get redisPid(): number | undefined {
    return this.redis?.child.running === true ? this.redis.child.pid : undefined;
  }

  /** Every PID the launcher started that may still run: nodes and redis-server. */
  get pids(): number[] {
    const children = [...this.slots.map((s) => s.child), this.redis?.child];
    return children.flatMap((c) => (c !== undefined && c.running && c.pid !== undefined ? [c.pid] : []));
  }

  /**
   * Sends `signal` to a node by its PID: `node` is its slot (`n2`), its node id, or its
   * index from 0. False when no such node runs.
   */
  kill(node: string | number, signal: NodeJS.Signals = 'SIGTERM'): boolean {
    const slot = typeof node === 'number' ? this.slots[node] : this.slots.find((s) => s.name === node || s.node?.id === node);
    return slot?.child?.signal(signal) ?? false;
  }

  /**
   * Restarts the launcher's own redis-server on the same port, empty (it keeps no data):
   * SIGTERM, wait, start. The nodes see a Redis restart. Throws when the launcher was
   * given `redisUrl`, or when the new one does not start.
   */
  async restartRedis(): Promise<void> {
    const redis = this.redis;
    if (redis === undefined) throw new Error('restartRedis: this cluster uses a Redis it did not start');
    if (this.closing !== undefined) throw new Error('restartRedis: the cluster is closing');
    this.redis = undefined;
    await redis.child.stop(this.options.stopTimeoutMs);
    this.info(`Restarting redis-server on port ${redis.port}`);
    await this.startOwnRedis(redis.port);
  }

  /**
   * Stops everything, idempotent: the balancer stops listening, every node gets SIGTERM
   * (SIGKILL after `stopTimeoutMs`) and is waited for, the connections still piped are
   * destroyed, then the launcher's redis-server is stopped the same way.
   */
  close(): Promise<void> {
    this.closing ??= this.stopAll();
    return this.closing;
  }

  /** @internal Runs the start; on failure, stops what was started and throws a {@link LaunchError}. */
  async start(signal: AbortSignal | undefined): Promise<void> {
    process.on('exit', this.exitHook);
    const aborted = new Promise<never>((_, reject) => {
      const fail = (): void => reject(new LaunchError('aborted', 'the launch was aborted'));
      if (signal?.aborted === true) fail();
      signal?.addEventListener('abort', fail, { once: true });
    });
    aborted.catch(() => undefined);
    try {
      await Promise.race([this.startAll(), aborted]);
    } catch (error) {
      await this.close();
      if (error instanceof LaunchError) throw error;
      throw new LaunchError('start', error instanceof Error ? error.message : String(error));
    }
  }

  private async startAll(): Promise<void> {
    if (this.redisUrl === '') {
      const redis = await this.startOwnRedis(undefined);
      this.redisUrl = `redis://127.0.0.1:${redis.port}`;
    }
    this.info(`Cluster '${this.name}' on ${this.redisUrl}: starting ${this.slots.length} node${this.slots.length === 1 ? '' : 's'}`);
    await Promise.all(this.slots.map((slot) => this.startNode(slot)));
    if (this.closing !== undefined) throw new LaunchError('aborted', 'the launch was closed');
    const address = await this.balancer.listen(this.options.host, this.options.port);
    this.host = address.host;
    this.port = address.port;
    this.info(`Balancer listening on ${address.host}:${address.port}, round robin over ${this.nodes.map((n) => `${n.id} (${n.port})`).join(', ')}`);
  }

  /** Starts redis-server and makes it the cluster's; stops it again if the cluster is closing meanwhile. */
  private async startOwnRedis(port: number | undefined): Promise<OwnRedis> {
    // While it serves the cluster, redis-server's warnings (`#`) are worth a reader's time;
    // its start-up and shut-down chatter is not (why it failed to start is in the error).
    const serving: { redis?: OwnRedis } = {};
    const onLine = (line: string): void => {
      if (serving.redis !== undefined && this.redis === serving.redis && this.closing === undefined && /^\d+:[A-Z] .* # /.test(line)) this.write(`[redis] ${line}`);
    };
    this.redisStarting = startRedisServer(this.options.redisServer, this.options.startTimeoutMs, onLine, port);
    const redis = await this.redisStarting.finally(() => (this.redisStarting = undefined));
    serving.redis = redis;
    if (this.closing !== undefined) {
      await redis.child.stop(this.options.stopTimeoutMs);
      throw new LaunchError('aborted', 'the launch was closed');
    }
    this.redis = redis;
    this.info(`redis-server (pid ${redis.child.pid}) ready on 127.0.0.1:${redis.port}`);
    void redis.child.exited.then((status) => {
      if (this.redis === redis && this.closing === undefined) {
        this.error(`redis-server (pid ${redis.child.pid}) exited unexpectedly (${describe(status)})`);
        this.emit('redisExit', status);
      }
    });
    return redis;
  }

  /** Starts the slot's node and resolves once it printed its `listening on` line. */
  private startNode(slot: Slot): Promise<void> {
    if (this.closing !== undefined) return Promise.reject(new LaunchError('aborted', 'the launch was closed'));
    slot.runs++;
    const id = slot.runs === 1 ? slot.name : `${slot.name}-${slot.runs}`;
    slot.early = [];
    slot.first = undefined;
    slot.last = undefined;
    let listening!: (address: { host: string; port: number }) => void;
    const isListening = new Promise<{ host: string; port: number }>((resolve) => (listening = resolve));
    const flags = slot === this.slots[0] ? this.options.startFlags : withoutFirstNodeFlags(this.options.startFlags);
    const [command, ...first] = this.options.nodeCommand as [string, ...string[]];
    const args = [...first, 'start', '--host', '127.0.0.1', '--port', '0', '--redis', this.redisUrl, '--cluster', this.name, '--node-id', id, ...flags];
    let seen = false;
    const child = new Child(command, args, (stream, line) => {
      const match = /^listening on (\S+):(\d+)$/.exec(line);
      if (stream === 'stdout' && !seen && match !== null) {
        seen = true;
        listening({ host: match[1] as string, port: Number(match[2]) });
        return;
      }
      if (stream === 'stderr' && line !== '') {
        slot.first ??= line;
        slot.last = line;
      }
      if (seen) this.write(`[${id}] ${line}`);
      else if (slot.early.length < EARLY_LINES) slot.early.push(`[${id}] ${line}`);
    });
    if (child.pid !== undefined) this.info(`Node ${id} starting (pid ${child.pid})`);
    slot.child = child;
    void child.exited.then((status) => this.onNodeExit(slot, child, status));
    const failed = child.exited.then((status): never => {
      if (status.code === 2) throw new LaunchError('usage', (slot.first ?? `node ${id} refused its flags`).replace(/^chat-roulette start: /, ''));
      this.flushEarly(slot);
      const spawnError = child.pid === undefined ? `cannot run '${command}'` : describe(status);
      throw new LaunchError('start', `node ${id} exited before listening (${spawnError})${slot.last === undefined ? '' : `: ${slot.last}`}`);
    });
    failed.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new LaunchError('start', `node ${id} printed no listening line within ${this.options.startTimeoutMs} ms`)), this.options.startTimeoutMs);
    });
    timeout.catch(() => undefined);
    return Promise.race([isListening, failed, timeout])
      .then((address) => {
        if (slot.child !== child || !child.running) return;
        this.flushEarly(slot);
        slot.node = { slot: slot.name, id, pid: child.pid as number, host: address.host, port: address.port };
        this.info(`Node ${id} (pid ${child.pid}) listening on ${address.host}:${address.port}`);
        this.emit('nodeStart', slot.node);
      })
      .finally(() => clearTimeout(timer));
  }

  /** Logs the lines a node wrote before it listened. */
  private flushEarly(slot: Slot): void {
    for (const line of slot.early) this.write(line);
    slot.early = [];
  }

  private onNodeExit(slot: Slot, child: Child, status: ExitStatus): void {
    if (slot.child !== child) return;
    const listened = slot.node !== undefined;
    const node = slot.node ?? { slot: slot.name, id: slot.runs === 1 ? slot.name : `${slot.name}-${slot.runs}`, pid: child.pid ?? 0, host: '127.0.0.1', port: 0 };
    slot.node = undefined;
    const expected = this.closing !== undefined;
    this.emit('nodeExit', { node, status, expected });
    // A node that fails to start fails the start (or the restart), which says why.
    if (expected || !listened) return;
    // Only a node that was listening is restarted: one that cannot start would loop.
    const restart = this.options.restartNodes && this.host !== '';
    this.error(`Node ${node.id} (pid ${node.pid}) exited unexpectedly (${describe(status)})${restart ? ': restarting it' : ': the balancer skips it'}`);
    if (!restart) return;
    this.startNode(slot).catch((error: unknown) => {
      this.error(`Node ${slot.name} did not restart: ${error instanceof Error ? error.message : String(error)}`);
      slot.child?.signal('SIGKILL');
    });
  }

  private async stopAll(): Promise<void> {
    this.balancer.stopListening();
    const bound = this.options.stopTimeoutMs;
    const nodes = this.slots.flatMap((s) => (s.child?.running === true ? [s.child] : []));
    if (nodes.length > 0) this.info(`Stopping ${nodes.length} node${nodes.length === 1 ? '' : 's'}`);
    const stopped = await Promise.all(nodes.map((c) => c.stop(bound)));
    for (const [i, status] of stopped.entries()) {
      if (status === undefined) this.error(`A node (pid ${nodes[i]?.pid}) did not exit even after SIGKILL`);
      else if (status.signal === 'SIGKILL') this.error(`A node (pid ${nodes[i]?.pid}) did not exit within ${bound} ms of SIGTERM: killed`);
    }
    this.balancer.destroyAll();
    // A redis-server still starting is stopped here too (startOwnRedis stops it as well: harmless).
    const starting = await this.redisStarting?.catch(() => undefined);
    for (const redis of new Set([starting, this.redis])) {
      if (redis === undefined || !redis.child.running) continue;
      await redis.child.stop(bound);
      this.info(`redis-server (pid ${redis.child.pid}) stopped`);
    }
    process.off('exit', this.exitHook);
  }

  /** Last resort when the process exits without {@link close}: SIGKILL every child, synchronously. */
  private killAll(): void {
    for (const slot of this.slots) slot.child?.signal('SIGKILL');
    this.redis?.child.signal('SIGKILL');
  }

  private info(message: string): void {
    this.write(`${new Date().toISOString()} INFO ${message}`);
  }

  private error(message: string): void {
    this.write(`${new Date().toISOString()} ERROR ${message}`);
  }
}

/** `flags` without the ones only the first node gets (with their values). */
function withoutFirstNodeFlags(flags: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < flags.length; i++) {
    const flag = flags[i] as string;
    const name = flag.split('=')[0] as string;
    if (!FIRST_NODE_ONLY.has(name)) out.push(flag);
    else if (!flag.includes('=')) i++;
  }
  return out;
}

function describe(status: ExitStatus): string {
  return status.signal === null ? `code ${status.code}` : `signal ${status.signal}`;
}

/** `node <bin of the installed chat-roulette package>`. */
function defaultNodeCommand(): string[] {
  const require = createRequire(import.meta.url);
  const manifest = require.resolve('chat-roulette/package.json');
  const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { bin?: string | Record<string, string> };
  const bin = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin?.['chat-roulette'];
  if (bin === undefined) throw new Error(`no chat-roulette bin in ${manifest}`);
  return [process.execPath, resolve(dirname(manifest), bin)];
}

/**
 * Starts a cluster on this machine and resolves once its balancer listens: its own
 * redis-server (unless `redisUrl`), `nodes` × `chat-roulette start --host 127.0.0.1
 * --port 0 --redis URL --cluster NAME --node-id nK ...startFlags`, each waited for until
 * it prints `listening on`, then the balancer. If anything fails to start, everything
 * already started is stopped and the promise rejects with a {@link LaunchError}.
 *
 * @example
 * ```ts
 * const cluster = await launchCluster({ startFlags: ['--epoch-ms', '5000'] });
 * console.log(`clients connect to ${cluster.host}:${cluster.port}`);
 * cluster.kill('n2', 'SIGKILL'); // a crash: the balancer skips n2 from now on
 * await cluster.restartRedis();
 * await cluster.close();
 * ```
 */
export async function launchCluster(options: LaunchOptions = {}): Promise<LaunchedCluster> {
  const cluster = new LaunchedCluster(options);
  await cluster.start(options.signal);
  return cluster;
}
