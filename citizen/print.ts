/**
 * Printable building codes (一码受理): a PNG per building (npm `qrcode`, error correction M, a quiet
 * zone for scanning off a wall) and an A4 sheet per community, printed to PDF by chromium through
 * the reports part's printer (its HTML → PDF), with the building under each code.
 */
import QRCode from 'qrcode';

export interface PrintableBuilding {
  code: string;
  label: string;
  url: string;
}

/** The code as a PNG (about 600 px square, black on white). */
export function qrPng(url: string): Promise<Buffer> {
  return QRCode.toBuffer(url, { type: 'png', errorCorrectionLevel: 'M', margin: 4, scale: 12 });
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The HTML of a community's sheet: six codes per A4 page, each with its building and how to use it. */
export async function qrSheetHtml(title: string, items: PrintableBuilding[]): Promise<string> {
  const cells = await Promise.all(items.map(async (b) => {
    const img = await QRCode.toDataURL(b.url, { errorCorrectionLevel: 'M', margin: 2, scale: 6 });
    return `<div class="cell"><img src="${img}" alt="${escapeHtml(b.code)}"><div class="b">${escapeHtml(b.label)}</div><div class="c">${escapeHtml(b.code)}</div><div class="h">微信/相机扫码 · 随手拍 · 12345 为您办</div></div>`;
  }));
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>
@page { size: A4; margin: 12mm; }
body { font-family: "Noto Sans CJK SC", "Noto Sans SC", sans-serif; margin: 0; }
h1 { font-size: 16pt; margin: 0 0 6mm; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 6mm; }
.cell { border: 1px dashed #999; padding: 4mm; text-align: center; break-inside: avoid; height: 78mm; box-sizing: border-box; }
.cell img { width: 48mm; height: 48mm; }
.b { font-size: 12pt; font-weight: bold; margin-top: 2mm; }
.c { font-size: 9pt; color: #555; }
.h { font-size: 9pt; color: #c00; margin-top: 1mm; }
</style></head><body><h1>${escapeHtml(title)} · 楼栋二维码（一码受理）</h1><div class="grid">${cells.join('')}</div>${items.length ? '' : '<p>该社区没有登记楼栋。</p>'}</body></html>`;
}
