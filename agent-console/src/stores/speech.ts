/**
 * 语音转写 (speech) as the console knows it: which engine the deployment runs (GET /speech/status)
 * and, for the browser engine, the state of this console's own recognizer (its model). Nothing here
 * ever makes up a transcript: no engine, no model → no lines, and a plain sentence saying why.
 */
import { reactive, readonly } from 'vue';
import { speechApi, type SpeechDetail, type SpeechStatus } from '../api/speech';

export type RecognizerState = 'idle' | 'loading' | 'ready' | 'failed';

const state = reactive({
  status: null as SpeechStatus | null,
  statusError: false,
  recognizer: 'idle' as RecognizerState,
  /** Why the browser recognizer cannot run (model missing, failed to load). */
  problem: null as SpeechDetail | null,
  /** The recognizer worker's own words, shown small under the problem. */
  workerError: null as string | null,
});
export const speech = readonly(state);

let loading: Promise<SpeechStatus | null> | null = null;

export const speechActions = {
  /** Loads the deployment's engine once per session (again after `reset`). */
  loadStatus(): Promise<SpeechStatus | null> {
    loading ??= speechApi.status().then(
      (s) => {
        state.status = s;
        state.statusError = false;
        return s;
      },
      () => {
        state.statusError = true;
        loading = null;
        return null;
      },
    );
    return loading;
  },
  recognizer(s: RecognizerState, problem: SpeechDetail | null = null, workerError: string | null = null) {
    state.recognizer = s;
    state.problem = problem;
    state.workerError = workerError;
  },
  reset() {
    loading = null;
    Object.assign(state, { status: null, statusError: false, recognizer: 'idle', problem: null, workerError: null });
  },
};
