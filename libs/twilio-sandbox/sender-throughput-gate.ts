/**
 * Twilio's per-sender throughput (MPS): a sender sends at most N messages a
 * second; the rest wait in Twilio's queue, still `queued`, and leave in order at
 * that pace. Slots are handed out at reservation time, so the order is FIFO.
 */
export class SenderThroughputGate {
  private readonly nextFreeSlotMs = new Map<string, number>();

  /** The time the message may leave the queue: no earlier than `earliestMs`, and one slot after the sender's previous message. */
  reserve(sender: string, earliestMs: number, messagesPerSecond: number | null): number {
    if (messagesPerSecond === null) {
      return earliestMs;
    }
    const slot = Math.max(earliestMs, this.nextFreeSlotMs.get(sender) ?? 0);
    this.nextFreeSlotMs.set(sender, slot + 1000 / messagesPerSecond);
    return slot;
  }

  clear(): void {
    this.nextFreeSlotMs.clear();
  }
}
