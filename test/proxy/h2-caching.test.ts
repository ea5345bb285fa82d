// The same end-to-end tests as caching.test.ts, over HTTP/2 (h2c with prior knowledge): every caching
// behaviour is identical on both protocols (issue 11). The harness reads FG_TEST_H2 when loaded.

process.env.FG_TEST_H2 = '1'
await import('./caching.test.ts')
