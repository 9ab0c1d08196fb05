/**
 * Chinese phone numbers as citizens give them: mobiles (1[3-9]x, 11 digits, optional +86/0086)
 * and landlines with area code (0xx-xxxxxxxx). Normalised to digits only, without country code.
 */
const MOBILE = /^1[3-9]\d{9}$/;
const LANDLINE = /^0\d{2,3}\d{7,8}$/;
const SERVICE = /^(1\d{4}|9\d{4})$/; // 12345, 95598: service numbers

export function normalizePhone(raw: string): string | null {
  let s = raw.replace(/[\s()-]/g, '');
  if (s.startsWith('+86')) s = s.slice(3);
  else if (s.startsWith('0086')) s = s.slice(4);
  if (!/^\d+$/.test(s)) return null;
  if (MOBILE.test(s) || LANDLINE.test(s) || SERVICE.test(s)) return s;
  return null;
}

/** 138****5678 style: what anyone outside the hotline center sees. */
export function maskPhone(phone: string | null | undefined): string | null {
  if (!phone) return phone ?? null;
  if (phone.length <= 4) return '*'.repeat(phone.length);
  if (phone.length <= 7) return phone.slice(0, 1) + '*'.repeat(phone.length - 3) + phone.slice(-2);
  return phone.slice(0, 3) + '*'.repeat(phone.length - 7) + phone.slice(-4);
}
