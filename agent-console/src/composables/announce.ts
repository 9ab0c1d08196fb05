/**
 * New work announces itself (来单提醒): a short two-note tone made with the Web Audio API (no audio
 * file to ship or cache), and a desktop notification when the user opted in.
 *
 * Browsers keep audio silent until the page has had a user gesture: the audio context is created
 * (or resumed) on the first click or key press, and a tone before that is skipped rather than queued
 * (a burst of stale tones on the first click would be noise, the bell still shows the count).
 * Several signals of one change (the notice and the work order's change) arrive together: one tone.
 */
let audio: AudioContext | null = null;
let lastChime = 0;
const CHIME_GAP_MS = 1500;

function unlock() {
  try {
    audio ??= new AudioContext();
    if (audio.state === 'suspended') void audio.resume();
  } catch {
    audio = null; // no Web Audio here (an old or locked-down browser): silent
  }
}

let unlockWired = false;
/** Arms the audio on the first user gesture (once per page). */
export function armSound() {
  if (unlockWired || typeof document === 'undefined') return;
  unlockWired = true;
  document.addEventListener('pointerdown', unlock, { once: true, capture: true });
  document.addEventListener('keydown', unlock, { once: true, capture: true });
}

/** Plays the tone, at most once per CHIME_GAP_MS. Returns whether it played. */
export function chime(): boolean {
  const now = Date.now();
  if (now - lastChime < CHIME_GAP_MS) return false;
  lastChime = now;
  if (!audio || audio.state !== 'running') return false;
  const t0 = audio.currentTime;
  // Two short notes (A5 then E6), each with a quick fade so the ends do not click.
  for (const [freq, start] of [[880, 0], [1318.5, 0.16]] as const) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = 'sine';
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, t0 + start);
    gain.gain.exponentialRampToValueAtTime(0.25, t0 + start + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t0 + start + 0.15);
    osc.connect(gain).connect(audio.destination);
    osc.start(t0 + start);
    osc.stop(t0 + start + 0.16);
  }
  return true;
}

export const desktopSupported = () => typeof window !== 'undefined' && 'Notification' in window;

/** Asks the browser's permission; only ever called from the user's own opt-in click. */
export async function askDesktopPermission(): Promise<boolean> {
  if (!desktopSupported()) return false;
  if (Notification.permission === 'granted') return true;
  if (Notification.permission === 'denied') return false;
  return (await Notification.requestPermission()) === 'granted';
}

/** Shows a desktop notification (the `tag` makes the system show one per notice even if asked twice). */
export function desktopNotify(title: string, body: string, tag: string, onClick: () => void) {
  if (!desktopSupported() || Notification.permission !== 'granted') return;
  try {
    const n = new Notification(title, { body, tag });
    n.onclick = () => {
      window.focus();
      onClick();
      n.close();
    };
  } catch {
    // Some browsers only allow notifications from a service worker: the bell and the tone remain.
  }
}
