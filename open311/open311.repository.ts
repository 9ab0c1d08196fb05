import type { Kysely } from 'kysely';
import type { DB, Open311RequestsTable } from '../db';

export type Open311RequestRow = Open311RequestsTable;

/** The Open311 requests beside their tickets (open311_requests). */
export class Open311Repository {
  constructor(private readonly db: Kysely<DB>) {}

  async insert(row: Open311RequestRow): Promise<void> {
    await this.db.insertInto('open311_requests').values(row).execute();
  }

  async byToken(cityId: string, token: string): Promise<Open311RequestRow | undefined> {
    return this.db.selectFrom('open311_requests').selectAll().where('city_id', '=', cityId).where('token', '=', token).executeTakeFirst();
  }

  async byTicket(ticketId: string): Promise<Open311RequestRow | undefined> {
    return this.db.selectFrom('open311_requests').selectAll().where('ticket_id', '=', ticketId).executeTakeFirst();
  }

  async byTickets(ticketIds: string[]): Promise<Open311RequestRow[]> {
    if (!ticketIds.length) return [];
    return this.db.selectFrom('open311_requests').selectAll().where('ticket_id', 'in', ticketIds).execute();
  }
}
