/**
 * Access to the console: an optional token, given as `Authorization: Bearer <token>`,
 * or once as `?token=<token>` which becomes an `HttpOnly`, `SameSite=Strict` cookie;
 * the rule that a console without a token listens only on loopback; and the checks
 * that make operator actions safe from cross-site requests.
 *
 * @module
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The cookie that carries a browser's access. */
export const CONSOLE_COOKIE = 'chat_roulette_console';

/** The environment variable the CLI reads the token from when `--http-token` is absent. */
export const CONSOLE_TOKEN_ENV = 'CHAT_ROULETTE_HTTP_TOKEN';

/** How a request stands with the token. */
export type Access =
  /** No token is configured: read-only access for everyone, no operator actions. */
  | 'open'
  /** The request carries the token (header or cookie). */
  | 'granted'
  /** A token is configured and the request does not carry it. */
  | 'denied';

/** The token checks of one console. */
export class AccessControl {
  private readonly cookieValue: string | undefined;
  private readonly tokenDigest: Buffer | undefined;

  /** @param token - the token, or `undefined` for an open console. */
  constructor(readonly token: string | undefined) {
    if (token === undefined) return;
    // The cookie holds a digest of the token, not the token itself.
    this.cookieValue = digest(token, 'cookie').toString('base64url');
    this.tokenDigest = digest(token, 'compare');
  }

  /** Whether `req` carries the token, in its `Authorization` header or cookie. */
  check(req: IncomingMessage): Access {
    if (this.token === undefined) return 'open';
    const header = req.headers.authorization;
    if (header !== undefined && /^Bearer /i.test(header) && this.matches(header.slice(7).trim())) return 'granted';
    const cookie = readCookie(req.headers.cookie, CONSOLE_COOKIE);
    if (cookie !== undefined && this.cookieValue !== undefined && sameText(cookie, this.cookieValue)) return 'granted';
    return 'denied';
  }

  /** Whether `candidate` is the token (compared in constant time). */
  matches(candidate: string): boolean {
    return this.tokenDigest !== undefined && timingSafeEqual(digest(candidate, 'compare'), this.tokenDigest);
  }

  /** The `Set-Cookie` header that grants access to a browser which gave the token once. */
  cookie(): string {
    return `${CONSOLE_COOKIE}=${this.cookieValue ?? ''}; HttpOnly; SameSite=Strict; Path=/`;
  }
}

/**
 * Whether an operator action (a POST) may come from a page: its `Content-Type` is
 * `application/json` (which a cross-site form cannot send without a CORS preflight,
 * never answered here) and its `Origin`, when present, is this host.
 */
export function sameOriginJson(req: IncomingMessage): boolean {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  const host = req.headers.host;
  return host !== undefined && (origin === `http://${host}` || origin === `https://${host}`);
}

/**
 * Whether `host` (a name or address to listen on) is a loopback address:
 * `localhost`, `127.0.0.0/8` or `::1`.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1' || /^127(\.\d{1,3}){3}$/.test(h) || /^::ffff:127(\.\d{1,3}){3}$/.test(h);
}

/**
 * Whether a request's `Host` header names a loopback host (`localhost:8080`,
 * `127.0.0.1:8080`, `[::1]:8080`). A console without a token answers only those, so
 * that a web page elsewhere cannot read it through DNS rebinding (its requests carry
 * the page's own host name).
 */
export function loopbackHostHeader(host: string | undefined): boolean {
  if (host === undefined) return false;
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d*$/, '');
  return isLoopbackHost(name);
}

/**
 * Why a console may not listen on `host`, or `undefined` when it may: without a
 * token it shows student ids to whoever connects, so only loopback is allowed unless
 * `publicAccess` says the operator wants it anyway.
 */
export function bindRefusal(host: string, options: { token: string | undefined; publicAccess: boolean }): string | undefined {
  if (options.token !== undefined || options.publicAccess || isLoopbackHost(host)) return undefined;
  return (
    `refusing to serve the console on ${host} without a token: it shows student ids to anyone who can reach it. ` +
    `Give --http-token T (or ${CONSOLE_TOKEN_ENV}), listen on 127.0.0.1, or pass --http-public.`
  );
}

function digest(text: string, purpose: string): Buffer {
  return createHmac('sha256', `chat-roulette console ${purpose}`).update(text).digest();
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
