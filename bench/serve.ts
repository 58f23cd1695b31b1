/**
 * What the benchmark's own servers share: `--host`/`--port` flags, the CLI's
 * `listening on <host>:<port>` line once listening, and an exit 0 on SIGINT/SIGTERM.
 *
 * @module
 */
import type { Server } from 'node:net';

/** The value after `name` on the command line, or `fallback`. */
export function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? (process.argv[i + 1] as string) : fallback;
}

/** Listens on `--host`/`--port` (default 127.0.0.1:0), prints the CLI's line, stops on a signal. */
export function serve(server: Server): void {
  server.listen(Number(flag('--port', '0')), flag('--host', '127.0.0.1'), () => {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('unexpected server address');
    process.stdout.write(`listening on ${address.address}:${address.port}\n`);
  });
  const shutdown = (): void => {
    server.close();
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}
