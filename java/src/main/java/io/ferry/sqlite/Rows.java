package io.ferry.sqlite;

import java.util.AbstractList;
import java.util.List;

/**
 * A statement's whole result, decoded from the one buffer the engine sent back: the column names, the
 * rows, the number of rows it changed and the last inserted rowid.
 */
public final class Rows extends AbstractList<Row> {
    private final List<String> columns;
    private final List<Row> rows;
    private final long changes;
    private final long lastInsertRowid;

    Rows(List<String> columns, List<Object[]> values, long changes, long lastInsertRowid) {
        this.columns = List.copyOf(columns);
        Row[] r = new Row[values.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = new Row(this, values.get(i));
        }
        this.rows = List.of(r);
        this.changes = changes;
        this.lastInsertRowid = lastInsertRowid;
    }

    public List<String> columns() {
        return columns;
    }

    @Override
    public Row get(int index) {
        return rows.get(index);
    }

    @Override
    public int size() {
        return rows.size();
    }

    /** Rows inserted, updated or deleted by the statement (sqlite3_changes64). */
    public long changes() {
        return changes;
    }

    /** sqlite3_last_insert_rowid after the statement. */
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
