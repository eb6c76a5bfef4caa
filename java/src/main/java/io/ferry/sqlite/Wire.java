package io.ferry.sqlite;

import io.ferry.FerryException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The engine's wire format (ferry_sqlite.h), written into and read from a {@link MemorySegment}: a
 * channel's native memory, or a heap array for the calls that pass byte arrays.
 *
 * <pre>
 *   statement: u32 sql_len, sql, u32 n_params, n_params x (u32 name_len, name, u32 index, value)
 *   value:     u8 type, then INTEGER i64 | FLOAT f64 | TEXT, BLOB u32 len, bytes | NULL nothing
 *   result:    i64 changes, i64 last_insert_rowid, u32 n_cols, n_cols x (u32 len, name), then the rows'
 *              values, n_cols per row, until the end
 * </pre>
 */
final class Wire {
    static final int INTEGER = 1, FLOAT = 2, TEXT = 3, BLOB = 4, NULL = 5, ERROR = 6;
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfByte U8 = ValueLayout.JAVA_BYTE;
    private static final int RESULT_HEADER = 20;
    /** sqlite.batch's count with this bit: the rows form. */
    private static final int BATCH_ROWS = 0x8000_0000;
    /** The most rows one rows-form batch carries (the engine's limit). */
    static final int MAX_BATCH_ROWS = 1 << 24;

    private Wire() {
    }

    // ---- statements ---------------------------------------------------------------------------------

    /**
     * Writes one statement at {@code at}. Returns the offset after it, or -1 if it does not fit in
     * {@code m} (nothing else is wrong then: the caller retries with more room).
     *
     * @throws IllegalArgumentException for a value that cannot be bound
     */
    static long statement(MemorySegment m, long at, byte[] sql, Object[] positional, Map<String, ?> named) {
        long end = m.byteSize();
        int np = positional == null ? 0 : positional.length;
        int nn = named == null ? 0 : named.size();
        long p = at;
        if (p + 8 + sql.length > end) {
            return -1;
        }
        m.set(U32, p, sql.length);
        MemorySegment.copy(sql, 0, m, U8, p + 4, sql.length);
        p += 4 + sql.length;
        m.set(U32, p, np + nn);
        p += 4;
        for (int i = 0; i < np; i++) {
            if (p + 8 > end) {
                return -1;
            }
            m.set(U32, p, 0);
            m.set(U32, p + 4, i + 1);
            p = value(m, p + 8, positional[i]);
            if (p < 0) {
                return -1;
            }
        }
        if (nn > 0) {
            for (Map.Entry<String, ?> e : named.entrySet()) {
                String key = e.getKey();
                if (!key.isEmpty() && (key.charAt(0) == ':' || key.charAt(0) == '@' || key.charAt(0) == '$')) {
                    key = key.substring(1);
                }
                byte[] k = key.getBytes(StandardCharsets.UTF_8);
                if (p + 8 + k.length > end) {
                    return -1;
                }
                m.set(U32, p, k.length);
                MemorySegment.copy(k, 0, m, U8, p + 4, k.length);
                p += 4 + k.length;
                m.set(U32, p, 0);
                p = value(m, p + 4, e.getValue());
                if (p < 0) {
                    return -1;
                }
            }
        }
        return p;
    }

    /** Writes one value at {@code p}; returns the offset after it, or -1 if it does not fit. */
    private static long value(MemorySegment m, long p, Object v) {
        long end = m.byteSize();
        switch (v) {
            case null -> {
                if (p + 1 > end) {
                    return -1;
                }
                m.set(U8, p, (byte) NULL);
                return p + 1;
            }
            case Long l -> {
                return integer(m, p, l);
            }
            case Integer i -> {
                return integer(m, p, i);
            }
            case Short s -> {
                return integer(m, p, s);
            }
            case Byte b -> {
                return integer(m, p, b);
            }
            case Boolean b -> {
                return integer(m, p, b ? 1 : 0);
            }
            case Double d -> {
                return floating(m, p, d);
            }
            case Float f -> {
                return floating(m, p, f);
            }
            case String s -> {
                return bytes(m, p, TEXT, s.getBytes(StandardCharsets.UTF_8));
            }
            case byte[] b -> {
                return bytes(m, p, BLOB, b);
            }
            default -> throw new IllegalArgumentException("cannot bind a " + v.getClass().getName()
                    + ": use Long, Integer, Double, String, byte[], Boolean or null");
        }
    }

    private static long integer(MemorySegment m, long p, long v) {
        if (p + 9 > m.byteSize()) {
            return -1;
        }
        m.set(U8, p, (byte) INTEGER);
        m.set(I64, p + 1, v);
        return p + 9;
    }

    private static long floating(MemorySegment m, long p, double v) {
        if (p + 9 > m.byteSize()) {
            return -1;
        }
        m.set(U8, p, (byte) FLOAT);
        m.set(F64, p + 1, v);
        return p + 9;
    }

    private static long bytes(MemorySegment m, long p, int type, byte[] b) {
        if (p + 5 + b.length > m.byteSize()) {
            return -1;
        }
        m.set(U8, p, (byte) type);
        m.set(U32, p + 1, b.length);
        MemorySegment.copy(b, 0, m, U8, p + 5, b.length);
        return p + 5 + b.length;
    }

    /** Statements as one byte array: a batch (u32 n, then each) or a single one. */
    static byte[] encode(List<Statement> statements, boolean asBatch, SqlCache sql) {
        byte[] buf = new byte[256];
        for (;;) {
            MemorySegment m = MemorySegment.ofArray(buf);
            long p = 0;
            if (asBatch) {
                m.set(U32, 0, statements.size());
                p = 4;
            }
            for (Statement s : statements) {
                p = statement(m, p, sql.get(s.sql()).utf8, s.positional().toArray(), s.named());
                if (p < 0) {
                    break;
                }
            }
            if (p >= 0) {
                return Arrays.copyOf(buf, (int) p);
            }
            if (buf.length >= Integer.MAX_VALUE / 2) {
                throw new IllegalArgumentException("statements too large to encode");
            }
            buf = new byte[buf.length * 4];
        }
    }

    /** sqlite.batch's rows form: one statement, then each row's positional values. */
    static byte[] batchRows(byte[] sql, List<Object[]> rows) {
        int params = rows.isEmpty() ? 0 : rows.get(0).length;
        byte[] buf = new byte[Math.max(256, 16 + sql.length + rows.size() * (params * 9 + 1))];
        for (;;) {
            MemorySegment m = MemorySegment.ofArray(buf);
            long p = -1;
            if (12 + sql.length <= buf.length) {
                m.set(U32, 0, rows.size() | BATCH_ROWS);
                m.set(U32, 4, sql.length);
                MemorySegment.copy(sql, 0, m, U8, 8, sql.length);
                m.set(U32, 8 + sql.length, params);
                p = 12 + sql.length;
                for (int i = 0; i < rows.size() && p >= 0; i++) {
                    Object[] row = rows.get(i);
                    if (row.length != params) {
                        throw new IllegalArgumentException("row " + i + " has " + row.length + " values, row 0 has "
                                + params + ": every row binds the same parameters");
                    }
                    for (int k = 0; k < params && p >= 0; k++) {
                        p = value(m, p, row[k]);
                    }
                }
            }
            if (p >= 0) {
                return Arrays.copyOf(buf, (int) p);
            }
            if (buf.length >= Integer.MAX_VALUE / 2) {
                throw new IllegalArgumentException("rows too large to encode");
            }
            buf = new byte[buf.length * 2];
        }
    }

    // ---- results ------------------------------------------------------------------------------------

    /** Decodes a result of {@code len} bytes at the start of {@code m}. */
    static Rows rows(MemorySegment m, long len, SqlCache.Entry sql) {
        return rows(m, len, sql, null);
    }

    /**
     * Decodes a result of {@code len} bytes at the start of {@code m}; {@code scratch} (may be null) holds
     * short texts on their way into Strings, so each costs the String alone.
     */
    static Rows rows(MemorySegment m, long len, SqlCache.Entry sql, byte[] scratch) {
        long changes = m.get(I64, 0);
        long rowid = m.get(I64, 8);
        int n = m.get(U32, 16);
        long p = RESULT_HEADER;
        for (int i = 0; i < n; i++) {
            p += 4 + Integer.toUnsignedLong(m.get(U32, p));
        }
        List<String> columns = sql == null ? columnNames(m, n, p) : sql.columns(m, RESULT_HEADER, p, n);
        Object[] first = null;
        Object[][] rows = null;
        int count = 0;
        while (p < len && n > 0) {
            Object[] row = new Object[n];
            for (int i = 0; i < n; i++) {
                int type = m.get(U8, p);
                p++;
                switch (type) {
                    case INTEGER -> {
                        row[i] = m.get(I64, p);
                        p += 8;
                    }
                    case FLOAT -> {
                        row[i] = m.get(F64, p);
                        p += 8;
                    }
                    case TEXT -> {
                        int l = m.get(U32, p);
                        row[i] = text(m, p + 4, l, scratch);
                        p += 4 + l;
                    }
                    case BLOB -> {
                        int l = m.get(U32, p);
                        row[i] = array(m, p + 4, l);
                        p += 4 + l;
                    }
                    case NULL -> row[i] = null;
                    default -> throw new FerryException("malformed SQLite result: value type " + type);
                }
            }
            if (count == 0) {
                first = row; // most results are one row: no array of rows for them
            } else {
                if (rows == null) {
                    rows = new Object[4][];
                    rows[0] = first;
                } else if (count == rows.length) {
                    rows = Arrays.copyOf(rows, count * 2);
                }
                rows[count] = row;
            }
            count++;
        }
        return count <= 1 ? new Rows(columns, first, changes, rowid) : new Rows(columns, rows, count, changes, rowid);
    }

    private static String text(MemorySegment m, long at, int len, byte[] scratch) {
        if (scratch == null || len < 0 || len > scratch.length) {
            return new String(array(m, at, len), StandardCharsets.UTF_8);
        }
        MemorySegment.copy(m, U8, at, scratch, 0, len);
        return new String(scratch, 0, len, StandardCharsets.UTF_8);
    }

    /** The column names in a result's header ({@code n} of them, ending at {@code end}). */
    static List<String> columnNames(MemorySegment m, int n, long end) {
        String[] names = new String[n];
        long p = RESULT_HEADER;
        for (int i = 0; i < n; i++) {
            int l = m.get(U32, p);
            names[i] = new String(array(m, p + 4, l), StandardCharsets.UTF_8);
            p += 4 + l;
        }
        return List.of(names);
    }

    /** Values of a function's arguments, {@code n} of them from the start of {@code m}. */
    static Object[] values(MemorySegment m, int n) {
        Object[] values = new Object[n];
        long p = 0;
        for (int i = 0; i < n; i++) {
            int type = m.get(U8, p);
            p++;
            switch (type) {
                case INTEGER -> {
                    values[i] = m.get(I64, p);
                    p += 8;
                }
                case FLOAT -> {
                    values[i] = m.get(F64, p);
                    p += 8;
                }
                case TEXT -> {
                    int l = m.get(U32, p);
                    values[i] = new String(array(m, p + 4, l), StandardCharsets.UTF_8);
                    p += 4 + l;
                }
                case BLOB -> {
                    int l = m.get(U32, p);
                    values[i] = array(m, p + 4, l);
                    p += 4 + l;
                }
                case NULL -> values[i] = null;
                default -> throw new FerryException("malformed SQLite value: type " + type);
            }
        }
        return values;
    }

    static long[] batchChanges(byte[] result) {
        MemorySegment m = MemorySegment.ofArray(result);
        long[] changes = new long[m.get(U32, 0)];
        for (int i = 0; i < changes.length; i++) {
            changes[i] = m.get(I64, 4 + 8L * i);
        }
        return changes;
    }

    private static byte[] array(MemorySegment m, long at, int len) {
        if (len < 0) {
            throw new FerryException("malformed SQLite result: length " + Integer.toUnsignedString(len));
        }
        byte[] b = new byte[len];
        MemorySegment.copy(m, U8, at, b, 0, len);
        return b;
    }
}
