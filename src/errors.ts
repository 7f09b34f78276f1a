/**
 * Every answer anteroom gives by itself has a stable code, an HTTP status and a title, here and only
 * here. Logs and response bodies carry the code so that operators can grep for it and clients can
 * branch on it.
 */
export interface ErrorSpec {
  readonly status: number;
  readonly title: string;
}

export const ERRORS = {
  ANT_BAD_REQUEST: { status: 400, title: 'Bad request' },
  ANT_REQUEST_TIMEOUT: { status: 408, title: 'Request timeout' },
  ANT_HEADERS_TOO_LARGE: { status: 431, title: 'Request headers too large' },
  ANT_URI_TOO_LONG: { status: 414, title: 'Request target too long' },
  ANT_BODY_TOO_LARGE: { status: 413, title: 'Request body too large' },
  ANT_EXPECTATION_FAILED: { status: 417, title: 'Expectation failed' },
  ANT_HTTP_VERSION: { status: 505, title: 'HTTP version not supported' },
  ANT_NOT_FOUND: { status: 404, title: 'Not found' },
  ANT_BLOCKED: { status: 403, title: 'Access blocked' },
  ANT_RATE_LIMITED: { status: 429, title: 'Too many requests' },
  ANT_QUEUED: { status: 503, title: 'Waiting room: you have a place in line' },
  ANT_QUEUE_TIMEOUT: { status: 503, title: 'Waiting room: not admitted yet' },
  ANT_QUEUE_FULL: { status: 503, title: 'Waiting room full' },
  ANT_CAPACITY: { status: 503, title: 'Upstream at capacity' },
  ANT_SHED: { status: 503, title: 'Shed under load' },
  ANT_MAINTENANCE: { status: 503, title: 'Down for maintenance' },
  ANT_SHUTTING_DOWN: { status: 503, title: 'Shutting down' },
  ANT_UPSTREAM_UNREACHABLE: { status: 502, title: 'Upstream unreachable' },
  ANT_UPSTREAM_RESET: { status: 502, title: 'Upstream closed the connection' },
  ANT_UPSTREAM_BAD_RESPONSE: { status: 502, title: 'Upstream sent an invalid response' },
  ANT_UPSTREAM_TIMEOUT: { status: 504, title: 'Upstream timed out' },
  ANT_INTERNAL: { status: 500, title: 'Internal proxy error' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** An error that carries a registry code, for failures raised inside anteroom's own code. */
export class AnteroomError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message?: string) {
    super(message ?? ERRORS[code].title);
    this.code = code;
    this.name = 'AnteroomError';
  }
}

/**
 * Maps a failure of the upstream exchange (undici or socket errors) to a registry code. This is the one
 * place where upstream failures become 502/504: refused and reset connections are 502, anything that
 * ran out of time is 504.
 */
export function upstreamErrorCode(err: unknown): ErrorCode {
  if (err instanceof AnteroomError) return err.code;
  const code = (err as { code?: string } | null)?.code;
  switch (code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return 'ANT_UPSTREAM_TIMEOUT';
    case 'UND_ERR_SOCKET':
    case 'ECONNRESET':
    case 'EPIPE':
      return 'ANT_UPSTREAM_RESET';
    case 'UND_ERR_INVALID_ARG':
    case 'HPE_INVALID_CONSTANT':
    case 'HPE_INVALID_HEADER_TOKEN':
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
    case 'UND_ERR_INFO':
      return 'ANT_UPSTREAM_BAD_RESPONSE';
    default:
      return 'ANT_UPSTREAM_UNREACHABLE';
  }
}
