// Stable error codes. Each code has one meaning forever; README "Error codes" documents them.

/** Every error code freshgate emits, with the HTTP status sent to the client where it has one. */
export const ERROR_CODES = {
  /** A config file, environment variable or flag is invalid (start-up exits with code 2). */
  FG_CONFIG_INVALID: { status: 0, text: 'invalid configuration' },
  /** The origin refused the connection. */
  FG_UPSTREAM_REFUSED: { status: 502, text: 'origin refused the connection' },
  /** The origin closed or reset the connection before a complete response. */
  FG_UPSTREAM_RESET: { status: 502, text: 'origin closed the connection' },
  /** The origin's response could not be parsed or exceeded a limit. */
  FG_UPSTREAM_INVALID: { status: 502, text: 'invalid response from origin' },
  /** Any other failure talking to the origin (DNS, TLS, …). */
  FG_UPSTREAM_ERROR: { status: 502, text: 'error talking to origin' },
  /** No connection to the origin within the connect timeout. */
  FG_UPSTREAM_CONNECT_TIMEOUT: { status: 504, text: 'timed out connecting to origin' },
  /** The origin sent no response headers within the headers timeout. */
  FG_UPSTREAM_HEADERS_TIMEOUT: { status: 504, text: 'timed out waiting for origin response headers' },
  /** The origin stalled mid-body longer than the body timeout. */
  FG_UPSTREAM_BODY_TIMEOUT: { status: 504, text: 'timed out waiting for origin response body' },
  /** The request had `Cache-Control: only-if-cached` and nothing usable was stored (RFC 9111 §5.2.1.7). */
  FG_ONLY_IF_CACHED: { status: 504, text: 'only-if-cached and no stored response is usable' },
  /** A stale `must-revalidate` response could not be revalidated (RFC 9111 §4.3.3). */
  FG_REVALIDATION_FAILED: { status: 504, text: 'stale response must be revalidated and the origin is unreachable' },
  /** No route matches the request's Host and path, and there is no default origin. */
  FG_NO_ROUTE: { status: 404, text: 'no route for this host and path' },
  /** The request could not be understood (e.g. a malformed request target). */
  FG_BAD_REQUEST: { status: 400, text: 'bad request' },
  /** The Host field (or the absolute-form target's authority) is missing, repeated or not a valid authority (RFC 9112 §3.2, RFC 3986 §3.2). */
  FG_BAD_HOST: { status: 400, text: 'invalid or repeated Host' },
  /** A bug inside freshgate was caught while handling the request; the log has the stack. */
  FG_INTERNAL: { status: 500, text: 'internal error' },
  /** PURGE is disabled or the client address is not in purge.allow. */
  FG_PURGE_FORBIDDEN: { status: 405, text: 'PURGE is not allowed' },
  /** An admin request without the configured bearer token. */
  FG_ADMIN_UNAUTHORIZED: { status: 401, text: 'admin token required' },
  /** An admin request for a path or method the admin API does not have. */
  FG_ADMIN_NOT_FOUND: { status: 404, text: 'no such admin endpoint' },
  /** A state-changing admin request sent by a page of another origin (cross-site request forgery). */
  FG_ADMIN_CROSS_SITE: { status: 403, text: 'cross-site admin request refused' },
  /** An admin request whose body or parameters are invalid. */
  FG_ADMIN_BAD_REQUEST: { status: 400, text: 'invalid admin request' },
  /** No origin connection became free within upstream.queueTimeout. */
  FG_UPSTREAM_BUSY: { status: 503, text: 'origin connections are all busy' },
  /** The request body is larger than limits.requestBody. */
  FG_REQUEST_BODY_TOO_LARGE: { status: 413, text: 'request body too large' },
  /** The client stalled while sending its request body longer than timeouts.clientBody. */
  FG_REQUEST_BODY_TIMEOUT: { status: 408, text: 'timed out reading the request body' }
} as const

/** An error code name. */
export type ErrorCode = keyof typeof ERROR_CODES

/** An error carrying a stable code. */
export class FreshgateError extends Error {
  readonly code: ErrorCode
  constructor (code: ErrorCode, message?: string, options?: ErrorOptions) {
    super(message ?? ERROR_CODES[code].text, options)
    this.code = code
    this.name = 'FreshgateError'
  }
}

/** A configuration error: names the key, the value given and what was expected. */
export class ConfigError extends FreshgateError {
  readonly key: string
  constructor (key: string, value: unknown, expected: string) {
    super('FG_CONFIG_INVALID', `${key}: got ${JSON.stringify(value) ?? String(value)}, expected ${expected}`)
    this.key = key
    this.name = 'ConfigError'
  }
}

/**
 * Maps an undici or socket error to a stable upstream code.
 * https://undici.nodejs.org/#/docs/api/Errors
 */
export function upstreamCode (err: unknown): ErrorCode {
  const e = err as { code?: string, name?: string, cause?: { code?: string } }
  const code = e?.code ?? ''
  const cause = e?.cause?.code ?? ''
  if (code === 'FG_UPSTREAM_BUSY' || code === 'FG_REQUEST_BODY_TOO_LARGE' || code === 'FG_REQUEST_BODY_TIMEOUT') return code
  if (code === 'ECONNREFUSED' || cause === 'ECONNREFUSED') return 'FG_UPSTREAM_REFUSED'
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT') return 'FG_UPSTREAM_CONNECT_TIMEOUT'
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return 'FG_UPSTREAM_HEADERS_TIMEOUT'
  if (code === 'UND_ERR_BODY_TIMEOUT') return 'FG_UPSTREAM_BODY_TIMEOUT'
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET' || cause === 'ECONNRESET') return 'FG_UPSTREAM_RESET'
  // undici's HTTPParserError carries no code, only its name.
  if (e?.name === 'HTTPParserError' || code.startsWith('HPE_') || code === 'UND_ERR_HEADERS_OVERFLOW' ||
      code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' || code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') return 'FG_UPSTREAM_INVALID'
  return 'FG_UPSTREAM_ERROR'
}
