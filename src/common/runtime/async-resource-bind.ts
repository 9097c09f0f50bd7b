import { AsyncResource } from 'node:async_hooks';

type AnyFunction = (...args: unknown[]) => unknown;

interface BindableResource {
  bind(fn: AnyFunction, thisArg?: unknown): AnyFunction;
  runInAsyncScope(fn: AnyFunction, thisArg: unknown, ...args: unknown[]): unknown;
}

// On the replacement itself, so a second copy of this module (a test runner's registry) sees it too.
const LEAN = Symbol.for('whatsapp-service.leanAsyncResourceBind');

/**
 * Node 20's `AsyncResource.prototype.bind` gives every bound function an `asyncResource`
 * accessor whose getter and setter are each wrapped by `util.deprecate` (DEP0172): three closures
 * and a property definition per call, on top of the binding itself. Fastify binds the body
 * parser's callback this way on every request with a body, so on two cores this was 6 % of an
 * API process's CPU under status callbacks; without it the same load ran 13 % faster, and
 * sends 9 % (bench/README.md).
 *
 * This binds the same way (the function runs in the resource's async scope, with `thisArg` or
 * the caller's `this`, keeping its `length`) and keeps `asyncResource`, as a plain property:
 * reading it no longer prints the deprecation warning. It replaces the method only where Node's
 * own still defines that accessor, and only once; it returns whether it did.
 */
export function leanAsyncResourceBind(): boolean {
  const proto = AsyncResource.prototype as unknown as BindableResource;
  if ((proto.bind as AnyFunction & { [LEAN]?: true })[LEAN]) return true;
  const probe = proto.bind.call(new AsyncResource('probe'), () => undefined);
  if (typeof Object.getOwnPropertyDescriptor(probe, 'asyncResource')?.get !== 'function') return false;

  const lean = function bind(this: BindableResource, fn: AnyFunction, thisArg?: unknown): AnyFunction {
    if (typeof fn !== 'function') {
      throw Object.assign(new TypeError(`The "fn" argument must be of type function. Received ${fn === null ? 'null' : typeof fn}`), {
        code: 'ERR_INVALID_ARG_TYPE',
      });
    }
    const resource = this;
    const bound =
      thisArg === undefined
        ? function (this: unknown, ...args: unknown[]): unknown {
            return resource.runInAsyncScope(fn, this, ...args);
          }
        : function (...args: unknown[]): unknown {
            return resource.runInAsyncScope(fn, thisArg, ...args);
          };
    Object.defineProperties(bound, {
      length: { configurable: true, enumerable: false, value: fn.length, writable: false },
      asyncResource: { configurable: true, enumerable: true, value: resource, writable: true },
    });
    return bound;
  };
  Object.defineProperty(lean, LEAN, { value: true });
  proto.bind = lean;
  return true;
}
