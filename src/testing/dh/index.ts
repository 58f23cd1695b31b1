/**
 * The testing kit of the Diffie–Hellman exercise (DH-EXERCISE.md): the JDK-compatible
 * cryptography, the reference peer state machine, its client over any stream, and
 * the NDJSON round log.
 *
 * @module
 */
export * from './events.js';
export * from './crypto.js';
export * from './peer.js';
export * from './log.js';
export * from './client.js';
export { DerError } from './der.js';
export * from './watch.js';
