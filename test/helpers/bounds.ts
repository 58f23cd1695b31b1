/**
 * Bounds of the integration tests' waits. A bound only stops a test that would
 * otherwise hang: it is never a measure of speed, so it sits far above what a busy
 * machine needs (on a loaded 2-core machine a tsx child process can take over 10 s
 * to start). A test waits on events; it never sleeps for a machine-speed guess.
 */

/** Longest wait for one event: a line, a process start or exit, a socket close. */
export const WAIT_MS = 45_000;

/** Timeout of one integration test: room for a few waits. */
export const TEST_TIMEOUT_MS = 120_000;

/** Timeout of a suite of integration tests. */
export const SUITE_TIMEOUT_MS = 600_000;
