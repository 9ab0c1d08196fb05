import { monotonicFactory } from 'ulid';

const nextUlid = monotonicFactory();

/** Application-generated ids (ULID, 26 chars, sortable by time): portable across SQLite and MySQL. */
export const newId = (): string => nextUlid();
