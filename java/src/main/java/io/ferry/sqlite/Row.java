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

    /**
     * A value as SQLite returned it.
     *
     * @param column the column's index, from 0
     * @return a Long, Double, String, byte[] or null
     * @throws IndexOutOfBoundsException if there is no such column
     */
    public Object get(int column) {
        return values[column];
    }

    /**
     * A value as SQLite returned it.
     *
     * @param column the column's name
     * @return a Long, Double, String, byte[] or null
     * @throws IllegalArgumentException if there is no column of that name
     */
    public Object get(String column) {
        return values[rows.index(column)];
    }

    /**
     * Whether a value is SQL NULL.
     *
     * @param column the column's index, from 0
     * @return true for NULL
     */
    public boolean isNull(int column) {
        return values[column] == null;
    }

    /**
     * An INTEGER value.
     *
     * @param column the column's index, from 0
     * @return the value
     * @throws IllegalStateException if the value is not an integer (NULL included)
     */
    public long getLong(int column) {
        return typed(column, Long.class);
    }

    /**
     * An INTEGER value.
     *
     * @param column the column's name
     * @return the value
     * @throws IllegalStateException if the value is not an integer (NULL included)
     * @throws IllegalArgumentException if there is no column of that name
     */
    public long getLong(String column) {
        return getLong(rows.index(column));
    }

    /**
     * A REAL value, or an INTEGER one widened.
     *
     * @param column the column's index, from 0
     * @return the value
     * @throws IllegalStateException if the value is not a number (NULL included)
     */
    public double getDouble(int column) {
        Object v = values[column];
        return v instanceof Long l ? l : typed(column, Double.class);
    }

    /**
     * A REAL value, or an INTEGER one widened.
     *
     * @param column the column's name
     * @return the value
     * @throws IllegalStateException if the value is not a number (NULL included)
     * @throws IllegalArgumentException if there is no column of that name
     */
    public double getDouble(String column) {
        return getDouble(rows.index(column));
    }

    /**
     * A value as text: TEXT as it is, a number in its decimal form.
     *
     * @param column the column's index, from 0
     * @return the text, or null for NULL and for a BLOB
     */
    public String getString(int column) {
        Object v = values[column];
        return v == null ? null : v instanceof byte[] ? null : v instanceof String s ? s : v.toString();
    }

    /**
     * A value as text: TEXT as it is, a number in its decimal form.
     *
     * @param column the column's name
     * @return the text, or null for NULL and for a BLOB
     * @throws IllegalArgumentException if there is no column of that name
     */
    public String getString(String column) {
        return getString(rows.index(column));
    }

    /**
     * A BLOB value.
     *
     * @param column the column's index, from 0
     * @return a copy of its bytes, or null for NULL
     * @throws IllegalStateException if the value is neither a BLOB nor NULL
     */
    public byte[] getBytes(int column) {
        Object v = values[column];
        return v == null ? null : v instanceof byte[] b ? b.clone() : typed(column, byte[].class);
    }

    /**
     * A BLOB value.
     *
     * @param column the column's name
     * @return a copy of its bytes, or null for NULL
     * @throws IllegalStateException if the value is neither a BLOB nor NULL
     * @throws IllegalArgumentException if there is no column of that name
     */
    public byte[] getBytes(String column) {
        return getBytes(rows.index(column));
    }

    /**
     * The number of values in the row: one per column.
     *
     * @return the number of columns
     */
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
