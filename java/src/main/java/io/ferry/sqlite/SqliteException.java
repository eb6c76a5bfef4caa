package io.ferry.sqlite;

import io.ferry.CallFailedException;

/**
 * SQLite refused a statement: carries SQLite's extended result code, its message and, where SQLite
 * knows it, the offset in the SQL text where the error was found.
 */
public class SqliteException extends CallFailedException {
    private static final long serialVersionUID = 1L;

    SqliteException(CallFailedException from) {
        super("SQLite error " + from.code() + " (" + name(from.code()) + "): " + from.engineMessage(), from);
    }

    /** An op failure of the SQLite engine as a SqliteException (itself, if it is one already). */
    static SqliteException from(CallFailedException e) {
        return e instanceof SqliteException s ? s : new SqliteException(e);
    }

    /**
     * SQLite's extended result code.
     *
     * @return the extended code (e.g. 2067 = SQLITE_CONSTRAINT_UNIQUE)
     */
    public int extendedCode() {
        return code();
    }

    /**
     * SQLite's primary result code: the low 8 bits of the extended one.
     *
     * @return the primary code (e.g. 19 = SQLITE_CONSTRAINT)
     */
    public int primaryCode() {
        return code() & 0xff;
    }

    /**
     * Where in the SQL text SQLite found the error.
     *
     * @return the byte offset in the statement's UTF-8 text, or -1 if SQLite does not know it
     */
    public int offset() {
        return (int) detail();
    }

    static String name(int code) {
        return switch (code & 0xff) {
            case 1 -> "SQLITE_ERROR";
            case 5 -> "SQLITE_BUSY";
            case 6 -> "SQLITE_LOCKED";
            case 7 -> "SQLITE_NOMEM";
            case 8 -> "SQLITE_READONLY";
            case 9 -> "SQLITE_INTERRUPT";
            case 11 -> "SQLITE_CORRUPT";
            case 13 -> "SQLITE_FULL";
            case 14 -> "SQLITE_CANTOPEN";
            case 18 -> "SQLITE_TOOBIG";
            case 19 -> "SQLITE_CONSTRAINT";
            case 20 -> "SQLITE_MISMATCH";
            case 21 -> "SQLITE_MISUSE";
            case 25 -> "SQLITE_RANGE";
            default -> "code " + (code & 0xff);
        };
    }
}
