/**
 * A lab for the console's integration and browser tests: a running core, its console
 * on a real HTTP server on 127.0.0.1 (port 0), the reference DH peer in-process, and
 * students — a correct one (another reference peer) and one that swaps the roles.
 * `close()` releases everything it opened.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { createInterface } from 'node:readline';
import { createConsole, type ConsoleAction, type ConsoleOptions, type RouletteConsole } from '../../src/console/index.js';
import { connectInProcess, RouletteCore, type RouletteOptions } from '../../src/index.js';
import { attachReferencePeer, type ReferencePeerHandle } from '../../src/testing/index.js';

/** The reference peer's uco (smaller than the students': it initiates). */
export const REFERENCE_UCO = '100000';

export interface Lab {
  readonly core: RouletteCore;
  readonly console: RouletteConsole;
  readonly server: Server;
  /** `http://127.0.0.1:<port>/` */
  readonly url: string;
  readonly reference: ReferencePeerHandle;
  readonly actions: ConsoleAction[];
  /** A correct student: a reference peer under another uco. */
  goodStudent(uco: string): ReferencePeerHandle;
  /** A student that sends dh1 although it is the responder (roles swapped). */
  swappedStudent(uco: string): Duplex;
  /** A student that registers, then never answers a ping. */
  silentStudent(uco: string): Duplex;
  close(): Promise<void>;
}

export async function openLab(
  options: { core?: RouletteOptions; console?: ConsoleOptions; reference?: boolean } = {},
): Promise<Lab> {
  const core = new RouletteCore({ epochMs: 600_000, ...options.core });
  core.start();
  const peers: ReferencePeerHandle[] = [];
  const streams: Duplex[] = [];
  const reference = attachReferencePeer(connectInProcess(core), { uco: REFERENCE_UCO, stepTimeoutMs: 5_000, core });
  peers.push(reference);
  const actions: ConsoleAction[] = [];
  const dashboard = createConsole(core, {
    ...(options.reference === false ? {} : { referencePeers: [reference.peer] }),
    onAction: (action) => actions.push(action),
    ...options.console,
  });
  const server = createServer(dashboard);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    core,
    console: dashboard,
    server,
    url: `http://127.0.0.1:${port}/`,
    reference,
    actions,
    goodStudent(uco) {
      const student = attachReferencePeer(connectInProcess(core), { uco, stepTimeoutMs: 5_000 });
      peers.push(student);
      return student;
    },
    swappedStudent(uco) {
      const socket = connectInProcess(core);
      streams.push(socket);
      const write = (message: object): void => {
        socket.write(`${JSON.stringify({ uco, ...message })}\n`);
      };
      write({ cmd: 'connect', nonce: 1 });
      createInterface({ input: socket }).on('line', (line) => {
        const message = JSON.parse(line) as { cmd?: string };
        if (message.cmd === 'ping') write({ cmd: 'pong' });
        if (message.cmd === 'pair') write({ cmd: 'comm', sub: 'dh1', dhpub: 'AAAA' });
      });
      return socket;
    },
    silentStudent(uco) {
      const socket = connectInProcess(core);
      streams.push(socket);
      socket.resume();
      socket.write(`${JSON.stringify({ cmd: 'connect', uco, nonce: 1 })}\n`);
      return socket;
    },
    async close() {
      dashboard.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all(peers.map((p) => p.close()));
      for (const s of streams) s.destroy();
      core.stop();
    },
  };
}

/** Resolves once `check()` is true, polling every 20 ms; rejects after `ms`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
