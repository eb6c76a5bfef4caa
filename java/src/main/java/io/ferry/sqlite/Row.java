package io.ferry.sqlite;

import java.util.Arrays;

/** One row of a query's result: typed access by column index (0-based) or name. */
public final class Row {
    private final Rows rows;
    private final Object[] values;

    Row(Rows rows, Object[] values) {
        this.rows = rows;
        this.values = values;
    }

    /** The value as SQLite returned it: Long, Double, String, byte[] or null. */
    public Object get(int column) {
        return values[column];
    }

    public Object get(String column) {
        return values[rows.index(column)];
    }

    public boolean isNull(int column) {
        return values[column] == null;
    }

    public long getLong(int column) {
        return typed(column, Long.class);
    }

    public long getLong(String column) {
        return getLong(rows.index(column));
    }

    public double getDouble(int column) {
        Object v = values[column];
        return v instanceof Long l ? l : typed(column, Double.class);
    }

    public double getDouble(String column) {
        return getDouble(rows.index(column));
    }

    public String getString(int column) {
        Object v = values[column];
        return v == null ? null : v instanceof byte[] ? null : v instanceof String s ? s : v.toString();
    }

    public String getString(String column) {
        return getString(rows.index(column));
    }

    public byte[] getBytes(int column) {
        Object v = values[column];
        return v == null ? null : v instanceof byte[] b ? b.clone() : typed(column, byte[].class);
    }

    public byte[] getBytes(String column) {
        return getBytes(rows.index(column));
    }

    public int size() {
        return values.length;
    }

    private <T> T typed(int column, Class<T> type) {
        Object v = values[column];
        if (!type.isInstance(v)) {
            throw new IllegalStateException("column " + column + " (" + rows.columns().get(column) + ") is "
                    + (v == null ? "NULL" : v.getClass().getSimpleName()) + ", not " + type.getSimpleName());
        }
        return type.cast(v);
    }

    @Override
    public String toString() {
        return Arrays.deepToString(values);
    }
}
