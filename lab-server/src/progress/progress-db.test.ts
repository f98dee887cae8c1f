import { mkdtempSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS, ProgressDb, SCHEMA_VERSION } from './progress-db';

const dirs: string[] = [];
function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'isolab-progress-db-'));
  dirs.push(dir);
  return join(dir, 'progress.db');
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('the class record', () => {
  it('keeps learners, their passes and tokens across a reopen, readable by root only', () => {
    const path = tempDb();
    const first = new ProgressDb(path);
    first.saveLearner({ id: 'ses-000000000001', displayName: 'Ada', createdAt: 1 }, 'hash-a');
    expect(first.recordPass('ses-000000000001', 'uts', 'read', 100)).toBe(100);
    // A second pass of the same step keeps the first time.
    expect(first.recordPass('ses-000000000001', 'uts', 'read', 200)).toBe(100);
    first.close();

    const again = new ProgressDb(path);
    expect(again.learnerByToken('hash-a')).toMatchObject({ id: 'ses-000000000001', displayName: 'Ada' });
    expect(again.passesOf('ses-000000000001')).toEqual([{ learnerId: 'ses-000000000001', lessonSlug: 'uts', stepId: 'read', passedAt: 100 }]);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    again.close();
  });

  it('forgets a learner with their passes, tokens and resume code', () => {
    const db = new ProgressDb(tempDb());
    db.saveLearner({ id: 'ses-000000000001', displayName: 'Ada', createdAt: 1 }, 'hash-a');
    db.recordPass('ses-000000000001', 'uts', 'read', 100);
    const code = db.resumeCode('ses-000000000001', () => 'ABCDEFGH');
    expect(db.resumeCode('ses-000000000001', () => 'ZZZZZZZZ')).toBe(code);
    expect(db.forgetLearner('ses-000000000001')).toBe(1);
    expect(db.learnerByToken('hash-a')).toBeUndefined();
    expect(db.learnerByResumeCode(code)).toBeUndefined();
    expect(db.allPasses(10)).toEqual([]);
    db.close();
  });

  it('migrates a file of the first schema version, keeping what it held', () => {
    const path = tempDb();
    const old = new Database(path);
    old.exec(MIGRATIONS[0]);
    old.pragma('user_version = 1');
    old.prepare('INSERT INTO learners (id, display_name, created_at) VALUES (?, ?, ?)').run('ses-000000000001', 'Grace', 5);
    old.prepare('INSERT INTO session_tokens (token_hash, learner_id) VALUES (?, ?)').run('hash-g', 'ses-000000000001');
    old.prepare('INSERT INTO passes (learner_id, lesson_slug, step_id, passed_at) VALUES (?, ?, ?, ?)').run('ses-000000000001', 'pid', 'ps', 50);
    old.close();

    const db = new ProgressDb(path);
    expect(db.schemaVersion).toBe(SCHEMA_VERSION);
    expect(SCHEMA_VERSION).toBeGreaterThan(1);
    expect(db.learnerByToken('hash-g')).toMatchObject({ displayName: 'Grace' });
    expect(db.passesOf('ses-000000000001')).toHaveLength(1);
    // What version 2 added works on the migrated file.
    const code = db.resumeCode('ses-000000000001', () => 'K7QFM2XD');
    expect(db.learnerByResumeCode(code)).toMatchObject({ id: 'ses-000000000001' });
    db.close();
  });

  it('refuses a damaged file with a sentence that says what to do, and leaves it as it was', () => {
    const path = tempDb();
    const garbage = Buffer.alloc(8192, 0x5a);
    writeFileSync(path, garbage);
    expect(() => new ProgressDb(path)).toThrow(expect.objectContaining({ code: 'PROGRESS_DB_CORRUPT', message: expect.stringContaining(`mv ${path} ${path}.damaged`) }));
    expect(statSync(path).size).toBe(garbage.length);
  });

  it('refuses a file whose tables do not match its version with a sentence, and leaves it at that version', () => {
    // Another program's database at version 0 (it already has a "learners" table), and a
    // version-1 file someone gave version 2's column by hand.
    const foreign = tempDb();
    const other = new Database(foreign);
    other.exec('CREATE TABLE learners (name TEXT)');
    other.close();
    const handEdited = tempDb();
    const edited = new Database(handEdited);
    edited.exec(MIGRATIONS[0]);
    edited.exec('ALTER TABLE learners ADD COLUMN resume_code TEXT');
    edited.pragma('user_version = 1');
    edited.close();

    for (const [path, from] of [[foreign, 0], [handEdited, 1]] as const) {
      expect(() => new ProgressDb(path)).toThrow(
        expect.objectContaining({
          code: 'PROGRESS_DB_MIGRATION_FAILED',
          message: expect.stringContaining(`could not be brought from schema version ${from} to ${from + 1}`),
        }),
      );
      const after = new Database(path);
      expect(after.pragma('user_version', { simple: true })).toBe(from);
      after.close();
    }
  });

  it('refuses a file from a newer Isolab instead of guessing at its schema', () => {
    const path = tempDb();
    const newer = new Database(path);
    newer.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    newer.close();
    expect(() => new ProgressDb(path)).toThrow(expect.objectContaining({ code: 'PROGRESS_DB_TOO_NEW' }));
  });
});
