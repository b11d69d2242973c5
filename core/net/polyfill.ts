/**
 * libp2p 3 calls `Promise.withResolvers` (Node 22+) in yamux, ping, its queues and abort helpers;
 * Node 20 lacks it and fails at run time (first seen at `stop()`). Every module of core/net that
 * touches libp2p imports this one first, so the gap is filled before any libp2p code runs.
 */

interface Resolvers<T> {
  promise: Promise<T>
  resolve: (value: T | PromiseLike<T>) => void
  reject: (reason?: unknown) => void
}

type WithResolvers = <T>(this: PromiseConstructor) => Resolvers<T>

const promise = Promise as PromiseConstructor & { withResolvers?: WithResolvers }

if (typeof promise.withResolvers !== 'function') {
  const withResolvers: WithResolvers = function <T>(this: PromiseConstructor) {
    let resolve!: (value: T | PromiseLike<T>) => void
    let reject!: (reason?: unknown) => void
    const p = new this<T>((res, rej) => {
      resolve = res
      reject = rej
    })
    return { promise: p, resolve, reject }
  }
  Object.defineProperty(Promise, 'withResolvers', {
    value: withResolvers,
    writable: true,
    configurable: true,
  })
}

export {}
