/**
 * In-process domain event bus. Events are emitted after the transaction that caused them commits;
 * subscribers (console hub, SMS, jobs) must not throw into the emitter.
 */
export type EventHandler<T> = (payload: T) => void | Promise<void>;

export class EventBus<Events extends Record<string, unknown>> {
  private handlers = new Map<keyof Events, EventHandler<any>[]>();
  constructor(private onError: (event: string, err: unknown) => void = () => {}) {}

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
