/**
 * In-process domain event bus, in two phases:
 * - `emitWithin(trx, …)` runs inside the transaction that causes the event: its handlers write what
 *   must exist exactly when the change commits (the live feed stages its event there, so a crash
 *   after the commit loses nothing). They may throw: the change is then rolled back.
 * - `emit(…)` runs after the commit, with the same payload object: subscribers (console hub, SMS,
 *   jobs) react, and must not throw into the emitter.
 * `Tx` is the transaction handle the emitting part passes (a kysely transaction).
 */
export type EventHandler<T> = (payload: T) => void | Promise<void>;
export type WithinHandler<T, Tx> = (trx: Tx, payload: T) => Promise<void>;

export class EventBus<Events extends Record<string, unknown>, Tx = unknown> {
  private handlers = new Map<keyof Events, EventHandler<any>[]>();
  private withinHandlers = new Map<keyof Events, WithinHandler<any, Tx>[]>();
  constructor(private onError: (event: string, err: unknown) => void = () => {}) {}

  /** A handler that runs inside the emitting transaction (see the class comment); returns the unsubscribe. */
  onWithin<K extends keyof Events>(event: K, handler: WithinHandler<Events[K], Tx>): () => void {
    this.withinHandlers.set(event, [...(this.withinHandlers.get(event) ?? []), handler]);
    return () => this.withinHandlers.set(event, (this.withinHandlers.get(event) ?? []).filter((h) => h !== handler));
  }

  /** Runs the in-transaction handlers, in order; an error rolls the caller's transaction back. */
  async emitWithin<K extends keyof Events>(trx: Tx, event: K, payload: Events[K]): Promise<void> {
    for (const h of this.withinHandlers.get(event) ?? []) await h(trx, payload);
  }

  on<K extends keyof Events>(event: K, handler: EventHandler<Events[K]>): () => void {
    const list = this.handlers.get(event) ?? [];
    list.push(handler);
    this.handlers.set(event, list);
    return () => this.handlers.set(event, (this.handlers.get(event) ?? []).filter((h) => h !== handler));
  }

  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    for (const h of this.handlers.get(event) ?? []) {
      try {
        const r = h(payload);
        if (r && typeof (r as Promise<void>).catch === 'function') {
          (r as Promise<void>).catch((err) => this.onError(String(event), err));
        }
      } catch (err) {
        this.onError(String(event), err);
      }
    }
  }
}
