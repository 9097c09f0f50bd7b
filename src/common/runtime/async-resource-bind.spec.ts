import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import { leanAsyncResourceBind } from './async-resource-bind';

describe('leanAsyncResourceBind', () => {
  const store = new AsyncLocalStorage<string>();
  beforeAll(() => {
    // Node 20 defines the deprecated accessor, so the method is replaced there.
    expect(leanAsyncResourceBind()).toBe(true);
    expect(leanAsyncResourceBind()).toBe(true);
  });

  it("runs the bound function in the resource's async context, not the caller's", () => {
    const bound = store.run('where it was bound', () => new AsyncResource('test').bind(() => store.getStore()));
    expect(store.run('where it is called', () => bound())).toBe('where it was bound');
    // The static form goes through the same method.
    const viaStatic = store.run('static', () => AsyncResource.bind(() => store.getStore(), 'test'));
    expect(viaStatic()).toBe('static');
  });

  it("passes the arguments through, with the caller's this or the given thisArg", () => {
    const resource = new AsyncResource('test');
    function describeCall(this: unknown, a: number, b: number): string {
      return `${String((this as { name?: string } | undefined)?.name)}:${a + b}`;
    }
    const free = resource.bind(describeCall);
    const receiver = { name: 'receiver', free };
    expect(receiver.free(1, 2)).toBe('receiver:3');
    // asyncResource.bind(fn, thisArg) is documented; @types/node declares only bind(fn).
    const bindWithThis = resource.bind.bind(resource) as unknown as (fn: typeof describeCall, thisArg: unknown) => typeof describeCall;
    const fixed = bindWithThis(describeCall, { name: 'fixed' });
    expect(fixed.call({ name: 'ignored' }, 2, 3)).toBe('fixed:5');
    expect(free.length).toBe(2);
  });

  it('keeps asyncResource as a plain property (no deprecation wrappers), and refuses what is not a function', () => {
    const resource = new AsyncResource('test');
    const bound = resource.bind(() => 1) as unknown as { asyncResource: AsyncResource };
    expect(bound.asyncResource).toBe(resource);
    // Node 20's own bind defines a getter and a setter, each wrapped by util.deprecate.
    const descriptor = Object.getOwnPropertyDescriptor(bound, 'asyncResource');
    expect(descriptor).toEqual({ value: resource, writable: true, enumerable: true, configurable: true });
    expect(() => resource.bind('nope' as unknown as () => void)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  });
});
