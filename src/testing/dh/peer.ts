/**
 * {@link DhReferencePeer}: the DH exercise (DH-EXERCISE.md) as a transport-independent
 * state machine. It is given the server's lines and gives back the lines to send;
 * it records every round as {@link DhRoundEvent}s, with the reason of any failure in
 * plain words.
 *
 * @module
 */
import createDebug from 'debug';
import { EventEmitter } from 'eventemitter3';
import { systemClock, type Clock, type TimerHandle } from '../../core/clock.js';
import {
  checkDhverif,
  checkGroup,
  checkPublicValue,
  connectionIdOf,
  DhKeyPair,
  dhverif,
  jdkGroup,
  parseDhPublicKey,
  roleOf,
  sameGroup,
  type DhGroup,
  type DhGroupBits,
  type DhPublicKeyInfo,
} from './crypto.js';
import type { DhRole, DhRoundEvent, DhStep, DhStudentEvent } from './events.js';

const log = createDebug('chat-roulette:peer');

/** Defaults of {@link DhPeerOptions}. */
export const DH_PEER_DEFAULTS = Object.freeze({
  /** The `session` field sent with every message. */
  session: '',
  /** Size of the JDK default group the peer uses as initiator, in bits. */
  bits: 2048 as DhGroupBits,
  /** How long the peer waits for each message of the other side, in ms. */
  stepTimeoutMs: 10_000,
});

/** Options of {@link DhReferencePeer}. */
export interface DhPeerOptions {
  /** The reference peer's uco (already sanitised: ASCII letters and digits). */
  uco: string;
  /** The `session` field of our messages. @defaultValue `""` */
  session?: string;
  /** The JDK default group to use as initiator. @defaultValue `2048` */
  bits?: DhGroupBits;
  /** A group to use as initiator instead of {@link DhPeerOptions.bits}. */
  group?: DhGroup;
  /** Time allowed for each awaited message (dh1, dh2, dhc), in ms. @defaultValue `10000` */
  stepTimeoutMs?: number;
  /** Timers of the step timeouts, and the time of events. @defaultValue {@link systemClock} */
  clock?: Clock;
  /**
   * The `ts` of events. @defaultValue the wall time (ISO-8601) with the
   * {@link systemClock}; with any other clock (e.g. a `ManualClock`), that
   * clock's `now()` as an ISO-8601 time (0 is `1970-01-01T00:00:00.000Z`).
   */
  timestamp?: () => string;
}

/** Events of {@link DhReferencePeer}. */
export interface DhPeerEvents {
  /** One step of a round was reached, or the round ended (`fail`, `incomplete`). */
  round: [event: DhRoundEvent];
  /** The server dropped a student or refused its message ({@link DhReferencePeer.noteStudent}). */
  student: [event: DhStudentEvent];
}

/** The message of the other side a round is waiting for. */
export type DhAwaited = 'dh1' | 'dh2' | 'dhc';

/** Where a round stands: `incomplete` when someone else than the student cut it short. */
export type DhRoundStatus = 'running' | 'finished' | 'failed' | 'incomplete';

/** A read-only view of the current round, from {@link DhReferencePeer.current}. */
export interface DhRoundState {
  /** Round number, from 1. */
  readonly round: number;
  /** The student's uco. */
  readonly student: string;
  /** Our role. */
  readonly role: DhRole;
  /** `"<initiator>|<responder>"`. */
  readonly connectionId: string;
  /** Running, finished (success), failed or incomplete. */
  readonly status: DhRoundStatus;
  /** The message awaited while running. */
  readonly awaiting: DhAwaited | undefined;
  /** Why it failed, or who cut it short. */
  readonly reason: string | undefined;
}

interface Round {
  readonly number: number;
  readonly student: string;
  readonly role: DhRole;
  readonly connectionId: string;
  status: DhRoundStatus;
  awaiting: DhAwaited | undefined;
  reason: string | undefined;
  keys: DhKeyPair | undefined;
  secret: Buffer | undefined;
  timer: TimerHandle | undefined;
  /**
   * The previous round, with the same student, was cut short by this round's `pair`,
   * and nothing of this round has been received yet: a `dhc` now is that round's, late.
   */
  lateDhcPossible: boolean;
}

/** The `sub` values of the exercise. */
const DH_SUBS: ReadonlySet<string> = new Set(['dh1', 'dh2', 'dhc']);

/** The step at which a round waiting for `awaited` fails. */
const RECV_STEP: Readonly<Record<DhAwaited, DhStep>> = { dh1: 'dh1_recv', dh2: 'dh2_recv', dhc: 'dhc_recv' };

/**
 * The reference peer of the DH exercise, one round per `pair`. Feed it every line the
 * server sends ({@link DhReferencePeer.receive}); send the lines it returns. It plays
 * either role (the smaller uco initiates), accepts the initiator's group, and checks
 * everything the other side sends: fields, base64, DER, OID, key range, group, HMAC,
 * order, and a timeout per step.
 *
 * Events ({@link DhPeerEvents}): `round` (a {@link DhRoundEvent} per step and end of a
 * round) and `student` (a {@link DhStudentEvent}); listen with `on`, `once`, `off`
 * (an eventemitter3 `EventEmitter`).
 *
 * @example
 * ```ts
 * const peer = new DhReferencePeer({ uco: 'ref1', clock });
 * peer.on('round', (e) => console.log(e.event, e.reason ?? ''));
 * write(peer.connectLine());
 * socketLines.on('line', (line) => peer.receive(line).forEach(write));
 * ```
 */
export class DhReferencePeer extends EventEmitter<DhPeerEvents> {
  /** Our uco. */
  readonly uco: string;
  private readonly session: string;
  private readonly group: DhGroup;
  private readonly stepTimeoutMs: number;
  private readonly clock: Clock;
  private readonly timestamp: () => string;
  private nonce = 0;
  private rounds = 0;
  private round: Round | undefined;

  /**
   * A peer with no round yet: send {@link DhReferencePeer.connectLine} first.
   *
   * @param options - see {@link DhPeerOptions}; defaults in {@link DH_PEER_DEFAULTS}.
   * @throws RangeError when `uco` is empty.
   */
  constructor(options: DhPeerOptions) {
    super();
    if (options.uco === '') throw new RangeError('DhReferencePeer needs a non-empty uco');
    this.uco = options.uco;
    this.session = options.session ?? DH_PEER_DEFAULTS.session;
    this.group = options.group ?? jdkGroup(options.bits ?? DH_PEER_DEFAULTS.bits);
    this.stepTimeoutMs = options.stepTimeoutMs ?? DH_PEER_DEFAULTS.stepTimeoutMs;
    const clock = options.clock ?? systemClock;
    this.clock = clock;
    this.timestamp =
      options.timestamp ??
      (clock === systemClock ? () => new Date().toISOString() : () => new Date(clock.now()).toISOString());
  }

  /** Number of rounds started so far. */
  get roundCount(): number {
    return this.rounds;
  }

  /** The current (or last) round, or `undefined` before the first `pair`. */
  get current(): DhRoundState | undefined {
    const r = this.round;
    if (r === undefined) return undefined;
    return {
      round: r.number,
      student: r.student,
      role: r.role,
      connectionId: r.connectionId,
      status: r.status,
      awaiting: r.awaiting,
      reason: r.reason,
    };
  }

  /** The `connect` line to send first (PROTOCOL §3). */
  connectLine(): string {
    return JSON.stringify({ cmd: 'connect', uco: this.uco, session: this.session, nonce: this.nextNonce() });
  }

  /** The `exit` line (PROTOCOL §3). */
  exitLine(): string {
    return JSON.stringify({ cmd: 'exit', uco: this.uco, session: this.session, nonce: this.nextNonce() });
  }

  /**
   * One line from the server. Returns the lines to send in answer (without `"\n"`),
   * possibly none. Never throws on bad input.
   */
  receive(line: string): string[] {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      log('%s: ignoring a line that is not JSON: %s', this.uco, line.slice(0, 200));
      return [];
    }
    return this.receiveMessage(message);
  }

  /** One parsed server message (see {@link DhReferencePeer.receive}). */
  receiveMessage(message: unknown): string[] {
    if (typeof message !== 'object' || message === null || Array.isArray(message)) return [];
    const msg = message as Record<string, unknown>;
    switch (msg['cmd']) {
      case 'ping': // PROTOCOL §5: only pong keeps us alive
        return [JSON.stringify({ cmd: 'pong', uco: this.uco, session: this.session, nonce: this.nextNonce() })];
      case 'pair':
        return this.onPair(msg['uco']);
      case 'comm':
        return this.onComm(msg);
      default:
        break;
    }
    if (typeof msg['error'] === 'string') this.onServerError(msg['error'], msg['msg']);
    else if (msg['exit'] === true) this.stop(`the server closed the reference peer's connection (${String(msg['reason'])})`);
    return [];
  }

  /**
   * Ends the current round, if running, as `incomplete` with `reason`, which names who
   * ended it (the student is not to blame), and cancels its timer.
   */
  stop(reason = 'the reference peer stopped'): void {
    const r = this.round;
    if (r?.status === 'running') this.endIncomplete(r, reason);
  }

  /**
   * Tells the peer what the server did to a student, for the log and the report: it
   * dropped the student's connection (`dropped`, with the exit reason, e.g. `timeout`)
   * or refused one of its messages (`refused`, with the error text, e.g.
   * `uco mismatch`). A drop of the student of the running round ends that round as
   * `incomplete` (`student <uco> left (<reason>)`). Over TCP the peer cannot see
   * other connections: {@link watchStudents} feeds this from an in-process core.
   *
   * @param student - the student's uco, or a label such as `connection 7` for a
   *   connection that never registered.
   */
  noteStudent(student: string, event: DhStudentEvent['event'], reason: string): void {
    if (event === 'dropped') this.studentLeft(student, reason);
    this.emit('student', { ts: this.timestamp(), event, peer: this.uco, student, reason });
  }

  /**
   * The student of the running round left the server (for whatever reason, `exit`
   * included): the round ends as `incomplete`. Does nothing for another uco.
   */
  studentLeft(student: string, reason: string): void {
    const r = this.round;
    if (r?.status === 'running' && r.student === student) this.endIncomplete(r, `student ${student} left (${reason})`);
  }

  // ── rounds ───────────────────────────────────────────────────────────────────

  /** DH-EXERCISE.md: a new `pair` starts a new round and discards the old state. */
  private onPair(other: unknown): string[] {
    if (typeof other !== 'string' && typeof other !== 'number') {
      log('%s: pair without a uco ignored', this.uco);
      return [];
    }
    const student = String(other);
    const previous = this.round;
    const cut = previous?.status === 'running';
    if (previous !== undefined && cut) this.endIncomplete(previous, `interrupted by a new pair with ${student}`);
    const role = roleOf(this.uco, student);
    const r: Round = {
      number: ++this.rounds,
      student,
      role,
      connectionId: connectionIdOf(this.uco, student),
      status: 'running',
      awaiting: undefined,
      reason: undefined,
      keys: undefined,
      secret: undefined,
      timer: undefined,
      lateDhcPossible: cut && previous?.student === student,
    };
    this.round = r;
    log('%s: round %d with %s as %s', this.uco, r.number, student, role);
    this.record(r, 'pair');
    if (role === 'responder') {
      this.await(r, 'dh1');
      return [];
    }
    r.keys = DhKeyPair.generate(this.group);
    const line = this.comm('dh1', { dhpub: r.keys.dhpub });
    this.record(r, 'dh1_send');
    this.await(r, 'dh2');
    return [line];
  }

  private onComm(msg: Record<string, unknown>): string[] {
    const sub = msg['sub'];
    const r = this.round;
    if (typeof sub !== 'string' || !DH_SUBS.has(sub)) {
      log('%s: ignoring comm with sub %o', this.uco, sub);
      return [];
    }
    if (r === undefined || r.status !== 'running') {
      log('%s: ignoring %s outside a running round', this.uco, sub);
      return [];
    }
    const expected = r.awaiting;
    if (sub === 'dhc' && sub !== expected && r.lateDhcPossible) {
      // Sent before the student got the new `pair`: not a fault of this round.
      log('%s: ignoring a late dhc of round %d with %s', this.uco, r.number - 1, r.student);
      return [];
    }
    r.lateDhcPossible = false;
    if (sub === expected) {
      if (sub === 'dh1') return this.onDh1(r, msg);
      if (sub === 'dh2') return this.onDh2(r, msg);
      return this.onDhc(r, msg);
    }
    this.fail(r, RECV_STEP[sub as DhAwaited], this.outOfOrder(r, sub));
    return [];
  }

  /** Why `sub` is not welcome now. */
  private outOfOrder(r: Round, sub: string): string {
    const order = `${r.connectionId.replace('|', ' < ')}`;
    if (sub === 'dh1') {
      return r.role === 'initiator'
        ? `dh1 sent to the initiator (${order}): roles probably swapped`
        : 'duplicate dh1';
    }
    if (sub === 'dh2') {
      return r.role === 'responder'
        ? `dh2 sent to the responder (${order}): roles probably swapped`
        : 'duplicate dh2';
    }
    return r.role === 'initiator' ? 'dhc before dh2' : 'dhc before dh1';
  }

  /** Responder: the initiator's key; answer with ours in its group. */
  private onDh1(r: Round, msg: Record<string, unknown>): string[] {
    this.record(r, 'dh1_recv');
    const key = this.readKey(r, 'dh1', msg);
    if (key === undefined) return [];
    const groupFault = checkGroup(key);
    if (groupFault !== undefined) return this.failed(r, 'dh1_recv', groupFault);
    r.keys = DhKeyPair.generate({ p: key.p, g: key.g, l: key.l });
    r.secret = r.keys.secretWith(key.y);
    const line = this.comm('dh2', { dhpub: r.keys.dhpub });
    this.record(r, 'dh2_send');
    this.record(r, 'dh_done');
    this.await(r, 'dhc');
    return [line];
  }

  /** Initiator: the responder's key, which must be in our group; confirm. */
  private onDh2(r: Round, msg: Record<string, unknown>): string[] {
    this.record(r, 'dh2_recv');
    const key = this.readKey(r, 'dh2', msg);
    if (key === undefined) return [];
    const keys = r.keys as DhKeyPair;
    if (!sameGroup(key, keys.group)) {
      const which = key.p !== keys.group.p ? 'p' : 'g';
      return this.failed(r, 'dh2_recv', `dh2 key is not in the initiator's group (different ${which})`);
    }
    r.secret = keys.secretWith(key.y);
    this.record(r, 'dh_done');
    const line = this.comm('dhc', { dhverif: dhverif(r.secret, r.connectionId) });
    this.record(r, 'dhc_send');
    this.await(r, 'dhc');
    return [line];
  }

  /** Either role: the other side's confirmation; the responder then confirms too. */
  private onDhc(r: Round, msg: Record<string, unknown>): string[] {
    this.record(r, 'dhc_recv');
    const check = checkDhverif(msg['dhverif'], r.secret as Buffer, r.connectionId);
    this.record(r, 'dhc_check', { ok: check.ok });
    if (!check.ok) return this.failed(r, 'dhc_check', check.reason);
    const lines: string[] = [];
    if (r.role === 'responder') {
      lines.push(this.comm('dhc', { dhverif: dhverif(r.secret as Buffer, r.connectionId) }));
      this.record(r, 'dhc_send');
    }
    this.settle(r, 'finished');
    this.record(r, 'finish');
    return lines;
  }

  /** The `dhpub` of a dh1/dh2: present, base64, DH SPKI, in range. Fails the round if not. */
  private readKey(r: Round, sub: 'dh1' | 'dh2', msg: Record<string, unknown>): DhPublicKeyInfo | undefined {
    const step = RECV_STEP[sub];
    if (!('dhpub' in msg) || msg['dhpub'] === undefined || msg['dhpub'] === null) {
      this.fail(r, step, `${sub} carried no dhpub`);
      return undefined;
    }
    const parsed = parseDhPublicKey(msg['dhpub']);
    if (!parsed.ok) {
      this.fail(r, step, parsed.reason);
      return undefined;
    }
    const rangeFault = checkPublicValue(parsed.value.y, parsed.value.p);
    if (rangeFault !== undefined) {
      this.fail(r, step, rangeFault);
      return undefined;
    }
    return parsed.value;
  }

  /**
   * The server refused one of our messages: `no peer` means the student left (the
   * round is incomplete); any other error is ours, not the student's (incomplete too).
   */
  private onServerError(error: string, refused: unknown): void {
    const r = this.round;
    const sub = typeof refused === 'object' && refused !== null ? (refused as Record<string, unknown>)['sub'] : undefined;
    if (r?.status !== 'running' || typeof sub !== 'string' || !DH_SUBS.has(sub)) {
      log('%s: server error %s', this.uco, error);
      return;
    }
    const step: DhStep = sub === 'dh1' ? 'dh1_send' : sub === 'dh2' ? 'dh2_send' : 'dhc_send';
    const reason =
      error === 'no peer'
        ? `student ${r.student} left (the server answered no peer to our ${sub})`
        : `the server refused our ${sub}: ${error}`;
    this.endIncomplete(r, reason, step);
  }

  // ── helpers ──────────────────────────────────────────────────────────────────

  private await(r: Round, awaited: DhAwaited): void {
    this.clearTimer(r);
    r.awaiting = awaited;
    const ms = this.stepTimeoutMs;
    r.timer = this.clock.setTimeout(() => {
      r.timer = undefined;
      if (r.status === 'running' && r.awaiting === awaited) this.fail(r, RECV_STEP[awaited], `no ${awaited} within ${ms} ms`);
    }, ms);
  }

  private failed(r: Round, step: DhStep, reason: string): string[] {
    this.fail(r, step, reason);
    return [];
  }

  private fail(r: Round, step: DhStep, reason: string): void {
    if (r.status !== 'running') return;
    this.settle(r, 'failed');
    r.reason = reason;
    log('%s: round %d with %s failed at %s: %s', this.uco, r.number, r.student, step, reason);
    this.record(r, 'fail', { step, reason });
  }

  /** Someone else than the student cut the round short. */
  private endIncomplete(r: Round, reason: string, step: DhStep = RECV_STEP[r.awaiting ?? 'dh1']): void {
    if (r.status !== 'running') return;
    this.settle(r, 'incomplete');
    r.reason = reason;
    log('%s: round %d with %s incomplete at %s: %s', this.uco, r.number, r.student, step, reason);
    this.record(r, 'incomplete', { step, reason });
  }

  private settle(r: Round, status: DhRoundStatus): void {
    this.clearTimer(r);
    r.status = status;
    r.awaiting = undefined;
    r.secret = undefined;
  }

  private clearTimer(r: Round): void {
    if (r.timer !== undefined) this.clock.clearTimeout(r.timer);
    r.timer = undefined;
  }

  private record(r: Round, event: DhRoundEvent['event'], extra: Pick<DhRoundEvent, 'ok' | 'step' | 'reason'> = {}): void {
    this.emit('round', {
      ts: this.timestamp(),
      event,
      peer: this.uco,
      student: r.student,
      role: r.role,
      round: r.number,
      ...extra,
    });
  }

  private comm(sub: DhAwaited, fields: Record<string, string>): string {
    return JSON.stringify({ cmd: 'comm', sub, uco: this.uco, session: this.session, nonce: this.nextNonce(), ...fields });
  }

  private nextNonce(): number {
    return ++this.nonce;
  }
}
