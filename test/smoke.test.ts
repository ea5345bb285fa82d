import t from 'tap'
import { parseDeltaSeconds } from '../src/http/dates.ts'
t.equal(parseDeltaSeconds('5'), 5)
