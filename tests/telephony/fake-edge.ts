/**
 * A SIP edge test double: records every command the telephony service gives it and lets the test
 * emit the edge's facts. No SIP: the real edges have their own tests (and the end-to-end ones).
 */
import type { EdgeEvent, EndCause, Prompt, SipEdge, SipEdgeHealth } from '../../telephony';

export type EdgeCommand =
  | { kind: 'ring' | 'answer' | 'stopPrompt'; callId: string }
  | { kind: 'reject'; callId: string; sipStatus: number }
  | { kind: 'playPrompt'; callId: string; prompt: Prompt }
  | { kind: 'offerToAgent'; callId: string; username: string; ringTimeoutMs: number; legId: string }
  | { kind: 'cancelAgentOffer'; callId: string; legId: string }
  | { kind: 'hangUp'; callId: string; cause: EndCause };

export class FakeEdge implements SipEdge {
  readonly kind = 'builtin' as const;
  readonly commands: EdgeCommand[] = [];
  private onEvent: ((e: EdgeEvent) => void) | null = null;
  private legs = 0;
  readonly registered = new Map<string, string>();
  stopped = false;

  async start(onEvent: (e: EdgeEvent) => void) {
    this.onEvent = onEvent;
  }
  async stop() {
    this.stopped = true;
  }
  emit(e: EdgeEvent) {
    if (e.type === 'endpoint.registered') this.registered.set(e.username, e.contact);
    if (e.type === 'endpoint.unregistered') this.registered.delete(e.username);
    this.onEvent!(e);
  }
  async ring(callId: string) { this.commands.push({ kind: 'ring', callId }); }
  async answer(callId: string) { this.commands.push({ kind: 'answer', callId }); }
  async reject(callId: string, sipStatus: number) { this.commands.push({ kind: 'reject', callId, sipStatus }); }
  async playPrompt(callId: string, prompt: Prompt) { this.commands.push({ kind: 'playPrompt', callId, prompt }); }
  async stopPrompt(callId: string) { this.commands.push({ kind: 'stopPrompt', callId }); }
  async offerToAgent(callId: string, agent: { username: string }, opts: { ringTimeoutMs: number }) {
    const legId = `leg-${++this.legs}`;
    this.commands.push({ kind: 'offerToAgent', callId, username: agent.username, ringTimeoutMs: opts.ringTimeoutMs, legId });
    return legId;
  }
  async cancelAgentOffer(callId: string, legId: string) { this.commands.push({ kind: 'cancelAgentOffer', callId, legId }); }
  async hangUp(callId: string, cause: EndCause) { this.commands.push({ kind: 'hangUp', callId, cause }); }
  async registrations() {
    return [...this.registered].map(([username, contact]) => ({ username, contact, expiresAt: new Date(Date.now() + 3_600_000) }));
  }
  async health(): Promise<SipEdgeHealth> {
    return { edge: 'builtin', ok: true, listening: 'fake', activeCalls: 0, registeredEndpoints: this.registered.size };
  }
  of<K extends EdgeCommand['kind']>(kind: K, callId?: string) {
    return this.commands.filter((c): c is Extract<EdgeCommand, { kind: K }> => c.kind === kind && (!callId || c.callId === callId));
  }
}
