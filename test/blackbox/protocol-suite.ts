/**
 * The black-box protocol suite: what a client sees of PROTOCOL.md over TCP, against any
 * server started by command that prints `listening on HOST:PORT` and stops on SIGTERM.
 * The core runs it against `chat-roulette start` (test/integration/protocol-blackbox.test.ts);
 * `@chat-roulette/redis` runs this same file against `chat-roulette-cluster`, 3 nodes
 * behind a round-robin balancer (packages/redis/test/protocol-blackbox.test.ts).
 *
 * A test starts its own server with the flags it needs, talks to it only over sockets,
 * and after it checks that the server left no process behind. Each wait is on a line,
 * a close or an exit, bounded by test/helpers/bounds.ts. Where a cluster legitimately
 * differs from one process (docs/scaling.md, "What a client can notice"), the test says
 * so: a state reached "at once" by one process is reached "eventually" by a cluster,
 * and `--seed` reproducibility and per-address limits are per process (a node sees the
 * balancer's address unless the balancer sends PROXY headers, `--proxy-protocol`).
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { SUITE_TIMEOUT_MS, TEST_TIMEOUT_MS } from '../helpers/bounds.js';
import { eventually, PING, ServerProcess, WireClient } from './harness.js';

/** A server to run the suite against. */
export interface ServerUnderTest {
  /** Its name in the test titles. */
  readonly name: string;
  /**
   * The command (executable and arguments) that starts it on 127.0.0.1 with a free port;
   * each test appends its flags (those of `chat-roulette start`). Run from the repository root.
   */
  readonly command: readonly string[];
  /**
   * How many server processes answer behind the port, in round robin: 1 for one
   * process, N for a cluster behind a balancer.
   */
  readonly nodes: number;
  /**
   * The server is a balancer that, given `--proxy-protocol`, sends each node a PROXY
   * header with the client's address (`chat-roulette-cluster`): the per-address test
   * then runs a second time with that flag, where the nodes see the clients' addresses.
   * @defaultValue false
   */
  readonly proxyProtocol?: boolean;
  /** Why the suite cannot run here, or `false`. */
  readonly skip: string | false;
}

const SHUTDOWN = '{"exit":true,"reason":"server shutdown"}';
/** No epoch boundary inside a test that is not about epochs (it would re-pair everyone). */
const NO_EPOCH = ['--epoch-ms', '3600000'];

/** Registers the suite's tests for `target`. */
export function protocolSuite(target: ServerUnderTest): void {
  const cluster = target.nodes > 1;
  const T = { timeout: TEST_TIMEOUT_MS };

  /** Starts the server with `flags`; after the test, stops it and fails if it left a process behind. */
  async function start(t: TestContext, flags: readonly string[]): Promise<{ server: ServerProcess; port: number; connect: typeof WireClient.connect }> {
    const server = new ServerProcess(target.command, flags);
    const clients: WireClient[] = [];
    t.after(async () => {
      for (const c of clients) c.socket.destroy();
      const left = await server.stop();
      assert.deepEqual(left, [], `processes the server left behind:\n${server.stderr.slice(-2000)}`);
    });
    const port = await server.port();
    const connect = async (p: number, options?: Parameters<typeof WireClient.connect>[1]): Promise<WireClient> => {
      const c = await WireClient.connect(p, options);
      clients.push(c);
      return c;
    };
    return { server, port, connect };
  }

  /** Sends `comm` probes from `c` until one is answered `no peer` (its peer's departure may take a hop to reach it in a cluster). */
  async function noPeerEventually(c: WireClient, t = 'anyone'): Promise<void> {
    const from = c.lines.length;
    let probes = 0;
    const answer = (): string | undefined => c.lines.slice(from).find((l) => l.startsWith('{"error":"no peer"'));
    await eventually('a no peer reply', () => {
      if (answer() !== undefined) return true;
      c.send({ cmd: 'comm', t, probe: ++probes });
      return false;
    });
    assert.match(answer() ?? '', new RegExp(`^\\{"error":"no peer","msg":\\{"cmd":"comm","t":"${t}","probe":\\d+\\}\\}$`));
  }

  describe(`black-box protocol over TCP: ${target.name}`, { skip: target.skip, timeout: SUITE_TIMEOUT_MS }, () => {
    test('PROTOCOL §1–§3 on one connection: ack, every error text, framing (CRLF, blank lines, split and batched writes), exit', T, async (t) => {
      const { port, connect } = await start(t, NO_EPOCH);
      const c = await connect(port);
      c.send({ cmd: 'comm', text: 'x' });
      assert.equal(await c.next(), '{"error":"not registered","msg":{"cmd":"comm","text":"x"}}');
      c.send({ uco: 'alice', text: 'x' });
      assert.equal(await c.next(), '{"error":"missing cmd","msg":{"uco":"alice","text":"x"}}');
      c.send({ cmd: 'what' });
      assert.equal(await c.next(), '{"error":"Unknown command [what]"}');
      c.send('{"cmd":"connect",\n[1,2]\n"text"\nnull\n');
      assert.equal(await c.next(), '{"error":"invalid json"}');
      for (let i = 0; i < 3; i++) assert.equal(await c.next(), '{"error":"invalid message"}');
      c.send({ cmd: 'connect', nonce: 5 });
      assert.equal(await c.next(), '{"error":"invalid uco","msg":{"cmd":"connect","nonce":5}}');
      c.send({ cmd: 'connect', uco: ['a'], nonce: 5 });
      assert.equal(await c.next(), '{"error":"invalid uco","msg":{"cmd":"connect","uco":["a"],"nonce":5}}');
      c.send({ cmd: 'connect', uco: '!-!', nonce: 5 });
      assert.equal(await c.next(), '{"error":"invalid uco","msg":{"cmd":"connect","uco":"!-!","nonce":5}}');
      // §1: a line over maxLineBytes (default 32768) is refused unparsed; the connection stays.
      c.send(`{"cmd":"comm","t":"${'x'.repeat(40_000)}"}\n`);
      assert.equal(await c.next(), '{"error":"message too long"}');
      // §1: a message split byte by byte, CRLF-terminated; the nonce comes back as a string.
      for (const byte of Buffer.from('{"cmd":"connect","uco":"alice","nonce":"é1"}\r\n')) await c.write(Buffer.of(byte));
      assert.equal(await c.next(), '{"ack":"é1"}');
      // §1 blank lines ignored; several messages in one write; §3 connect again is idempotent; a missing nonce is "".
      c.send('\r\n   \n{"cmd":"connect","uco":"alice","nonce":7}\n{"cmd":"connect","uco":"alice"}\n{"cmd":"comm"}\n');
      assert.equal(await c.next(), '{"ack":"7"}');
      assert.equal(await c.next(), '{"ack":""}');
      assert.equal(await c.next(), '{"error":"no peer","msg":{"cmd":"comm"}}');
      // §2: a uco field that differs after sanitising is refused; one that sanitises to the same is not.
      c.send({ cmd: 'comm', uco: 'bob', t: 1 });
      assert.equal(await c.next(), '{"error":"uco mismatch","msg":{"cmd":"comm","uco":"bob","t":1}}');
      c.send({ cmd: 'comm', uco: 'a-l-i-c-e', t: 2 });
      assert.equal(await c.next(), '{"error":"no peer","msg":{"cmd":"comm","uco":"a-l-i-c-e","t":2}}');
      // §3 exit: the reply, then the server closes.
      c.send({ cmd: 'exit' });
      assert.equal(await c.next(), '{"exit":true,"reason":"client exit"}');
      await c.end();
    });

    test('PROTOCOL §6 pairing, §3 comm byte for byte and in order both ways, exit; §5 a closed client frees its peer, paired again with a newcomer', T, async (t) => {
      // A stream far above the default rate limit: this test is about the relay.
      const { port, connect } = await start(t, [...NO_EPOCH, '--rate-limit', 'off']);
      const alice = await connect(port);
      const bob = await connect(port);
      await alice.register('alice');
      await bob.register('bob', 2);
      assert.equal(await alice.next(), '{"cmd":"pair","uco":"bob"}');
      assert.equal(await bob.next(), '{"cmd":"pair","uco":"alice"}');
      // Not re-serialised: spacing, key order, a 25-digit integer, 1.50, escapes and UTF-8 survive; the \r does not.
      const odd = '{ "z" : 1,"cmd":   "comm" ,"big": 1234567890123456789012345, "f": 1.50, "t":"é\\u00e9 ✓\\n", "a":[ 1 ,2 ] }';
      alice.send(`${odd}\r\n`);
      assert.equal(await bob.next(), odd);
      assert.ok(Buffer.from(odd).equals(bob.raw.at(-1) as Buffer), 'the same bytes');
      const back = '{"cmd":"comm","n":-0.0,"e":1e400,"dup":1,"dup":2}';
      bob.send(`${back}\n`);
      assert.equal(await alice.next(), back);
      // 10 000 lines in order, none lost (across two nodes in a cluster).
      const total = 10_000;
      for (let i = 0; i < total; i += 1_000) {
        let batch = '';
        for (let j = i; j < i + 1_000; j++) batch += `{"cmd":"comm","seq":${j}}\n`;
        alice.send(batch);
      }
      for (let i = 0; i < total; i++) {
        const line = await bob.next();
        if (line !== `{"cmd":"comm","seq":${i}}`) assert.fail(`line ${i}: ${line}`);
      }
      assert.deepEqual(alice.lines.slice(3).filter((l) => l !== PING), [], 'no error for the sender');
      // §3 exit frees bob.
      alice.send({ cmd: 'exit' });
      assert.equal(await alice.next(), '{"exit":true,"reason":"client exit"}');
      await alice.end();
      await noPeerEventually(bob);
      // A newcomer (its uco sanitised: PROTOCOL §2) is paired with bob.
      const carol = await connect(port);
      carol.send({ cmd: 'connect', uco: 'c-a r.o_l', nonce: 3 });
      assert.equal(await carol.next(), '{"ack":"3"}');
      assert.equal(await carol.next(), '{"cmd":"pair","uco":"bob"}');
      assert.equal(await bob.nextMatching(/"pair"/), '{"cmd":"pair","uco":"carol"}');
      // §5: carol's transport closes abruptly; bob is free again.
      carol.socket.destroy();
      await noPeerEventually(bob, 'again');
    });

    test('PROTOCOL §3 connect: the same uco on another connection takes over ("new session", then EOF), the old peer is paired with the new one; again on the same connection: idempotent, or a re-registration under another uco', T, async (t) => {
      const { port, connect } = await start(t, NO_EPOCH);
      const first = await connect(port);
      const bob = await connect(port);
      await first.register('alice', 1);
      await bob.register('bob', 1);
      assert.equal(await first.next(), '{"cmd":"pair","uco":"bob"}');
      assert.equal(await bob.next(), '{"cmd":"pair","uco":"alice"}');
      const second = await connect(port);
      await second.register('alice', 2);
      assert.equal(await first.next(), '{"exit":true,"reason":"new session"}');
      await first.end();
      // The takeover dissolved alice's pair; the new alice and bob are both free: paired again.
      assert.equal(await second.next(), '{"cmd":"pair","uco":"bob"}');
      assert.equal(await bob.next(), '{"cmd":"pair","uco":"alice"}');
      // connect again on the same connection with the same uco: a new ack, the pair kept.
      second.send({ cmd: 'connect', uco: 'alice', nonce: 3 });
      assert.equal(await second.next(), '{"ack":"3"}');
      second.send({ cmd: 'comm', t: 'still here' });
      assert.equal(await bob.next(), '{"cmd":"comm","t":"still here"}');
      // connect with another uco: re-registered under it, the old pair dropped; free again, paired again.
      second.send({ cmd: 'connect', uco: 'alicia', nonce: 4 });
      assert.equal(await second.next(), '{"ack":"4"}');
      assert.equal(await second.next(), '{"cmd":"pair","uco":"bob"}');
      assert.equal(await bob.next(), '{"cmd":"pair","uco":"alicia"}');
    });

    test(`PROTOCOL §3 connect: "server full" past --max-clients${cluster ? ' (cluster-wide)' : ''}; a place freed is taken again`, T, async (t) => {
      const { port, connect } = await start(t, [...NO_EPOCH, '--max-clients', '3']);
      const clients: WireClient[] = [];
      for (const uco of ['u1', 'u2', 'u3']) {
        const c = await connect(port);
        await c.register(uco);
        clients.push(c);
      }
      const fourth = await connect(port);
      fourth.send({ cmd: 'connect', uco: 'u4', nonce: 1 });
      assert.equal(await fourth.next(), '{"exit":true,"reason":"server full"}');
      await fourth.end();
      const u1 = clients[0] as WireClient;
      u1.send({ cmd: 'exit' });
      assert.equal(await u1.nextMatching(/"exit"/), '{"exit":true,"reason":"client exit"}');
      // One process frees the place at once; a cluster once the leave reached Redis.
      let newcomer: WireClient | undefined;
      for (let attempt = 0; newcomer === undefined; attempt++) {
        const c = await connect(port);
        c.send({ cmd: 'connect', uco: 'u5', nonce: attempt });
        const reply = await c.next();
        if (reply === `{"ack":"${attempt}"}`) newcomer = c;
        else assert.ok(cluster && reply === '{"exit":true,"reason":"server full"}' && attempt < 100, reply);
      }
    });

    test('PROTOCOL §5 liveness: a client that stops answering pings gets "timeout"; one that never sends connect gets "register timeout"; one that answers stays', T, async (t) => {
      const { port, connect } = await start(t, [...NO_EPOCH, '--ping-ms', '300', '--dead-ms', '3000', '--register-timeout-ms', '3000']);
      const talker = await connect(port);
      const silent = await connect(port, { pong: false });
      await talker.register('talker');
      await silent.register('silent');
      assert.equal(await talker.next(), '{"cmd":"pair","uco":"silent"}');
      assert.equal(await silent.next(), '{"cmd":"pair","uco":"talker"}');
      const lazy = await connect(port);
      assert.equal(await silent.next(), '{"exit":true,"reason":"timeout"}');
      await silent.end();
      assert.ok(silent.lines.includes(PING), 'it was pinged');
      assert.equal(await lazy.next(), '{"exit":true,"reason":"register timeout"}');
      await lazy.end();
      await noPeerEventually(talker);
      assert.equal(talker.closed, false, 'the client that answers pings stays');
    });

    test('PROTOCOL §6 epochs: every client is paired again at each boundary, never with its current peer when another exists', T, async (t) => {
      const { port, connect } = await start(t, ['--epoch-ms', '1500']);
      const ucos = ['e1', 'e2', 'e3', 'e4'];
      const clients = new Map<string, WireClient>();
      for (const uco of ucos) {
        const c = await connect(port);
        await c.register(uco);
        clients.set(uco, c);
      }
      const peersOf = (c: WireClient): string[] => c.pairs().map((l) => (JSON.parse(l) as { uco: string }).uco);
      await eventually('everyone paired', () => [...clients.values()].every((c) => c.pairs().length >= 1));
      // From here all four are registered: every later epoch re-pairs all four. The first
      // pair line after this point may come from an epoch that began before it; the second
      // comes from one that began after.
      const before = new Map([...clients].map(([uco, c]) => [uco, c.pairs().length]));
      await eventually('two more pair lines each', () => [...clients].every(([uco, c]) => c.pairs().length >= (before.get(uco) as number) + 2));
      for (const [uco, c] of clients) {
        const peers = peersOf(c);
        const since = peers.slice((before.get(uco) as number) - 1);
        for (let i = 1; i < since.length; i++) {
          assert.notEqual(since[i], since[i - 1], `${uco} was given the same peer twice in a row: ${peers.join(', ')}`);
        }
        for (const peer of since) {
          assert.ok(ucos.includes(peer) && peer !== uco, `${uco} paired with ${peer}`);
          assert.ok(peersOf(clients.get(peer) as WireClient).includes(uco), `${peer} was told of ${uco} too`);
        }
      }
    });

    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      test(`PROTOCOL §7, §9 ${signal}: every connection gets "server shutdown" last, then EOF (also one that never closes its side); exit 0; stdout is the listening line only`, T, async (t) => {
        const { server, port, connect } = await start(t, [...NO_EPOCH, '--register-timeout-ms', '600000']);
        const alice = await connect(port);
        const bob = await connect(port);
        await alice.register('alice');
        await bob.register('bob');
        assert.equal(await alice.next(), '{"cmd":"pair","uco":"bob"}');
        assert.equal(await bob.next(), '{"cmd":"pair","uco":"alice"}');
        const halfOpen = await connect(port, { allowHalfOpen: true });
        await halfOpen.register('carol');
        const loner = await connect(port);
        loner.send({ cmd: 'what' });
        assert.equal(await loner.next(), '{"error":"Unknown command [what]"}');
        server.signal(signal);
        for (const c of [alice, bob, halfOpen, loner]) {
          const before: string[] = [];
          for (let line = await c.next(); line !== SHUTDOWN; line = await c.next()) before.push(line);
          // A cluster's nodes stop one by one: a client whose peer's node stopped first may be
          // paired again (with a client of a node still running) before its own notice.
          if (cluster) for (const line of before) assert.match(line, /^\{"cmd":"pair","uco":"(alice|bob|carol)"\}$/);
          else assert.deepEqual(before, [], 'the notice comes first');
          await c.end();
        }
        assert.deepEqual(await server.exit(), { code: 0, signal: null }, server.stderr);
        assert.equal(server.stdout, `listening on 127.0.0.1:${port}\n`);
      });
    }

    // A cluster's nodes each count their own connections (the limit is per node, not
    // cluster-wide), by the address they see: the balancer's, or with --proxy-protocol the
    // client's, which the balancer's PROXY header carries.
    for (const proxy of cluster && target.proxyProtocol === true ? [false, true] : [false]) {
      const seesClients = !cluster || proxy;
      const by = !cluster ? '' : proxy ? ', with --proxy-protocol by the client\'s address' : ', by the balancer\'s address';
      test(
        `--max-connections-per-address counts per server process${cluster ? ` (here per node: ${target.nodes} connections from one address pass, one per node${by})` : ''}; ` +
          `one more is refused "too many connections"; one from another address ${seesClients ? 'passes' : 'is refused too (the node sees the balancer\'s address)'}`,
        T,
        async (t) => {
          const { port, connect } = await start(t, [...NO_EPOCH, '--max-connections-per-address', '1', ...(proxy ? ['--proxy-protocol'] : [])]);
          // Round robin: the first `nodes` connections land on distinct processes, the next on the first again.
          for (let i = 1; i <= target.nodes; i++) {
            const c = await connect(port, { localAddress: '127.0.0.2' });
            await c.register(`p${i}`);
          }
          const extra = await connect(port, { localAddress: '127.0.0.2' });
          assert.equal(await extra.next(), '{"exit":true,"reason":"too many connections"}');
          await extra.end();
          // Every process now holds one connection from 127.0.0.2 (as it saw it).
          const other = await connect(port, { localAddress: '127.0.0.3' });
          if (seesClients) await other.register('q1');
          else assert.equal(await other.next(), '{"exit":true,"reason":"too many connections"}');
        },
      );
    }

    test(
      '--seed makes pairing reproducible (same seed, same connection order, 4 clients)',
      { ...T, skip: cluster ? 'not in a cluster: every node draws from its own generator and pairs at once (docs/scaling.md)' : false },
      async (t) => {
        const run = async (): Promise<string[]> => {
          // A long pair delay: all four are free when the pairing timer fires.
          const { server, port, connect } = await start(t, ['--seed', 'lab-3', '--pair-delay-ms', '2500', ...NO_EPOCH]);
          const clients: WireClient[] = [];
          for (const uco of ['c1', 'c2', 'c3', 'c4']) {
            const c = await connect(port);
            await c.register(uco);
            clients.push(c);
          }
          const peers = await Promise.all(clients.map((c) => c.next()));
          server.signal('SIGTERM');
          assert.equal((await server.exit()).code, 0);
          return peers;
        };
        const first = await run();
        assert.deepEqual(await run(), first);
      },
    );
  });
}
