/*
 * ferry_sqlite.h: SQLite behind Ferry's bridge (libferry_sqlite.so, init function ferry_sqlite_init).
 *
 * Every context's SQLite handles are made, used and closed on the engine thread, each connection
 * opened with SQLITE_OPEN_NOMUTEX. Each execution context has its own connection (opened by the context
 * hook): a user context works on its parent's database, or on a private in-memory one when made with
 * FERRY_SQLITE_PRIVATE; a read-only context's connection is opened SQLITE_OPEN_READONLY.
 *
 * Read transactions beyond a statement, invisible to callers (ferry_sqlite.c says why each is safe):
 *   - on an in-memory database, a connection's consecutive queries share one read transaction; every
 *     such transaction is committed before anything but a query runs on any connection;
 *   - on a WAL file, an "anchor" connection holds a read transaction while queries run, so theirs take
 *     the WAL index's read lock without a system call. Each query still sees every commit before it.
 *     The anchor lets go before anything but a query runs, is renewed by a query that finds it older
 *     than a millisecond, and lets go when the engine idles (its on-idle hook: a millisecond without
 *     a call, or before it sleeps). Like every handle, it is used on the engine thread only.
 *
 * Configuration (ferry_registry_arg), one key=value per line:
 *   path=<file>          the database file; absent or ":memory:": an in-memory database
 *   wal=1                journal_mode=WAL (file databases)
 *   synchronous=<mode>   PRAGMA synchronous on every connection: off, normal, full, extra (or 0..3);
 *                        absent: SQLite's default
 *   memstatus=1          keep SQLite's allocation statistics; by default the engine turns them off
 *                        (SQLITE_CONFIG_MEMSTATUS, process-wide, and only if SQLite is not yet
 *                        initialised): they take a global mutex around every allocation
 *   busy_timeout=<ms>    how long a connection waits for a lock another process holds (default 5000); a
 *                        lock held by another context of the same engine fails at once (SQLITE_BUSY),
 *                        since only the engine thread itself could release it
 *   cache=<n>            prepared statements cached per context (default 64)
 *
 * Ops (all little-endian, u32 lengths):
 *   sqlite.exec    input: a statement (below) -> output: a result (below). One SQL statement.
 *   sqlite.batch   input: u32 n, n statements -> output: u32 n, n x i64 changes. All in one transaction
 *                  (a savepoint); any failure rolls all back and fails the call naming the statement's
 *                  index. The rows form: u32 (n | 0x80000000), u32 sql_len, sql, u32 n_params, then n
 *                  rows of n_params values each: the one statement run once per row, its values bound
 *                  to ?1..?n_params (at most 2^24 rows).
 *   Internal ops (FERRY_OP_INTERNAL: io.ferry.sqlite's plumbing, refused by Engine.op):
 *   sqlite.channel arg0 = capacity (64 .. 16 MiB) -> the address of a new channel, a buffer the host
 *                  writes statements into and reads results from; its id (u32) is in its first 4
 *                  bytes. At most 65536 channels are open at once. The host owns the memory of the
 *                  channels still open when the engine stops: it frees them with ferry_sqlite_free
 *                  once the engine has stopped (never before: the engine may still be writing).
 *   sqlite.channel_close arg0 = channel id -> frees the channel and its memory; its id is made again.
 *   sqlite.run     arg0 = channel id, arg1 = length of a statement written at the channel's start
 *                  -> the length of the result, written over the statement from the channel's start;
 *                  or -1 if the result does not fit the channel: it waits on the engine for
 *                  sqlite.spill in the same context (until the next sqlite.run on that channel). One
 *                  SQL statement, as sqlite.exec, without an allocation or a copy of the input or result.
 *   sqlite.spill   input = u32 channel id -> output: the result sqlite.run could not fit in it; only in
 *                  the context that ran that sqlite.run (any other fails: no such result).
 *   sqlite.function arg0 = number of arguments (-1: any); input = i32 the host's function id,
 *                  u32 flags (1: deterministic), then the name
 *                  -> registers a scalar function on every connection, present and future.
 *   No op takes an address: the function dispatcher is installed by ferry_sqlite_set_dispatcher, a C
 *   function the host calls (through FFM, which needs native access), and channels are named by id.
 *
 * statement: u32 sql_len, sql, u32 n_params, n_params x param
 * param:     u32 name_len, name (without the ':', '@' or '$'; name_len 0: positional), u32 index
 *            (positional, 1-based: the index-th plain '?', or '?NNN' with NNN = index), then a value
 * value:     u8 type (FERRY_SQLITE_*), then INTEGER: i64, FLOAT: f64, TEXT/BLOB: u32 len, bytes, NULL: -
 * result:    i64 changes, i64 last_insert_rowid, u32 n_cols, n_cols x (u32 len, name),
 *            then rows until the end: n_cols values each
 *
 * Named parameters (:name, @name, $name) take the value given with the call, else the variable of that
 * name in the call's context scope (frozen ones included); a parameter with neither fails the call
 * naming it. Errors carry SQLite's extended code and message; the error offset in the SQL, if SQLite
 * knows it, is the failure's detail (ferry_call's 64-bit result). A caller that gives up interrupts its
 * own statement through a progress handler that reads that call's cancel flag.
 */
#ifndef FERRY_SQLITE_H
#define FERRY_SQLITE_H

#include "ferry.h"

#define FERRY_SQLITE_INTEGER 1
#define FERRY_SQLITE_FLOAT   2
#define FERRY_SQLITE_TEXT    3
#define FERRY_SQLITE_BLOB    4
#define FERRY_SQLITE_NULL    5
#define FERRY_SQLITE_ERROR   6 /* a function's result only: text is the error message */

/* Engine flag for ferry.ctx_create: the new context gets a private in-memory database. */
#define FERRY_SQLITE_PRIVATE FERRY_CTX_OPEN_PRIVATE

/* What a host function returns: for TEXT, BLOB and ERROR, ptr is ferry_alloc'd memory the engine frees. */
typedef struct ferry_sqlite_result {
    uint32_t type;
    uint32_t reserved;
    int64_t i64;
    double f64;
    void *ptr;
    uint64_t len;
} ferry_sqlite_result;

/* The host's dispatcher: runs function fn_id on args (n values, encoded as above) on the engine
 * thread and fills out. Must not throw or unwind. */
typedef void (*ferry_sqlite_dispatch_fn)(int32_t fn_id, const uint8_t *args, uint64_t args_len, int32_t n_args,
                                         ferry_sqlite_result *out);

FERRY_API int ferry_sqlite_init(ferry_registry *reg);

/* Connections and statements open in this process, across engines (for leak checks). */
FERRY_API int64_t ferry_sqlite_open_connections(void);
FERRY_API int64_t ferry_sqlite_open_statements(void);

/* Frees a channel made by sqlite.channel (only once its engine has stopped). */
FERRY_API void ferry_sqlite_free(void *channel);

/* Installs the host's function dispatcher for every SQLite engine of the process, once: returns 0 (also
 * when fn is the one installed already), FERRY_E_EXISTS if another one is, FERRY_E_INVALID for NULL.
 * A function called before it is installed fails with "no function dispatcher is installed". */
FERRY_API int ferry_sqlite_set_dispatcher(ferry_sqlite_dispatch_fn fn);

#endif
