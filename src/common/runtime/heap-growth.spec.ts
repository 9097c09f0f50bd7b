import { limitHeapGrowth } from './heap-growth';

describe('limitHeapGrowth', () => {
  it("sets V8's heap growing percent, and leaves V8's own heuristics at 0", () => {
    const set: string[] = [];
    limitHeapGrowth(100, (flags) => set.push(flags));
    limitHeapGrowth(0, (flags) => set.push(flags));
    limitHeapGrowth(35, (flags) => set.push(flags));
    expect(set).toEqual(['--heap-growing-percent=100', '--heap-growing-percent=35']);
  });

  it('refuses a value that is not a whole number of percent', () => {
    const set: string[] = [];
    expect(() => limitHeapGrowth(-1, (flags) => set.push(flags))).toThrow(RangeError);
    expect(() => limitHeapGrowth(1.5, (flags) => set.push(flags))).toThrow('whole number of percent');
    expect(set).toEqual([]);
  });
});
