/**
 * Tickets written straight into the table, for tests that need a day's volume (thousands) in
 * seconds: rows shaped as intake stores them, numbered outside the daily sequence (9xxxxx) so they
 * never collide with tickets the services register.
 */
import type { Kysely } from 'kysely';
import type { DB, TicketsTable } from '../../db';
import { newId, toDbTime } from '../../core';

export interface BulkTicket {
  at: Date;
  channel?: string;
  status?: string;
  answer?: string | null;
  handlingUnitId?: string | null;
  satisfaction?: string | null;
}

export async function insertTickets(db: Kysely<DB>, cityId: string, tickets: BulkTicket[]): Promise<void> {
  const rows: TicketsTable[] = tickets.map((x, i) => {
    const at = toDbTime(x.at);
    return {
      id: newId(), city_id: cityId, number: `${at.slice(0, 10).replace(/-/g, '')}9${String(i).padStart(5, '0')}`, status: x.status ?? 'accepted', version: 1,
      channel: x.channel ?? 'phone', type: 'complaint', urgency: 'normal', category_id: null, citizen_id: null, caller_phone: null, citizen_name: null,
      confidential: 0, title: `批量工单 ${i}`, occurred_at: at, address_text: null, territory_id: null, territory_path: null, lat: null, lng: null,
      parties: null, situation: '批量生成的测试工单', demand: null, handling_unit_id: x.handlingUnitId ?? null, call_id: null, merged_into_id: null,
      answer: x.answer ?? null, result: null, round: 1, satisfaction: x.satisfaction ?? null, created_by: null, created_at: at, updated_at: at,
      closed_at: null, routing_rule: null, responsibility_version_id: null, planned_unit_id: null,
    };
  });
  for (let i = 0; i < rows.length; i += 500) await db.insertInto('tickets').values(rows.slice(i, i + 500)).execute();
}
