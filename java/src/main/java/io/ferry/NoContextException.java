package io.ferry;

/**
 * A call needed an execution context and none was open on the calling thread. Thrown on that thread
 * before anything is submitted; the message says how to open or pass one.
 */
public class NoContextException extends FerryException {
    private static final long serialVersionUID = 1L;

    public NoContextException(String message) {
        super(message);
    }
}
