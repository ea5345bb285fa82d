// Table tests for the negotiation fields (RFC 9110 §12.4.2, §12.5): weights, Accept-* parsing,
// the normal form used for Vary matching, and language selection (RFC 4647 §3.3.1).

import t from 'tap'
import { parseWeight, parsePreferences, normalizeAcceptList, selectLanguage, topLanguage, type Preference } from '../../src/http/negotiation.ts'

t.test('parseWeight (qvalue)', async t => {
  const rows: Array<{ name: string, value: string, want: number | undefined }> = [
    { name: 'when the weight is 1 → should be 1', value: '1', want: 1 },
    { name: 'when the weight is 1.000 → should be 1', value: '1.000', want: 1 },
    { name: 'when the weight is 0 → should be 0', value: '0', want: 0 },
    { name: 'when the weight is 0. → should be 0', value: '0.', want: 0 },
    { name: 'when the weight has three decimals → should read them', value: '0.125', want: 0.125 },
    { name: 'when the weight has four decimals → should be invalid', value: '0.1250', want: undefined },
    { name: 'when the weight is above 1 → should be invalid', value: '1.001', want: undefined },
    { name: 'when the weight is 2 → should be invalid', value: '2', want: undefined },
    { name: 'when the weight is negative → should be invalid', value: '-0.5', want: undefined },
    { name: 'when the weight has no leading digit → should be invalid', value: '.5', want: undefined },
    { name: 'when the weight is empty → should be invalid', value: '', want: undefined },
    { name: 'when the weight is in exponent form → should be invalid', value: '1e0', want: undefined }
  ]
  for (const r of rows) t.equal(parseWeight(r.value), r.want, r.name)
})

t.test('parsePreferences', async t => {
  const rows: Array<{ name: string, value: string | string[] | undefined, want: Preference[] }> = [
    { name: 'when the field is absent → should be empty', value: undefined, want: [] },
    { name: 'when members have no weight → should weigh them 1, in order', value: 'fr, EN', want: [{ item: 'fr', q: 1, params: [] }, { item: 'en', q: 1, params: [] }] },
    { name: 'when a member has a weight with spaces → should read it', value: 'de ; Q=0.5', want: [{ item: 'de', q: 0.5, params: [] }] },
    { name: 'when a member has an invalid weight → should drop the member', value: 'fr;q=2, de', want: [{ item: 'de', q: 1, params: [] }] },
    { name: 'when a media range has parameters → should keep them unquoted', value: 'text/html;level="1";q=0.7', want: [{ item: 'text/html', q: 0.7, params: [['level', '1']] }] },
    { name: 'when a quoted parameter holds a comma → should not split the member', value: 'text/x;p="a,b", text/y', want: [{ item: 'text/x', q: 1, params: [['p', 'a,b']] }, { item: 'text/y', q: 1, params: [] }] },
    { name: 'when the field arrives on two lines → should join them', value: ['fr', 'de'], want: [{ item: 'fr', q: 1, params: [] }, { item: 'de', q: 1, params: [] }] }
  ]
  for (const r of rows) t.strictSame(parsePreferences(r.value), r.want, r.name)
})

t.test('normalizeAcceptList', async t => {
  const rows: Array<{ name: string, value: string | string[], want: string }> = [
    { name: 'when members differ in case → should lowercase them', value: 'eN,De', want: 'en,de' },
    { name: 'when members are spaced → should remove the spaces', value: ' en ,  de ', want: 'en,de' },
    { name: 'when members are in an unusual order → should keep that order', value: 'zh, en, de', want: 'zh,en,de' },
    { name: 'when a weight is written long-hand → should write its number', value: 'fr;q=0.500, en;Q=1.0', want: 'fr;q=0.5,en;q=1' },
    { name: 'when a weight is invalid → should keep it as sent', value: 'fr;q=high', want: 'fr;q=high' },
    { name: 'when a charset is quoted and in upper case → should unquote and lowercase it', value: 'text/plain; charset="UTF-8"', want: 'text/plain;charset=utf-8' },
    { name: 'when another parameter is quoted → should unquote a token but keep its case', value: 'text/plain;Level="A1"', want: 'text/plain;level=A1' },
    { name: 'when a quoted parameter is not a token → should keep the quotes', value: 'text/plain;p="a b"', want: 'text/plain;p="a b"' },
    { name: 'when a parameter has no value → should keep its name', value: 'text/plain; Flag', want: 'text/plain;flag' }
  ]
  for (const r of rows) t.equal(normalizeAcceptList(r.value), r.want, r.name)
})

t.test('selectLanguage (RFC 9110 §12.5.4, RFC 4647 §3.3.1)', async t => {
  const rows: Array<{ name: string, accept: string | string[] | undefined, available: string[], want: string | undefined }> = [
    { name: 'when the higher weight comes second → should select it ("fr;q=0.5, de;q=1.0" selects de)', accept: 'fr;q=0.5, de;q=1.0', available: ['fr', 'de'], want: 'de' },
    { name: 'when only a lower-weighted language is stored → should select it', accept: 'fr;q=0.5, de;q=1.0', available: ['fr'], want: 'fr' },
    { name: 'when weights tie → should follow the client\'s order', accept: 'fr, en', available: ['en', 'fr'], want: 'fr' },
    { name: 'when weights tie in the other order → should follow the client\'s order', accept: 'en, fr', available: ['fr', 'en'], want: 'en' },
    { name: 'when a range is a prefix of the tag → should match it ("de" ⊇ "de-CH")', accept: 'de', available: ['de-CH'], want: 'de-CH' },
    { name: 'when the range is more specific than the tag → should not match ("de-CH" ⊉ "de")', accept: 'de-CH', available: ['de'], want: undefined },
    { name: 'when a range shares only a prefix of letters → should not match ("de" ⊉ "den")', accept: 'de', available: ['den'], want: undefined },
    { name: 'when the case differs → should match and return the tag as given', accept: 'DE-ch', available: ['de-CH'], want: 'de-CH' },
    { name: 'when the field is * → should select the first available', accept: '*', available: ['it', 'fr'], want: 'it' },
    { name: 'when * has a lower weight than a listed range → should prefer the listed one', accept: '*;q=0.5, fr', available: ['it', 'fr'], want: 'fr' },
    { name: 'when a language is refused with q=0 → should not select it', accept: 'fr;q=0', available: ['fr'], want: undefined },
    { name: 'when a language is refused but * accepts the rest → should select another', accept: 'fr;q=0, *', available: ['fr', 'de'], want: 'de' },
    { name: 'when * is refused → should select nothing unlisted', accept: 'en, *;q=0', available: ['de'], want: undefined },
    { name: 'when a subtag is refused but its prefix accepted → should use the most specific range', accept: 'de-CH;q=0, de', available: ['de-CH', 'de-AT'], want: 'de-AT' },
    { name: 'when a more specific range weighs more → should prefer the tag it matches', accept: 'de;q=0.5, de-CH', available: ['de-DE', 'de-CH'], want: 'de-CH' },
    { name: 'when the same range is listed twice → should use the first weight', accept: 'fr;q=0, fr', available: ['fr'], want: undefined },
    { name: 'when the field is absent → should select nothing', accept: undefined, available: ['en'], want: undefined },
    { name: 'when the field is empty → should select nothing', accept: '', available: ['en'], want: undefined },
    { name: 'when no language is stored → should select nothing', accept: 'en', available: [], want: undefined },
    { name: 'when nothing stored matches → should select nothing', accept: 'en, fr', available: ['de'], want: undefined },
    { name: 'when a range is not a language-range → should ignore it', accept: 'en_US, fr;q=0.1', available: ['en-US', 'fr'], want: 'fr' },
    { name: 'when a weight is invalid → should ignore that member', accept: 'en;q=5, fr;q=0.2', available: ['en', 'fr'], want: 'fr' },
    { name: 'when the field arrives on two lines → should keep the order across them', accept: ['fr', 'en'], available: ['en', 'fr'], want: 'fr' }
  ]
  for (const r of rows) t.equal(selectLanguage(r.accept, r.available), r.want, r.name)
})

t.test('topLanguage: the client\'s most preferred language range', async t => {
  const rows: Array<[string, string | undefined, string | undefined]> = [
    ['when one language is listed → should be it', 'de', 'de'],
    ['when weights differ → should be the heaviest', 'fr;q=0.5, de;q=1.0', 'de'],
    ['when weights tie → should be the first listed', 'en, fr', 'en'],
    ['when the heaviest is * → should be undefined (nothing clearly preferred)', '*, de;q=0.5', undefined],
    ['when every weight is 0 → should be undefined', 'de;q=0', undefined],
    ['when case differs → should be lowercased', 'DE-ch', 'de-ch'],
    ['when absent → should be undefined', undefined, undefined]
  ]
  for (const [name, value, want] of rows) t.equal(topLanguage(value), want, name)
})
