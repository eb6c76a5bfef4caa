package io.ferry.sqlite;

/**
 * A scalar SQL function implemented in Java. SQLite calls it on the engine thread (through an FFM
 * upcall) with the arguments as Long, Double, String, byte[] or null, and it returns one of those (an
 * Integer, Boolean or Float is widened). An exception it throws becomes an SQL error for the statement
 * that called it; it never reaches the JVM's top level. It must not call the same engine (that would
 * wait on itself; Ferry refuses such calls).
 */
@FunctionalInterface
public interface SqlFunction {
    Object apply(Object... args) throws Exception;
}
