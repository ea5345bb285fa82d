// The one error the admin API answers with: a status, a stable code and a message, as JSON.

import type { ErrorCode } from '../errors.ts'

/** A request the admin API refuses, answered as JSON `{ "error": message, "code": code }`. */
export class AdminRefusal extends Error {
  readonly status: number
  readonly code: ErrorCode
  readonly headers: Record<string, string>
  constructor (status: number, message: string, headers: Record<string, string> = {}, code?: ErrorCode) {
    super(message)
    this.status = status
    this.headers = headers
    this.code = code ?? (status === 401 ? 'FG_ADMIN_UNAUTHORIZED' : status === 404 || status === 405 ? 'FG_ADMIN_NOT_FOUND' : 'FG_ADMIN_BAD_REQUEST')
  }
}
