/** `tally submit` and `tally status`: small clients of a running node's HTTP API. */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { API_FILE } from './node-command.ts'
import { type Options, required, UsageError } from './options.ts'

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

async function call(t: ApiTarget, method: string, path: string, body?: unknown): Promise<unknown> {
  let res: Response
  try {
    res = await fetch(`${t.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${t.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
  } catch (error) {
    throw new Error(`cannot reach the node at ${t.url}: ${(error as Error).message}`)
  }
  const answer = (await res.json()) as { error?: string }
  if (!res.ok) throw new Error(answer.error ?? `HTTP ${res.status}`)
  return answer
}

export async function runSubmit(t: ApiTarget, o: Options): Promise<number> {
  const answer = await call(t, 'POST', '/api/entries', {
    from: required(o, 'from'),
    to: required(o, 'to'),
    asset: required(o, 'asset'),
    amount: required(o, 'amount'),
    ...(typeof o.memo === 'string' ? { memo: o.memo } : {}),
  })
  console.log(JSON.stringify(answer))
  return 0
}

export async function runStatus(t: ApiTarget): Promise<number> {
  console.log(JSON.stringify(await call(t, 'GET', '/api/status'), null, 2))
  return 0
}
