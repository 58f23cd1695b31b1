/**
 * Compile-only checks of the public types (`npx tsc -p tsconfig.json`); never run.
 * A wrong type here is a compile error; every `@ts-expect-error` must stay an error.
 */
import {
  DEFAULTS,
  listen,
  formatProxyHeaderV1,
  parseProxyHeader,
  PROXY_PROTOCOL_DEFAULTS,
  type ProxyHeaderStats,
  type ProxyParseResult,
  ManualClock,
  MemoryConnection,
  RouletteCore,
  RouletteError,
  seededRandom,
  type ClientInfo,
  type ConnectionClosedEvent,
  type EpochStartedEvent,
  type ErrorKind,
  type ExitReason,
  type LeaveReason,
  type PairedEvent,
  type PairKind,
  type ProtocolErrorEvent,
  type RegisteredEvent,
  type RelayedEvent,
  type RouletteErrorCode,
  type RouletteEvents,
  type RouletteOptions,
  type RouletteStats,
  type Transport,
  type UnpairedEvent,
  type UnpairReason,
  type UnregisteredEvent,
  RATE_LIMIT_REPLY_INTERVAL_MS,
} from '../../src/index.js';

/** `true` when A and B are the same type. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectTrue<T extends true>(_proof?: T): void {}

export function publicApiTypes(): void {
  const core = new RouletteCore({ clock: new ManualClock(), random: seededRandom('s'), epochMs: 1000 });

  // Event payloads are typed from the RouletteEvents map.
  core.on('paired', (e) => {
    expectTrue<Equal<typeof e, PairedEvent>>();
    expectTrue<Equal<typeof e.kind, PairKind>>();
    expectTrue<Equal<PairKind, 'epoch' | 'immediate' | 'chosen'>>();
    const uco: string = e.a;
    const epoch: number = e.epoch;
    void uco;
    void epoch;
  });
  core.on('paired', (e) => e.kind);
  core.on('unpaired', (e) => {
    expectTrue<Equal<typeof e, UnpairedEvent>>();
    expectTrue<Equal<typeof e.reason, UnpairReason>>();
    void e;
  });
  core.on('registered', (e) => {
    expectTrue<Equal<typeof e, RegisteredEvent>>();
    void e;
  });
  core.on('unregistered', (e) => {
    expectTrue<Equal<typeof e, UnregisteredEvent>>();
    expectTrue<Equal<typeof e.reason, LeaveReason>>();
    void e;
  });
  core.on('connectionClosed', (e) => {
    expectTrue<Equal<typeof e, ConnectionClosedEvent>>();
    expectTrue<Equal<typeof e.error, Error | undefined>>();
    void e;
  });
  core.on('relayed', (e) => {
    expectTrue<Equal<typeof e, RelayedEvent>>();
    void e;
  });
  core.on('protocolError', (e) => {
    expectTrue<Equal<typeof e, ProtocolErrorEvent>>();
    expectTrue<Equal<typeof e.kind, ErrorKind>>();
    expectTrue<Equal<typeof e.dropped, number | undefined>>();
    void e;
  });
  core.on('epochStarted', (e) => {
    expectTrue<Equal<typeof e, EpochStartedEvent>>();
    void e;
  });
  expectTrue<Equal<RouletteEvents['paired'], [event: PairedEvent]>>();
  expectTrue<Equal<UnpairReason, 'epoch' | 'repaired' | LeaveReason>>();
  expectTrue<Equal<Extract<LeaveReason, ExitReason>, ExitReason>>();

  // @ts-expect-error an event that does not exist
  core.on('pair', () => undefined);
  // @ts-expect-error a payload field that does not exist
  core.on('paired', (e) => e.peer);
  // @ts-expect-error emitting with a wrong payload
  core.emit('epochStarted', { epoch: 1 });

  // Options are typed, and the resolved options carry every default.
  // @ts-expect-error a wrong option type
  void new RouletteCore({ epochMs: '30000' });
  // @ts-expect-error an option that does not exist
  void new RouletteCore({ epochSeconds: 30 });
  // @ts-expect-error strict is a boolean
  void new RouletteCore({ strict: 'yes' });
  const options: RouletteOptions = { maxClients: Infinity, maxBufferedBytes: Infinity, strict: true };
  void options;
  expectTrue<typeof DEFAULTS.epochMs extends number ? true : false>();
  // @ts-expect-error DEFAULTS is read-only
  DEFAULTS.epochMs = 1;
  const epochMs: number = core.options.epochMs;
  void epochMs;

  // Queries.
  const stats: RouletteStats = core.stats();
  const failed: number = stats.errors.failed;
  void failed;
  const clients: ClientInfo[] = core.clients();
  const peer: string | undefined = clients[0]?.peer;
  void peer;
  expectTrue<Equal<ReturnType<RouletteCore['client']>, ClientInfo | undefined>>();

  // Errors carry a stable code.
  const err = new RouletteError('ERR_INVALID_OPTION', 'x');
  expectTrue<Equal<typeof err.code, RouletteErrorCode>>();
  void err;
  // @ts-expect-error an unknown error code
  void new RouletteError('ERR_NOPE', 'x');

  // Transports: only send and close are required; disconnect takes an exit reason.
  const transport: Transport = { send: () => true, close: () => undefined };
  // A transport may offer to drop its unsent output (a slow consumer's backlog).
  void core.connect({ send: () => true, close: () => undefined, discardQueued: () => undefined });
  void (RATE_LIMIT_REPLY_INTERVAL_MS satisfies number);
  const handle = core.connect(transport);
  core.disconnect(handle, 'server shutdown');
  // @ts-expect-error not an exit reason
  core.disconnect(handle, 'bye');
  // @ts-expect-error send must say whether the line was accepted
  void core.connect({ send: () => undefined, close: () => undefined });

  // The PROXY protocol: a listen option, the server's counters, the exported parser.
  void listen(core, { port: 0, proxyProtocol: true, proxyHeaderTimeoutMs: PROXY_PROTOCOL_DEFAULTS.proxyHeaderTimeoutMs }).then((server) => {
    const stats: ProxyHeaderStats | undefined = server.proxyHeaderStats();
    const rejected: number | undefined = stats === undefined ? undefined : stats.invalid + stats.timedOut + stats.closed;
    void rejected;
  });
  // @ts-expect-error proxyProtocol is a boolean
  void listen(core, { proxyProtocol: 'v2' });
  // The v1 writer takes what the parser gives back.
  const written: string = formatProxyHeaderV1({ source: undefined, destination: undefined });
  void written;
  // @ts-expect-error family is 'IPv4' or 'IPv6'
  formatProxyHeaderV1({ source: { address: '::1', port: 1, family: 'ipv6' }, destination: undefined });
  const parsed: ProxyParseResult = parseProxyHeader(new Uint8Array());
  if (parsed.kind === 'header') void formatProxyHeaderV1(parsed.header);
  if (parsed.kind === 'header') {
    const address: string | undefined = parsed.header.source?.address;
    const length: number = parsed.length;
    void address;
    void length;
  } else if (parsed.kind === 'invalid') {
    const reason: string = parsed.reason;
    void reason;
  }

  // The in-memory test double.
  const conn = new MemoryConnection(core);
  conn.send({ cmd: 'connect', uco: 'alice' });
  const lines: readonly string[] = conn.lines;
  void lines;
}
