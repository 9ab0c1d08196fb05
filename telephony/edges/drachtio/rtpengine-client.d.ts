/**
 * The parts of `rtpengine-client` (0.4, no types of its own) the drachtio edge uses: the UDP ng
 * client. Every command takes the rtpengine address and the ng dictionary, and resolves with
 * rtpengine's reply (`result: 'ok' | 'error' | 'pong'`, `error-reason` on error).
 */
declare module 'rtpengine-client' {
  import { EventEmitter } from 'node:events';

  export interface NgReply { result: string; 'error-reason'?: string; sdp?: string; [key: string]: unknown }
  export interface NgTarget { port: number; host: string }

  export class Client extends EventEmitter {
    constructor(opts?: { port?: number; host?: string; timeout?: number; rejectOnFailure?: boolean });
    ping(target: NgTarget): Promise<NgReply>;
    offer(target: NgTarget, opts: Record<string, unknown>): Promise<NgReply>;
    answer(target: NgTarget, opts: Record<string, unknown>): Promise<NgReply>;
    delete(target: NgTarget, opts: Record<string, unknown>): Promise<NgReply>;
    query(target: NgTarget, opts: Record<string, unknown>): Promise<NgReply>;
    startRecording(target: NgTarget, opts: Record<string, unknown>): Promise<NgReply>;
    stopRecording(target: NgTarget, opts: Record<string, unknown>): Promise<NgReply>;
    playMedia(target: NgTarget, opts: Record<string, unknown>): Promise<NgReply>;
    stopMedia(target: NgTarget, opts: Record<string, unknown>): Promise<NgReply>;
    subscribeRequest(target: NgTarget, opts: Record<string, unknown>): Promise<NgReply>;
    subscribeAnswer(target: NgTarget, opts: Record<string, unknown>): Promise<NgReply>;
    unsubscribe(target: NgTarget, opts: Record<string, unknown>): Promise<NgReply>;
    close(): void;
  }
}
