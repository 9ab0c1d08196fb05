/**
 * 一码受理: the printable building codes of citizen/citizen.routes.ts (staff side).
 *
 *  GET /citizen/buildings?territoryId= → {items: [{code, label, territoryId, communityId, communityName, url}]}
 *  GET /citizen/buildings/:code/qr.png → the building's code as a PNG
 *  GET /citizen/territories/:id/qr-sheet → the community's A4 sheet as a PDF (printed by the server's chromium)
 * The center sees every building; grid staff those of their territory (TERRITORY_OUT_OF_SCOPE otherwise).
 */
import { buildUrl, http, requestFile } from './http';

/** A building with a QR code (楼栋二维码): scanning it opens the citizen's report form with the building known. */
export interface QrBuilding {
  code: string;
  label: string;
  territoryId: string;
  communityId: string | null;
  communityName: string | null;
  /** The public address the code holds. */
  url: string;
}

const enc = encodeURIComponent;
const pngPath = (code: string) => `/citizen/buildings/${enc(code)}/qr.png`;
const sheetPath = (territoryId: string) => `/citizen/territories/${enc(territoryId)}/qr-sheet`;

export const qrCodesApi = {
  buildings: (territoryId: string) => http.get<{ items: QrBuilding[] }>('/citizen/buildings', { territoryId }),
  /** For an <img>: the session cookie goes along. */
  pngUrl: (code: string) => buildUrl(pngPath(code)),
  png: (code: string) => requestFile(pngPath(code)),
  sheetPdf: (territoryId: string) => requestFile(sheetPath(territoryId), { format: 'pdf' }),
};

/** Saves a file the API rendered under its own name (or the fallback). */
export function saveFile(file: { blob: Blob; fileName: string | null }, fallback: string) {
  const url = URL.createObjectURL(file.blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = file.fileName ?? fallback;
  document.body.appendChild(a);
  a.click();
  a.remove();
  // The download has taken the bytes by the next task; the URL is then only a leak.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
