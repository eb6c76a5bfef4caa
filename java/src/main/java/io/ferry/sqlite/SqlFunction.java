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
    /**
     * Computes the function's value for one row.
     *
     * @param args the arguments: Long, Double, String, byte[] or null each
     * @return the value: Long, Integer, Short, Byte, Boolean, Double, Float, String, byte[] or null
     * @throws Exception to fail the statement that called it with the exception's class and message
     */
    Object apply(Object... args) throws Exception;
}
