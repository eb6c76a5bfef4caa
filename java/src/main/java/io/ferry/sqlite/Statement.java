package io.ferry.sqlite;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One SQL statement with its parameters, for a batch: positional values bind {@code ?} / {@code ?NNN},
 * named ones bind {@code :name} (without the colon). Named parameters not given here bind the call's
 * context variables of the same name.
 *
 * @param sql the statement's SQL text
 * @param positional the values of its positional parameters, in order (null values allowed)
 * @param named the values of its named parameters, by name without the colon
 */
public record Statement(String sql, List<Object> positional, Map<String, ?> named) {
    /**
     * A statement; the parameters are copied, and null stands for none.
     *
     * @param sql the statement's SQL text
     * @param positional the values of its positional parameters, in order, or null for none
     * @param named the values of its named parameters, or null for none
     */
    public Statement {
        Objects.requireNonNull(sql, "sql");
        positional = positional == null ? List.of() : java.util.Collections.unmodifiableList(new java.util.ArrayList<>(positional));
        named = named == null ? Map.of() : java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(named));
    }

    /**
     * A statement with positional parameters.
     *
     * @param sql the statement's SQL text
     * @param positional the values of its {@code ?} parameters, in order (null values allowed)
     * @return the statement
     */
    public static Statement of(String sql, Object... positional) {
        return new Statement(sql, java.util.Arrays.asList(positional), null);
    }

    /**
     * A statement with named parameters.
     *
     * @param sql the statement's SQL text
     * @param named the values of its {@code :name} parameters, by name without the colon
     * @return the statement
     */
    public static Statement of(String sql, Map<String, ?> named) {
        return new Statement(sql, null, named);
    }
}
