/**
 * 批量取号: ticket numbers handed out from blocks taken whole from the day's sequence row. Taking a
 * block is one short statement of its own, outside the ticket's transaction, so the sequence row is
 * not locked for the length of every registration (a hot row at a big city's rate) and a ticket costs
 * one round trip less.
 *
 * The price, accepted and documented (README, TICKET_NUMBER_BLOCK): a node that stops leaves the rest of its block
 * unused (gaps in a day's numbers), a registration that fails burns its number, and with several nodes
 * the numbers of one day are unique but not in the order the tickets were registered. A block of 1
 * keeps the numbers gap-free in one process except for failed registrations.
 */
export interface NumberBlocks {
  /** The next number of the named sequence. */
  next(sequence: string): Promise<number>;
}

/** `takeBlock(name, size)` moves the sequence `size` on and returns its new value (the block's last number). */
export function createNumberBlocks(takeBlock: (sequence: string, size: number) => Promise<number>, size: number): NumberBlocks {
  if (!Number.isInteger(size) || size < 1) throw new Error(`number block size must be a positive integer, not ${size}`);
  const blocks = new Map<string, { next: number; last: number }>();
  const taking = new Map<string, Promise<void>>();
  // A day's sequence is wanted for a day; yesterday's block is dropped once a few newer ones exist.
  const KEEP = 32;
  return {
    async next(sequence) {
      for (;;) {
        const b = blocks.get(sequence);
        if (b && b.next <= b.last) return b.next++;
        let pending = taking.get(sequence);
        if (!pending) {
          pending = takeBlock(sequence, size)
            .then((last) => {
              blocks.delete(sequence);
              blocks.set(sequence, { next: last - size + 1, last });
              while (blocks.size > KEEP) blocks.delete(blocks.keys().next().value!);
            })
            .finally(() => taking.delete(sequence));
          taking.set(sequence, pending);
        }
        await pending;
      }
    },
  };
}
