// node:http, loaded with require. An ESM import of a built-in module reads every export to build
// its namespace, and node:http's lazy WebSocket, CloseEvent and MessageEvent getters then load
// Node's bundled undici: +12 MiB of resident memory at start-up for exports freshgate never uses
// (bench/startup.ts). Import the values from here; `import type` from 'node:http' stays as it is.

import { esmRequire } from './lazy.ts'

const http = esmRequire('node:http') as typeof import('node:http')

export const { STATUS_CODES, createServer } = http
