/**
 * The fairness scenario's flood: a separate process (started under `nice`, so that it
 * does not delay the probe on the generator's CPU) that opens `--pairs` pairs on our
 * server and has every sender flood its peer at saturation (the relay generator's
 * closed loop, `--window` lines in flight) for `--ms` milliseconds. It prints
 * `{"flowing":true}` once every pair carries traffic, then one JSON line with the
 * relay result (msgs/s, server CPU, …) at the end.
 *
 * @module
 */
import { relayRun } from './relay.js';
import { flag } from './serve.js';

const result = await relayRun(
  { kind: 'ours', host: flag('--host', '127.0.0.1'), port: Number(flag('--port', '0')), pid: Number(flag('--pid', '0')) },
  {
    pairs: Number(flag('--pairs', '10')),
    payload: Number(flag('--payload', '1024')),
    window: Number(flag('--window', '64')),
    warmupMs: 0,
    measureMs: Number(flag('--ms', '3000')),
    drainMs: 5_000,
    rate: 0,
    onFlowing: () => process.stdout.write('{"flowing":true}\n'),
  },
);
process.stdout.write(`${JSON.stringify({ result })}\n`);
process.exit(0);
