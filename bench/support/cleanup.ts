/**
 * What the run created (processes, databases, Redis keys), undone in reverse order: at the end of
 * a section, when a section fails, and on SIGINT/SIGTERM.
 */
export class Cleanup {
  private readonly tasks: { label: string; undo: () => Promise<void> }[] = [];

  add(label: string, undo: () => Promise<void>): void {
    this.tasks.push({ label, undo });
  }

  /** Undoes everything added since `mark` (a value of `size`), newest first. */
  async unwind(mark = 0): Promise<void> {
    while (this.tasks.length > mark) {
      const task = this.tasks.pop()!;
      try {
        await task.undo();
      } catch (err) {
        process.stderr.write(`cleanup: ${task.label} failed: ${err instanceof Error ? err.message : String(err)}\n`);
      }
    }
  }

  get size(): number {
    return this.tasks.length;
  }
}
