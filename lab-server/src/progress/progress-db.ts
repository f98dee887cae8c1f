/**
 * The class record on disk: learners' display names and the passes lab-server verified, in one
 * SQLite file (ISOLAB_PROGRESS_DB, by default `<ISOLAB_DATA_DIR>/progress.db`).
 *
 * What is kept, and nothing more: a learner's session id and display name, the steps they passed
 * and when, their resume code, and a SHA-256 of each session token they hold (so the same
 * browser is the same learner after a restart; the token itself is never stored).
 *
 * Durability: WAL with synchronous=NORMAL. A commit is in the WAL file (the kernel's page cache)
 * before `recordPass` returns, so a kill -9 of lab-server loses nothing; only a power cut can
 * lose the last moments. FULL would add an fsync to every pass, and better-sqlite3 is
 * synchronous, so that fsync would stall the event loop the whole class shares.
 *
 * Every statement is a keyed lookup or a single-row write, except `allPasses` (the instructor's
 * export, capped) and `load` (once, at startup).
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/**
 * The schema, one migration per version; never edit one that shipped, add the next. The file's
 * version is SQLite's `user_version`, and each migration runs in the same transaction as the
 * version bump, so a crash mid-migration leaves the old version intact.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: learners, their tokens, their passes.
  `CREATE TABLE learners (
     id TEXT PRIMARY KEY,
     display_name TEXT NOT NULL,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE session_tokens (
     token_hash TEXT PRIMARY KEY,
     learner_id TEXT NOT NULL REFERENCES learners(id) ON DELETE CASCADE
   );
   CREATE INDEX session_tokens_by_learner ON session_tokens(learner_id);
   CREATE TABLE passes (
     learner_id TEXT NOT NULL REFERENCES learners(id) ON DELETE CASCADE,
     lesson_slug TEXT NOT NULL,
     step_id TEXT NOT NULL,
     passed_at INTEGER NOT NULL,
     PRIMARY KEY (learner_id, lesson_slug, step_id)
   ) WITHOUT ROWID;`,
  // 2: resume codes, to continue in another browser.
  `ALTER TABLE learners ADD COLUMN resume_code TEXT;
   CREATE UNIQUE INDEX learners_by_resume_code ON learners(resume_code);`,
];
export const SCHEMA_VERSION = MIGRATIONS.length;

export type ProgressDbErrorCode = 'PROGRESS_DB_CORRUPT' | 'PROGRESS_DB_TOO_NEW' | 'PROGRESS_DB_MIGRATION_FAILED' | 'PROGRESS_DB_UNAVAILABLE';

/** Why the class record cannot be opened, in words for the operator (main.ts prints it and exits). */
export class ProgressDbError extends Error {
  constructor(
    readonly code: ProgressDbErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ProgressDbError';
  }
}

export interface StoredLearner {
  id: string;
  displayName: string;
  createdAt: number;
}

export interface StoredPass {
  learnerId: string;
  lessonSlug: string;
  stepId: string;
  passedAt: number;
}

export class ProgressDb {
  private readonly db: Database.Database;
  private readonly statements: ReturnType<typeof prepareStatements>;

  /** Opens (or creates) the file and brings its schema up to date; throws a ProgressDbError. */
  constructor(
    readonly path: string,
    /** NORMAL is the lab's choice (see above); the benchmark compares FULL. */
    options: { synchronous?: 'NORMAL' | 'FULL' } = {},
  ) {
    if (!existsSync(dirname(path))) mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    try {
      this.db = new Database(path);
      // Names and tokens' hashes are the learners' business and the operator's, nobody else's.
      chmodSync(path, 0o600);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`);
      this.db.pragma('foreign_keys = ON');
      // Another process holding the file (a second lab-server, an operator's sqlite3) waits briefly, not forever.
      this.db.pragma('busy_timeout = 2000');
      const check = this.db.pragma('quick_check', { simple: true });
      if (check !== 'ok') throw Object.assign(new Error(String(check)), { code: 'SQLITE_CORRUPT' });
    } catch (error) {
      this.closeQuietly();
      throw describeOpenError(path, error);
    }
    this.migrate();
    this.statements = prepareStatements(this.db);
  }

  get schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  private migrate(): void {
    const version = this.schemaVersion;
    if (version > SCHEMA_VERSION) {
      this.closeQuietly();
      throw new ProgressDbError(
        'PROGRESS_DB_TOO_NEW',
        `The progress database ${this.path} has schema version ${version}, but this lab-server knows versions up to ${SCHEMA_VERSION}: it was written by a newer Isolab. Run that version, or set ISOLAB_PROGRESS_DB to another file.`,
      );
    }
    for (let next = version; next < SCHEMA_VERSION; next++) {
      try {
        this.db.transaction(() => {
          this.db.exec(MIGRATIONS[next]);
          this.db.pragma(`user_version = ${next + 1}`);
        })();
      } catch (error) {
        // A file whose tables are not what its version says: another program's database, or one
        // edited by hand. The failed step was rolled back, so the file is as it was.
        this.closeQuietly();
        throw new ProgressDbError(
          'PROGRESS_DB_MIGRATION_FAILED',
          `The progress database ${this.path} could not be brought from schema version ${next} to ${next + 1} (${(error as Error).message}): ` +
            `its tables are not those of an Isolab class record of version ${next}. lab-server left it at version ${next}. ` +
            `If it is not Isolab's, set ISOLAB_PROGRESS_DB to another file; to start with an empty class record, move it aside: mv ${this.path} ${this.path}.damaged; or restore it from a backup.`,
        );
      }
    }
  }

  /** Makes the learner's record (or renames it) and binds a token's hash to it. */
  saveLearner(learner: StoredLearner, tokenHash: string | undefined): void {
    this.db.transaction(() => {
      this.statements.insertLearner.run(learner.id, learner.displayName, learner.createdAt);
      if (tokenHash) this.statements.addToken.run(tokenHash, learner.id);
    })();
  }

  learner(id: string): StoredLearner | undefined {
    const row = this.statements.learner.get(id);
    return row && { id: row.id, displayName: row.display_name, createdAt: row.created_at };
  }

  rename(id: string, displayName: string): void {
    this.statements.rename.run(displayName, id);
  }

  addToken(learnerId: string, tokenHash: string): void {
    this.statements.addToken.run(tokenHash, learnerId);
  }

  learnerByToken(tokenHash: string): StoredLearner | undefined {
    const row = this.statements.byToken.get(tokenHash);
    return row && { id: row.id, displayName: row.display_name, createdAt: row.created_at };
  }

  /** Every token of the learner stops working after a restart (their live session is the store's business). */
  forgetTokens(learnerId: string): void {
    this.statements.forgetTokens.run(learnerId);
  }

  /** Records a pass; the first time a step passed is the one kept. Returns when it passed. */
  recordPass(learnerId: string, lessonSlug: string, stepId: string, passedAt: number): number {
    this.statements.recordPass.run(learnerId, lessonSlug, stepId, passedAt);
    return this.passesOf(learnerId).find((pass) => pass.lessonSlug === lessonSlug && pass.stepId === stepId)?.passedAt ?? passedAt;
  }

  passesOf(learnerId: string): StoredPass[] {
    return this.statements.passesOf.all(learnerId).map((row) => ({ learnerId, lessonSlug: row.lesson_slug, stepId: row.step_id, passedAt: row.passed_at }));
  }

  allPasses(limit: number): StoredPass[] {
    return this.statements.allPasses.all(limit).map((row) => ({ learnerId: row.learner_id, lessonSlug: row.lesson_slug, stepId: row.step_id, passedAt: row.passed_at }));
  }

  allLearners(): StoredLearner[] {
    return this.statements.allLearners.all().map((row) => ({ id: row.id, displayName: row.display_name, createdAt: row.created_at }));
  }

  /** The learner's resume code, made with `make` the first time (retried on the rare clash). */
  resumeCode(learnerId: string, make: () => string): string {
    for (let attempt = 0; ; attempt++) {
      const existing = this.statements.resumeCodeOf.get(learnerId)?.resume_code;
      if (existing) return existing;
      try {
        this.statements.setResumeCode.run(make(), learnerId);
      } catch (error) {
        if ((error as { code?: string }).code !== 'SQLITE_CONSTRAINT_UNIQUE' || attempt > 5) throw error;
      }
    }
  }

  learnerByResumeCode(code: string): StoredLearner | undefined {
    const row = this.statements.byResumeCode.get(code);
    return row && { id: row.id, displayName: row.display_name, createdAt: row.created_at };
  }

  /** Deletes the learner, their tokens and passes; returns how many passes went. */
  forgetLearner(learnerId: string): number {
    return this.db.transaction(() => {
      const passes = this.statements.countPasses.get(learnerId)?.n ?? 0;
      this.statements.forgetLearner.run(learnerId);
      return passes;
    })();
  }

  /** Deletes every learner's record; returns how many learners and passes went. */
  clear(): { learners: number; passes: number } {
    return this.db.transaction(() => {
      const passes = (this.db.prepare('SELECT count(*) AS n FROM passes').get() as { n: number }).n;
      const learners = this.db.prepare('DELETE FROM learners').run().changes;
      return { learners, passes };
    })();
  }

  close(): void {
    this.closeQuietly();
  }

  private closeQuietly(): void {
    try {
      this.db?.close();
    } catch {
      // Already closed, or never opened.
    }
  }
}

function prepareStatements(db: Database.Database) {
  return {
    learner: db.prepare<[string], { id: string; display_name: string; created_at: number }>('SELECT id, display_name, created_at FROM learners WHERE id = ?'),
    insertLearner: db.prepare('INSERT INTO learners (id, display_name, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name'),
    rename: db.prepare('UPDATE learners SET display_name = ? WHERE id = ?'),
    addToken: db.prepare('INSERT OR IGNORE INTO session_tokens (token_hash, learner_id) VALUES (?, ?)'),
    byToken: db.prepare<[string], { id: string; display_name: string; created_at: number }>(
      'SELECT l.id, l.display_name, l.created_at FROM session_tokens t JOIN learners l ON l.id = t.learner_id WHERE t.token_hash = ?',
    ),
    forgetTokens: db.prepare('DELETE FROM session_tokens WHERE learner_id = ?'),
    recordPass: db.prepare('INSERT OR IGNORE INTO passes (learner_id, lesson_slug, step_id, passed_at) VALUES (?, ?, ?, ?)'),
    passesOf: db.prepare<[string], { lesson_slug: string; step_id: string; passed_at: number }>(
      'SELECT lesson_slug, step_id, passed_at FROM passes WHERE learner_id = ? ORDER BY passed_at',
    ),
    allPasses: db.prepare<[number], { learner_id: string; lesson_slug: string; step_id: string; passed_at: number }>(
      'SELECT learner_id, lesson_slug, step_id, passed_at FROM passes ORDER BY passed_at, learner_id, lesson_slug, step_id LIMIT ?',
    ),
    allLearners: db.prepare<[], { id: string; display_name: string; created_at: number }>('SELECT id, display_name, created_at FROM learners'),
    resumeCodeOf: db.prepare<[string], { resume_code: string | null }>('SELECT resume_code FROM learners WHERE id = ?'),
    setResumeCode: db.prepare('UPDATE learners SET resume_code = ? WHERE id = ? AND resume_code IS NULL'),
    byResumeCode: db.prepare<[string], { id: string; display_name: string; created_at: number }>('SELECT id, display_name, created_at FROM learners WHERE resume_code = ?'),
    countPasses: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM passes WHERE learner_id = ?'),
    forgetLearner: db.prepare('DELETE FROM learners WHERE id = ?'),
  };
}

/** SQLite's error for a file that is not a database (or is damaged), in words for the operator. */
function describeOpenError(path: string, error: unknown): ProgressDbError {
  const code = (error as { code?: string }).code ?? '';
  const reason = (error as Error).message;
  if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
    return new ProgressDbError(
      'PROGRESS_DB_CORRUPT',
      `The progress database ${path} is damaged or is not a database (${reason}). lab-server left it as it is. ` +
        `To start with an empty class record, move it aside: mv ${path} ${path}.damaged (and any ${path}-wal and ${path}-shm next to it); ` +
        `or restore it from a backup. "sqlite3 ${path} .recover" may save what is left.`,
    );
  }
  return new ProgressDbError(
    'PROGRESS_DB_UNAVAILABLE',
    `The progress database ${path} cannot be opened (${reason}). Check that its directory exists and is writable by root, or set ISOLAB_PROGRESS_DB to another path.`,
  );
}
