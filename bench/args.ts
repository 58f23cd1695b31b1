/**
 * Command-line options of `npm run bench`.
 *
 * @module
 */

/** Scenarios, in the order they run. */
export const SCENARIOS = ['epoch', 'scan', 'relay', 'fairness', 'pairing', 'idle'] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** Every setting of a benchmark run. */
export interface BenchOptions {
  readonly runs: number;
  readonly quick: boolean;
  readonly only: ReadonlySet<Scenario>;
  readonly pairs: readonly number[];
  readonly payloads: readonly number[];
  /** Paced offered loads, lines/s in total (saturation is always measured too). */
  readonly rates: readonly number[];
  readonly window: number;
  readonly warmupMs: number;
  readonly measureMs: number;
  readonly pairingSamples: number;
  readonly idle: readonly number[];
  /** Runs per idle point (the slope is fitted over the points). */
  readonly idleRuns: number;
  readonly idleSettleMs: number;
  readonly idleWindowMs: number;
  /** Whether the bare server pings its clients as ours does (default), or holds them silent. */
  readonly barePings: boolean;
  readonly epochSizes: readonly number[];
  readonly epochRepetitions: number;
  /** Flooding pairs of the fairness scenario. */
  readonly floodPairs: number;
  /** Probe window of the fairness scenario (idle, then flooded), ms each. */
  readonly fairnessMs: number;
  /** Extra node flags for our server (e.g. `--max-semi-space-size=1`), to price a V8 flag. */
  readonly serverNodeFlags: readonly string[];
  /** Where the SVG pictures go ('' for none). */
  readonly svgDir: string;
  /** Run our server from `src` (tsx) or from `dist` (after `npm run build`). */
  readonly server: 'source' | 'build';
  readonly pin: boolean;
  /** Directory for the server's `--cpu-prof` output, or '' for none. */
  readonly profileDir: string;
  /** Whole-benchmark time limit, minutes: past it, children are killed and we exit 1. */
  readonly maxMinutes: number;
  /** Run the Redis cluster bench instead of the scenarios (needs packages/redis). */
  readonly cluster: boolean;
  /** Cluster bench: clients of the epoch scenario. */
  readonly clusterClients: number;
  /** Cluster bench: epochs timed. */
  readonly clusterEpochs: number;
  /** The options given on the command line (the cluster bench has other defaults for the rest). */
  readonly given: ReadonlySet<string>;
}

export const USAGE = `usage: npm run bench -- [options]
  --runs N              runs per point (default 3; --quick: 1)
  --quick               short smoke version (1 run, short windows, fewer points)
  --only LIST           scenarios: ${SCENARIOS.join(',')} (default: all)
  --pairs LIST          relay pair counts (default 10)
  --payloads LIST       relay line sizes in bytes, \\n included (default 64,1024,4096,16384)
  --rates LIST          paced offered loads, lines/s in total (default 20000,100000); saturation always runs too
  --window N            most messages in flight per sender (default 64)
  --measure-ms N        relay measured window per run (default 3000; --quick 700)
  --pairing-samples N   connect→pair samples per run (default 25; --quick 8)
  --idle LIST           idle client counts, ours and a bare net server (default 1000,5000,10000,19000;
                        --quick 1000,4000); the server holds one fd per client: N < ulimit -Hn
  --idle-runs N         runs per idle point (default 1: the slope is fitted over the points)
  --idle-window-ms N    CPU window of the idle scenario (default 6000; --quick 3000)
  --bare-silent         idle: the bare server holds silent sockets (before issue 14's second round it
                        did); by default it pings every client as ours does, and they answer
  --epoch-sizes LIST    clients re-paired in the epoch scenario (default 10000,50000)
  --flood-pairs N       fairness: pairs flooding at saturation (default 10)
  --fairness-ms N       fairness: probe window, idle and flooded (default 3000; --quick 1500)
  --server-node-flags S node flags for our server, space-separated (e.g. "--max-semi-space-size=1")
  --svg-dir DIR         write the SVG pictures there (default bench/out; '' for none)
  --server source|build run our server from src (tsx, default) or dist (npm run build first)
  --no-pin              do not pin processes with taskset
  --profile DIR         run our server with --cpu-prof, profiles written to DIR
  --max-minutes N       abort (killing our children) after N minutes (default 30)
  --cluster             the Redis cluster bench instead (needs packages/redis and redis-server):
                        relay across nodes vs on one node (--pairs, first of --payloads, default 64,
                        --rates default 20000), connect → pair across nodes (--pairing-samples,
                        default 200; --quick 50), epoch, script time and Redis bytes per client
  --cluster-clients N   cluster bench: clients of the epoch scenario (default 50000)
  --cluster-epochs N    cluster bench: epochs timed (default 3; --quick 1)`;

function list(value: string, name: string): number[] {
  const items = value.split(',').map((s) => Number(s.trim()));
  if (items.length === 0 || items.some((n) => !Number.isSafeInteger(n) || n <= 0)) {
    throw new Error(`${name} needs a comma-separated list of positive integers, got "${value}"`);
  }
  return items;
}

function int(value: string, name: string, min: number): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`${name} needs an integer >= ${min}, got "${value}"`);
  return n;
}

/** Parses `argv` (without node and script). Throws with a one-line message on a bad flag. */
export function parseArgs(argv: readonly string[]): BenchOptions {
  const quick = argv.includes('--quick');
  const o = {
    runs: quick ? 1 : 3,
    quick,
    only: new Set<Scenario>(SCENARIOS),
    pairs: [10] as readonly number[],
    payloads: [64, 1024, 4096, 16384] as readonly number[],
    rates: [20_000, 100_000] as readonly number[],
    window: 64,
    warmupMs: quick ? 200 : 500,
    measureMs: quick ? 700 : 3_000,
    pairingSamples: quick ? 8 : 25,
    idle: (quick ? [1_000, 4_000] : [1_000, 5_000, 10_000, 19_000]) as readonly number[],
    idleRuns: 1,
    idleSettleMs: quick ? 1_500 : 3_000,
    idleWindowMs: quick ? 3_000 : 6_000,
    barePings: true,
    epochSizes: [10_000, 50_000] as readonly number[],
    epochRepetitions: quick ? 3 : 9,
    floodPairs: 10,
    fairnessMs: quick ? 1_500 : 3_000,
    svgDir: 'bench/out',
    serverNodeFlags: [] as readonly string[],
    server: 'source' as 'source' | 'build',
    pin: true,
    profileDir: '',
    maxMinutes: 30,
    cluster: false,
    clusterClients: 50_000,
    clusterEpochs: quick ? 1 : 3,
    given: new Set<string>(),
  };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i] as string;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${name} needs a value`);
      return v;
    };
    o.given.add(name);
    switch (name) {
      case '--quick':
        break;
      case '--runs':
        o.runs = int(value(), name, 1);
        break;
      case '--only': {
        const wanted = value().split(',');
        for (const s of wanted) if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`unknown scenario "${s}"`);
        o.only = new Set(wanted as Scenario[]);
        break;
      }
      case '--pairs':
        o.pairs = list(value(), name);
        break;
      case '--payloads':
        o.payloads = list(value(), name);
        if (o.payloads.some((n) => n < 64)) throw new Error('--payloads: at least 64 bytes per line');
        break;
      case '--rates':
        o.rates = list(value(), name);
        break;
      case '--idle-runs':
        o.idleRuns = int(value(), name, 1);
        break;
      case '--flood-pairs':
        o.floodPairs = int(value(), name, 1);
        break;
      case '--fairness-ms':
        o.fairnessMs = int(value(), name, 200);
        break;
      case '--server-node-flags':
        o.serverNodeFlags = value().split(' ').filter((f) => f !== '');
        if (o.serverNodeFlags.some((f) => !f.startsWith('--'))) throw new Error('--server-node-flags takes node flags (--…)');
        break;
      case '--svg-dir':
        o.svgDir = value();
        break;
      case '--window':
        o.window = int(value(), name, 1);
        break;
      case '--measure-ms':
        o.measureMs = int(value(), name, 100);
        break;
      case '--pairing-samples':
        o.pairingSamples = int(value(), name, 1);
        break;
      case '--idle':
        o.idle = list(value(), name);
        break;
      case '--idle-window-ms':
        o.idleWindowMs = int(value(), name, 1000);
        break;
      case '--epoch-sizes':
        o.epochSizes = list(value(), name);
        break;
      case '--server': {
        const v = value();
        if (v !== 'source' && v !== 'build') throw new Error('--server is source or build');
        o.server = v;
        break;
      }
      case '--no-pin':
        o.pin = false;
        break;
      case '--bare-silent':
        o.barePings = false;
        break;
      case '--profile':
        o.profileDir = value();
        break;
      case '--max-minutes':
        o.maxMinutes = int(value(), name, 1);
        break;
      case '--cluster':
        o.cluster = true;
        break;
      case '--cluster-clients':
        o.clusterClients = int(value(), name, 2);
        break;
      case '--cluster-epochs':
        o.clusterEpochs = int(value(), name, 1);
        break;
      default:
        throw new Error(`unknown option ${name}`);
    }
  }
  return o;
}
