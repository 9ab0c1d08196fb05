/** The parts of sherpa-onnx-node (1.13, no types shipped) the `sherpa` engine uses. */
declare module 'sherpa-onnx-node' {
  export const version: string;
  export const onnxruntimeVersion: string;
  export interface Waveform {
    samples: Float32Array;
    sampleRate: number;
  }
  export class OnlineStream {
    acceptWaveform(w: Waveform): void;
    inputFinished(): void;
  }
  export class OnlineRecognizer {
    constructor(config: Record<string, unknown>);
    createStream(): OnlineStream;
    isReady(s: OnlineStream): boolean;
    decode(s: OnlineStream): void;
    isEndpoint(s: OnlineStream): boolean;
    reset(s: OnlineStream): void;
    getResult(s: OnlineStream): { text: string; tokens?: string[]; timestamps?: number[] };
  }
  export class LinearResampler {
    constructor(inputSampleRate: number, outputSampleRate: number);
    resample(samples: Float32Array): Float32Array;
    flush(samples: Float32Array): Float32Array;
    reset(): void;
  }
}
