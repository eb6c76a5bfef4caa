package io.ferry.sqlite;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * What a SQL text costs to send, paid once per text rather than once per call: its UTF-8 bytes, and the
 * column names its results last came with (as the engine encodes them, so a result whose names are the
 * same bytes reuses the decoded list). Direct-mapped by the string's hash: a colliding text replaces the
 * entry, so the cache stays small whatever SQL an application builds.
 *
 * <p>Shared by all threads without locks: entries are immutable but for their column names, which are
 * replaced whole by an immutable {@link Columns} (a benign race: a thread that misses another's update
 * only decodes the names again).
 */
final class SqlCache {
    private static final int SIZE = 1024;

    private final Entry[] table = new Entry[SIZE];

    Entry get(String sql) {
        int h = sql.hashCode();
        int i = (h ^ (h >>> 16)) & (SIZE - 1);
        Entry e = table[i]; // racy read of an immutable entry: safe publication through its final fields
        if (e != null && (e.sql == sql || e.sql.equals(sql))) {
            return e;
        }
        e = new Entry(sql);
        table[i] = e;
        return e;
    }

    static final class Entry {
        final String sql;
        final byte[] utf8;
        private Columns columns;

        Entry(String sql) {
            this.sql = sql;
            this.utf8 = sql.getBytes(StandardCharsets.UTF_8);
        }

        /** The column names encoded in {@code m} between {@code from} and {@code to}. */
        List<String> columns(MemorySegment m, long from, long to, int n) {
            Columns c = columns;
            long len = to - from;
            if (c != null && c.encoded.byteSize() == len
                    && MemorySegment.mismatch(m, from, to, c.encoded, 0, len) < 0) {
                return c.names;
            }
            List<String> names = Wire.columnNames(m, n, to);
            byte[] encoded = new byte[(int) len];
            MemorySegment.copy(m, ValueLayout.JAVA_BYTE, from, encoded, 0, (int) len);
            columns = new Columns(MemorySegment.ofArray(encoded), names);
            return names;
        }
    }

    private record Columns(MemorySegment encoded, List<String> names) {
    }
}
