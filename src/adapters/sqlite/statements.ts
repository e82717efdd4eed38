import type Database from 'better-sqlite3';

/**
 * Prepared statements of `db`, cached by SQL text: each is prepared once and reused (the
 * variable ones have few shapes). Every SQLite adapter prepares through one of these.
 */
export function statementCache(db: Database.Database): (sql: string) => Database.Statement {
  const cache = new Map<string, Database.Statement>();
  return (sql) => {
    let s = cache.get(sql);
    if (!s) {
      s = db.prepare(sql);
      cache.set(sql, s);
    }
    return s;
  };
}
