package io.ferry.sqlite;

/**
 * {@code PRAGMA synchronous}: how often SQLite waits for the disk. With WAL, {@link #NORMAL} syncs at
 * checkpoints only: the database never corrupts, and a power loss (not a crash of the process) can
 * undo the last commits. {@link #FULL} syncs the WAL at every commit as well.
 */
public enum Synchronous {
    /** No syncs: a power loss can corrupt the database. */
    OFF,
    /** Syncs at critical moments; with WAL, at checkpoints: durable up to the last checkpoint. */
    NORMAL,
    /** Syncs at every commit (SQLite's default). */
    FULL,
    /** FULL, and the directory after a rollback journal is deleted. */
    EXTRA
}
