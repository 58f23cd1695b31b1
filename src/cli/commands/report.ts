/**
 * `chat-roulette report <file.ndjson> [--json]`: grades the Diffie–Hellman rounds the
 * reference peer logged, per student (see {@link readReport}).
 *
 * @module
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { formatReport, readReport, type DhReport } from '../../testing/report.js';
import { EXIT, type CliIo, type Command } from '../command.js';

/** The usage text of `report`, ending with a newline. */
export function reportUsage(): string {
  return [
    'Usage: chat-roulette report <file.ndjson> [--json]',
    '',
    "Grades the Diffie-Hellman rounds of a reference peer's log (--log), per student:",
    'successful, failed and incomplete rounds, and the last failure.',
    '',
    'Options:',
    '  --json      print the report as JSON instead of a table',
    '  -h, --help  print this help',
    '',
  ].join('\n');
}

/** The outcome of {@link parseReportArgs}. */
export type ReportArgs =
  /** Grade `file`. */
  | { readonly kind: 'run'; readonly file: string; readonly json: boolean }
  /** `--help` / `-h`. */
  | { readonly kind: 'help' }
  /** A bad flag or argument: print `message` and the usage to stderr, exit code 2. */
  | { readonly kind: 'usage-error'; readonly message: string };

/** Parses the arguments that follow `report`. Pure: it never prints nor exits. */
export function parseReportArgs(argv: readonly string[]): ReportArgs {
  const { tokens } = parseArgs({
    args: [...argv],
    options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const positionals: string[] = [];
  let json = false;
  let help = false;
  for (const token of tokens) {
    if (token.kind === 'positional') positionals.push(token.value);
    else if (token.kind === 'option-terminator') continue;
    else if (token.name !== 'json' && token.name !== 'help') return usageError(`unknown option '${token.rawName}'`);
    else if (token.value !== undefined) return usageError(`option ${token.rawName} takes no value`);
    else if (token.name === 'json') json = true;
    else help = true;
  }
  if (help) return { kind: 'help' };
  const [file, ...extra] = positionals;
  if (file === undefined || file === '') return usageError('missing the log file');
  if (extra.length > 0) return usageError(`unexpected argument '${extra[0] ?? ''}'`);
  return { kind: 'run', file, json };
}

function usageError(message: string): ReportArgs {
  return { kind: 'usage-error', message };
}

/** Reads and grades `file`, line by line. Rejects when the file cannot be read. */
async function gradeFile(file: string): Promise<DhReport> {
  const input = createReadStream(file, { encoding: 'utf8' });
  const lines = createInterface({ input, crlfDelay: Infinity });
  try {
    return await readReport(lines);
  } finally {
    lines.close();
    input.destroy();
  }
}

/** Exit codes: 0 report printed (malformed lines included), 1 unreadable file, 2 bad arguments. */
async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseReportArgs(argv);
  switch (args.kind) {
    case 'help':
      io.out(reportUsage());
      return EXIT.ok;
    case 'usage-error':
      io.err(`chat-roulette report: ${args.message}\n${reportUsage()}`);
      return EXIT.usage;
    case 'run':
      break;
  }
  let report: DhReport;
  try {
    report = await gradeFile(args.file);
  } catch (error) {
    io.err(`chat-roulette report: cannot read ${args.file}: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.failure;
  }
  io.out(args.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  return EXIT.ok;
}

/** `chat-roulette report`. */
const report: Command = {
  summary: 'grade the DH rounds of a reference peer log (see report --help)',
  run,
};

export default report;
