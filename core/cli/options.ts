/** Command-line options, read strictly: a typo is an error, not a silently ignored flag. */
import { parseArgs } from 'node:util'

export class UsageError extends Error {}

export type OptionSpec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>
export type Options = Record<string, string | boolean | string[] | undefined>

export function options(args: readonly string[], spec: OptionSpec): Options {
  try {
    return parseArgs({ args: [...args], options: spec, strict: true, allowPositionals: false })
      .values as Options
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
}

export function required(o: Options, name: string): string {
  const v = o[name]
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`)
  return v
}

export function integer(
  o: Options,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const v = o[name]
  if (v === undefined) return fallback
  const n = Number(v)
  if (typeof v !== 'string' || !/^[0-9]+$/.test(v) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}`)
  }
  return n
}
