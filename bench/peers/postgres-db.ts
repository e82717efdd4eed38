/** A database of its own on the shared PostgreSQL server, per system and run (dropped afterwards). */
import { randomUUID } from 'node:crypto';
import { adminQuery } from '../production.js';
import { withDatabase } from '../proc-stats.js';

export class OwnDatabase {
  name = '';
  url = '';

  constructor(
    private readonly adminUrl: string,
    private readonly label: string,
  ) {}

  async create(): Promise<string> {
    this.name = `bench_${this.label}_${randomUUID().slice(0, 8)}`;
    await adminQuery(this.adminUrl, `CREATE DATABASE ${this.name}`);
    this.url = withDatabase(this.adminUrl, this.name);
    return this.url;
  }

  async drop(): Promise<void> {
    if (!this.name) return;
    const name = this.name;
    this.name = '';
    await adminQuery(this.adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch((err) => console.error(`could not drop database ${name}:`, err));
  }
}
