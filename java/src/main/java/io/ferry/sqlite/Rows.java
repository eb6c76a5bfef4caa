package io.ferry.sqlite;

import java.util.AbstractList;
import java.util.List;
import java.util.Objects;

/**
 * A statement's whole result, decoded from the one buffer the engine sent back: the column names, the
 * rows, the number of rows it changed and the last inserted rowid. Immutable.
 */
public final class Rows extends AbstractList<Row> {
    private static final Row[] NONE = new Row[0];

    private final List<String> columns;
    private final Row[] rows;
    private final long changes;
    private final long lastInsertRowid;

    /** {@code columns} immutable; no rows if {@code values} is null, else one. */
    Rows(List<String> columns, Object[] values, long changes, long lastInsertRowid) {
        this.columns = columns;
        this.rows = values == null ? NONE : new Row[] {new Row(this, values)};
        this.changes = changes;
        this.lastInsertRowid = lastInsertRowid;
    }

    /** {@code columns} immutable; the first {@code count} of {@code values} are the rows. */
    Rows(List<String> columns, Object[][] values, int count, long changes, long lastInsertRowid) {
        this.columns = columns;
        Row[] r = count == 0 ? NONE : new Row[count];
        for (int i = 0; i < count; i++) {
            r[i] = new Row(this, values[i]);
        }
        this.rows = r;
        this.changes = changes;
        this.lastInsertRowid = lastInsertRowid;
    }

    /**
     * The result's column names, in order.
     *
     * @return the names (immutable; empty for a statement that returns no rows)
     */
    public List<String> columns() {
        return columns;
    }

    @Override
    public Row get(int index) {
        Objects.checkIndex(index, rows.length);
        return rows[index];
    }

    @Override
    public int size() {
        return rows.length;
    }

    /**
     * Rows inserted, updated or deleted by the statement (sqlite3_changes64).
     *
     * @return the number of rows changed
     */
    public long changes() {
        return changes;
    }

    /**
     * sqlite3_last_insert_rowid after the statement.
     *
     * @return the rowid of the last row inserted on the context's connection
     */
    public long lastInsertRowid() {
        return lastInsertRowid;
    }

    int index(String column) {
        int i = columns.indexOf(column);
        if (i < 0) {
            throw new IllegalArgumentException("no column named " + column + "; columns are " + columns);
        }
        return i;
    }
}
