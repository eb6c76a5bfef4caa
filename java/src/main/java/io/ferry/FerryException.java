package io.ferry;

/** The root of every exception Ferry throws for a call or an engine. */
public class FerryException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * A failure with a message.
     *
     * @param message what went wrong
     */
    public FerryException(String message) {
        super(message);
    }

    /**
     * A failure with a message and its cause.
     *
     * @param message what went wrong
     * @param cause the failure that led to it
     */
    public FerryException(String message, Throwable cause) {
        super(message, cause);
    }
}
