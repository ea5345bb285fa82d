// undici's Pool class file on its own (see src/proxy/upstream.ts): the same class as the Pool of
// undici's index, whose types it borrows.
declare module 'undici/lib/dispatcher/pool.js' {
  import type { Pool } from 'undici'
  const PoolClass: typeof Pool
  export default PoolClass
}
