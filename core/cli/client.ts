/** `tally submit` and `tally status`: small clients of a running node's HTTP API. */
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { API_FILE } from './node-command.ts'
import { type Options, required, UsageError } from './options.ts'
import { type RetryOptions, Transient, withRetries } from './retry.ts'

export interface ApiTarget {
  readonly url: string
  readonly token: string
}

export function apiTarget(o: Options): ApiTarget {
  if (typeof o.api === 'string') return { url: o.api, token: required(o, 'token') }
  if (typeof o.data !== 'string')
    throw new UsageError('give --data DIR, or --api URL and --token T')
  const file = join(o.data, API_FILE)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    throw new Error(`${file} is missing: is a node running with --data ${o.data}?`)
  }
  const v = JSON.parse(text) as { api: string; token: string }
  return { url: v.api, token: v.token }
}

/** One attempt gets this long; a node answers a submission in milliseconds. */
const ATTEMPT_TIMEOUT_MS = 10_000
/** About 8 s of retries in all: long enough for a node to restart. */
const SUBMIT_RETRIES: RetryOptions = { retries: 5, firstDelayMs: 250 }

/**
 * One call of the node's API with its token: the answer's JSON, or an Error with the node's own
 * words (a `Transient` one when the node may not have carried it out, or asks to be asked again).
 */
export async function callApi(
  t: ApiTarget,
  method: string,
  path: string,
  body?: unknown,
  headers: Readonly<Record<string, string>> = {},
  timeoutMs = ATTEMPT_TIMEOUT_MS,
): Promise<unknown> {
  let res: Response
  let text: string
  try {
    res = await fetch(`${t.url}${path}`, {
      method,
      headers: {
        ...headers,
        authorization: `Bearer ${t.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(timeoutMs),
    })
    text = await res.text()
  } catch (error) {
    // No answer, or half of one: the request may or may not have been carried out.
    const e = error as Error & { cause?: { message?: string } }
    throw new Transient(`cannot reach the node at ${t.url}: ${e.cause?.message ?? e.message}`)
  }
  const answer = JSON.parse(text) as { error?: string }
  // The same key is still being answered (an earlier attempt whose answer was lost).
  if (res.status === 409) throw new Transient(answer.error ?? 'HTTP 409')
  if (!res.ok) throw new Error(answer.error ?? `HTTP ${res.status}`)
  return answer
}

/**
 * Submits with a fresh Idempotency-Key (or the one given), and tries again with the same key
 * when the answer is lost: the node then answers with the first entry instead of making a second.
 * `target` is read again for every attempt, so a node restarted meanwhile (a new token in
 * api.json) is reached.
 */
export async function runSubmit(
  target: () => ApiTarget,
  o: Options,
  retry: RetryOptions = SUBMIT_RETRIES,
): Promise<number> {
  const key = typeof o['idempotency-key'] === 'string' ? o['idempotency-key'] : randomUUID()
  const body = {
    from: required(o, 'from'),
    to: required(o, 'to'),
    asset: required(o, 'asset'),
    amount: required(o, 'amount'),
    ...(typeof o.memo === 'string' ? { memo: o.memo } : {}),
  }
  let answer: unknown
  try {
    answer = await withRetries((n) => {
      let t: ApiTarget
      try {
        t = target()
      } catch (error) {
        // A node restarting has no api.json for a moment; before the first attempt it is an error.
        if (n === 0) throw error
        throw new Transient((error as Error).message)
      }
      return callApi(t, 'POST', '/api/entries', body, { 'idempotency-key': key })
    }, retry)
  } catch (error) {
    if (!(error instanceof Transient)) throw error
    throw new Error(
      `${error.message}. The entry may or may not be stored: run the same command with --idempotency-key ${key} to find out without making a second one`,
    )
  }
  console.log(JSON.stringify(answer))
  return 0
}

export async function runStatus(t: ApiTarget): Promise<number> {
  console.log(JSON.stringify(await callApi(t, 'GET', '/api/status'), null, 2))
  return 0
}

/** One request to the node, its answer printed as JSON; any refusal is an error with its reason. */
export async function runCall(
  t: ApiTarget,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<number> {
  let answer: unknown
  try {
    answer = await callApi(t, method, path, body)
  } catch (error) {
    // Here a 409 is a refusal (no ledger yet, or one already), not a request still running.
    if (error instanceof Transient) throw new Error(error.message)
    throw error
  }
  console.log(JSON.stringify(answer, null, 2))
  return 0
}
