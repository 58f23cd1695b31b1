/**
 * {@link watchStudents}: what the reference peer cannot see over its own connection
 * (students dropped or refused by the server), fed from an in-process core.
 *
 * @module
 */
import type { RouletteCore } from '../../core/core.js';
import type { ConnectionClosedEvent, LeaveReason, ProtocolErrorEvent } from '../../core/events.js';
import type { DhReferencePeer } from './peer.js';

/**
 * Leaves that are the student's own doing or nobody's: they end a running round with
 * the student as `incomplete`, but are not logged as a drop. Any other exit reason
 * (`timeout`, `register timeout`, `server full`, `flood`, …) is the server dropping
 * the student, and is logged.
 */
const ORDINARY_LEAVES: ReadonlySet<LeaveReason> = new Set<LeaveReason>([
  'client exit',
  'new session',
  'transport closed',
  'transport error',
  'reregistered',
]);

/** The name a student goes by in the log: its uco, or its connection before it registered. */
function studentName(uco: string | undefined, connectionId: number): string {
  return uco ?? `connection ${connectionId}`;
}

/**
 * Feeds `peer` with what `core` does to every other client: a connection dropped by
 * the server (`timeout`, `register timeout`, …) is logged as a `dropped`
 * {@link DhStudentEvent}, a refused message (`uco mismatch`, `invalid json`, …) as
 * `refused`, and a student who leaves (for any reason) during its round with the peer
 * ends that round as `incomplete` (see {@link DhReferencePeer.noteStudent}). Server
 * shutdown is left to the peer's own connection. Returns a function that stops
 * watching.
 *
 * Only in-process (the {@link Harness}, an embedding): a reference peer connected over
 * TCP sees only its own connection.
 *
 * @example
 * ```ts
 * const ref = attachReferencePeer(harness.connectStream(), { uco: 'ref', clock: harness.clock, log });
 * const unwatch = watchStudents(harness.core, ref.peer);
 * ```
 */
export function watchStudents(core: RouletteCore, peer: DhReferencePeer): () => void {
  const onClosed = ({ connectionId, uco, reason }: ConnectionClosedEvent): void => {
    if (uco === peer.uco || reason === 'server shutdown') return;
    if (ORDINARY_LEAVES.has(reason)) {
      if (uco !== undefined) peer.studentLeft(uco, reason);
    } else {
      peer.noteStudent(studentName(uco, connectionId), 'dropped', reason);
    }
  };
  const onRefused = ({ connectionId, uco, kind }: ProtocolErrorEvent): void => {
    if (uco === peer.uco) return;
    peer.noteStudent(studentName(uco, connectionId), 'refused', kind);
  };
  core.on('connectionClosed', onClosed);
  core.on('protocolError', onRefused);
  return () => {
    core.off('connectionClosed', onClosed);
    core.off('protocolError', onRefused);
  };
}
