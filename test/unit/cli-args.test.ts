/**
 * PROTOCOL §9: the flags of `chat-roulette start`, parsed by the pure `parseStartArgs`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CORE_FLAGS, parseStartArgs, startUsage } from '../../src/cli/args.js';
import { createLogger, logCoreEvents } from '../../src/cli/log.js';
import { DEFAULTS, ManualClock, MemoryConnection, resolveOptions, RouletteCore, TCP_DEFAULTS } from '../../src/index.js';
import { options, usageError } from '../helpers/start-args.js';


describe('PROTOCOL §9 chat-roulette start: defaults', () => {
  test('no flag gives the defaults of DEFAULTS and TCP_DEFAULTS', () => {
    const parsed = options([]);
    assert.equal(parsed.host, TCP_DEFAULTS.host);
    assert.equal(parsed.port, TCP_DEFAULTS.port);
    assert.equal(parsed.seed, undefined);
    assert.equal(parsed.quiet, false);
    for (const { option } of CORE_FLAGS) assert.equal(parsed.core[option], DEFAULTS[option], option);
  });

  test('PROTOCOL §8 defaults: 0.0.0.0:44333', () => {
    assert.deepEqual({ ...TCP_DEFAULTS }, { host: '0.0.0.0', port: 44333 });
  });

  test('the core options the CLI passes are valid for the core', () => {
    assert.doesNotThrow(() => resolveOptions(options([]).core));
  });

  test('every numeric flag of PROTOCOL §9 is bound to a distinct core option', () => {
    assert.deepEqual(
      CORE_FLAGS.map((f) => f.flag),
      ['epoch-ms', 'ping-ms', 'dead-ms', 'register-timeout-ms', 'pair-delay-ms', 'max-line-bytes', 'max-clients'],
    );
    assert.equal(new Set(CORE_FLAGS.map((f) => f.option)).size, CORE_FLAGS.length);
  });

  test('the usage lists every flag with its default from DEFAULTS', () => {
    const usage = startUsage();
    assert.match(usage, new RegExp(`--host H .*\\(default ${TCP_DEFAULTS.host.replaceAll('.', '\\.')}\\)`));
    assert.match(usage, new RegExp(`--port P .*\\(default ${TCP_DEFAULTS.port}\\)`));
    for (const { flag, option } of CORE_FLAGS) {
      assert.match(usage, new RegExp(`--${flag} N .*\\(default ${DEFAULTS[option]}\\)`), flag);
    }
    for (const flag of ['--seed', '--quiet', '--help']) assert.ok(usage.includes(flag), flag);
  });
});

describe('PROTOCOL §9 chat-roulette start: every flag', () => {
  test('--host and --port', () => {
    const parsed = options(['--host', '127.0.0.1', '--port', '4000']);
    assert.equal(parsed.host, '127.0.0.1');
    assert.equal(parsed.port, 4000);
  });

  test('--port 0 binds any free port; 65535 is the highest', () => {
    assert.equal(options(['--port', '0']).port, 0);
    assert.equal(options(['--port=65535']).port, 65535);
  });

  for (const [index, { flag, option }] of CORE_FLAGS.entries()) {
    test(`--${flag} sets ${option}`, () => {
      const value = 1000 + index;
      const parsed = options([`--${flag}`, String(value)]);
      assert.equal(parsed.core[option], value);
      for (const other of CORE_FLAGS) {
        if (other.option !== option) assert.equal(parsed.core[other.option], DEFAULTS[other.option], other.option);
      }
      assert.equal(options([`--${flag}=${value}`]).core[option], value, 'inline form');
    });
  }

  test('--pair-delay-ms 0 and --max-clients 0 are allowed, as by the core', () => {
    assert.equal(options(['--pair-delay-ms', '0']).core.pairDelayMs, 0);
    assert.equal(options(['--max-clients', '0']).core.maxClients, 0);
  });

  test('--seed is kept as text', () => {
    assert.equal(options(['--seed', 'lab-3']).seed, 'lab-3');
    assert.equal(options(['--seed', '42']).seed, '42');
  });

  test('--quiet', () => {
    assert.equal(options(['--quiet']).quiet, true);
  });

  test('--help and -h, even with other flags', () => {
    assert.deepEqual(parseStartArgs(['--help']), { kind: 'help' });
    assert.deepEqual(parseStartArgs(['-h']), { kind: 'help' });
    assert.deepEqual(parseStartArgs(['--port', '1', '--help']), { kind: 'help' });
  });

  test('all flags at once', () => {
    const parsed = options([
      '--host', '::1', '--port', '1', '--epoch-ms', '2', '--ping-ms', '3', '--dead-ms', '4',
      '--register-timeout-ms', '5', '--pair-delay-ms', '6', '--max-line-bytes', '7',
      '--max-clients', '8', '--seed', 's', '--quiet', '--stats-interval', '9', '--shutdown-grace-ms', '10',
      '--proxy-protocol',
    ]);
    assert.deepEqual(parsed, {
      host: '::1',
      port: 1,
      core: {
        epochMs: 2,
        pingIntervalMs: 3,
        deadAfterMs: 4,
        registerTimeoutMs: 5,
        pairDelayMs: 6,
        maxLineBytes: 7,
        maxClients: 8,
      },
      seed: 's',
      quiet: true,
      statsIntervalMs: 9,
      shutdownGraceMs: 10,
      proxyProtocol: true,
    });
  });

  test('the last of a repeated flag wins', () => {
    assert.equal(options(['--port', '1', '--port', '2']).port, 2);
  });
});

describe('PROTOCOL §9 chat-roulette start: a bad flag or value is a usage error', () => {
  test('unknown flags', () => {
    assert.match(usageError(['--bogus']), /unknown option '--bogus'/);
    assert.match(usageError(['-x']), /unknown option '-x'/);
    assert.match(usageError(['--Port', '1']), /unknown option '--Port'/);
  });

  test('positional arguments', () => {
    assert.match(usageError(['extra']), /unexpected argument 'extra'/);
    assert.match(usageError(['--', '--port']), /unexpected argument '--port'/);
  });

  test('a missing value', () => {
    assert.match(usageError(['--port']), /--port needs a value/);
    assert.match(usageError(['--port', '--quiet']), /--port needs a value/);
    assert.match(usageError(['--seed']), /--seed needs a value/);
    assert.match(usageError(['--seed=']), /--seed needs a value/);
    assert.match(usageError(['--host', '']), /--host needs a value/);
    for (const { flag } of CORE_FLAGS) assert.match(usageError([`--${flag}`]), new RegExp(`--${flag} needs a value`));
  });

  test('a value for a switch', () => {
    assert.match(usageError(['--quiet=yes']), /--quiet takes no value/);
    assert.match(usageError(['--help=1']), /--help takes no value/);
  });

  for (const flag of ['port', ...CORE_FLAGS.map((f) => f.flag)]) {
    test(`--${flag}: non-integer and negative values`, () => {
      for (const bad of ['abc', '1.5', '1e3', '0x10', '', ' 1', '+1', '-1', '99999999999999999999']) {
        assert.match(usageError([`--${flag}=${bad}`]), new RegExp(`invalid value for --${flag}`), `${flag}=${bad}`);
      }
      assert.match(usageError([`--${flag}`, '-5']), new RegExp(`invalid value for --${flag}: '-5'`));
    });
  }

  test('--port above 65535', () => {
    assert.match(usageError(['--port', '65536']), /invalid value for --port: '65536' \(expected an integer from 0 to 65535\)/);
  });

  test('zero where the core needs at least 1', () => {
    for (const flag of ['epoch-ms', 'ping-ms', 'dead-ms', 'register-timeout-ms', 'max-line-bytes']) {
      assert.match(usageError([`--${flag}`, '0']), new RegExp(`invalid value for --${flag}: '0' \\(.*>= 1`), flag);
    }
  });
});

describe('CLI log lines', () => {
  test('format: <ISO time> <LEVEL> <message>; quiet drops INFO only', () => {
    const lines: string[] = [];
    const now = (): Date => new Date('2026-11-28T03:00:00.000Z');
    const log = createLogger({ write: (line) => lines.push(line), now });
    log.info('Pairing 67 <-> 220');
    log.error('boom');
    const quiet = createLogger({ write: (line) => lines.push(line), now, quiet: true });
    quiet.info('hidden');
    quiet.warn('shown');
    quiet.error('shown too');
    assert.deepEqual(lines, [
      '2026-11-28T03:00:00.000Z INFO Pairing 67 <-> 220\n',
      '2026-11-28T03:00:00.000Z ERROR boom\n',
      '2026-11-28T03:00:00.000Z WARN shown\n',
      '2026-11-28T03:00:00.000Z ERROR shown too\n',
    ]);
  });

  test('the core\'s events become log lines; unsubscribing removes every listener', () => {
    const clock = new ManualClock();
    const core = new RouletteCore({ clock, epochMs: 60_000, random: () => 0.99 }); // no shuffle: 67 <-> 220
    const lines: string[] = [];
    const unsubscribe = logCoreEvents(core, createLogger({ write: (line) => lines.push(line.slice(25, -1)) }));
    core.start();
    const a = new MemoryConnection(core, { remoteAddress: '10.0.0.1:5000' });
    const b = new MemoryConnection(core);
    a.send({ cmd: 'connect', uco: '67', nonce: 1 });
    b.send({ cmd: 'connect', uco: '220', nonce: 1 });
    clock.advance(DEFAULTS.pairDelayMs);
    a.send({ cmd: 'exit' });
    b.send('nope');
    clock.advance(60_000); // 220 never answers a ping
    core.stop();
    assert.deepEqual(lines, [
      'INFO Client connected from 10.0.0.1:5000 (connection 1)',
      'INFO Client connected from memory (connection 2)',
      'INFO Registered 67 (connection 1)',
      'INFO Registered 220 (connection 2)',
      'INFO Pairing 67 <-> 220',
      'INFO Removed 67 (connection 1): it sent exit (client exit)',
      'INFO Refused a message from 220: invalid json',
      'INFO Removed 220 (connection 2): it stopped answering pings (timeout)',
      'INFO Epoch 1 started with no clients; the next empty epochs are not logged',
    ]);
    unsubscribe();
    assert.equal(core.eventNames().length, 0);
  });
});

describe('chat-roulette start --proxy-protocol', () => {
  test('off by default; a switch without a value', () => {
    assert.equal(options([]).proxyProtocol, false);
    assert.equal(options(['--proxy-protocol']).proxyProtocol, true);
    assert.match(usageError(['--proxy-protocol=yes']), /option --proxy-protocol takes no value/);
    assert.match(startUsage(), /^ {2}--proxy-protocol +every connection begins with a PROXY v1\/v2 header/m);
  });

  test('not with TLS: the header comes before the handshake', () => {
    assert.equal(
      usageError(['--proxy-protocol', '--tls-cert', 'c.pem', '--tls-key', 'k.pem']),
      'option --proxy-protocol cannot be used with --tls-cert: terminate TLS at the balancer',
    );
  });
});
