/**
 * Compile-only checks of `chat-roulette/console`'s public types (`npx tsc -p
 * tsconfig.json`); never run. From source, as public-api.test-d.ts does; the
 * package's "exports" entry is exercised by docs/console.md's snippets.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import { connectInProcess, RouletteCore } from '../../src/index.js';
import {
  bindRefusal,
  CONSOLE_DEFAULTS,
  CONSOLE_TOKEN_ENV,
  createConsole,
  isLoopbackHost,
  METRICS_CONTENT_TYPE,
  type ConsoleAction,
  type ConsoleHealth,
  type ConsoleOptions,
  type ConsoleView,
  type RouletteConsole,
} from '../../src/console/index.js';
import { attachReferencePeer } from '../../src/testing/index.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectTrue<T extends true>(_proof?: T): void {}

export function consoleApiTypes(): void {
  const core = new RouletteCore();
  const reference = attachReferencePeer(connectInProcess(core), { uco: '100000' });
  const options: ConsoleOptions = {
    token: 't',
    referencePeers: [reference.peer],
    health: (): ConsoleHealth => ({ ok: false, reason: 'cluster backend unavailable' }),
    onAction: (action: ConsoleAction) => {
      expectTrue<Equal<typeof action.action, 'disconnect' | 'epoch' | 'pair'>>();
      const ucos: string[] = action.ucos;
      void ucos;
    },
    updateIntervalMs: CONSOLE_DEFAULTS.updateIntervalMs,
  };
  const dashboard: RouletteConsole = createConsole(core, options);
  // A plain Node request handler: http.createServer takes it as is.
  const handler: (req: IncomingMessage, res: ServerResponse) => void = dashboard;
  createServer(dashboard);
  void handler;
  const streams: number = dashboard.streams;
  void streams;
  dashboard.shutdown();
  dashboard.close();
  // @ts-expect-error streams is read-only
  dashboard.streams = 1;
  // @ts-expect-error unknown option
  createConsole(core, { tokn: 't' });

  const refusal: string | undefined = bindRefusal('0.0.0.0', { token: undefined, publicAccess: false });
  const loopback: boolean = isLoopbackHost('127.0.0.1');
  const env: string = CONSOLE_TOKEN_ENV;
  const type: string = METRICS_CONTENT_TYPE;
  void [refusal, loopback, env, type];

  const view = {} as ConsoleView;
  expectTrue<Equal<typeof view.grading, ConsoleView['grading']>>();
  const next: number | null = view.nextEpochInMs;
  void next;
}
