package io.ferry;

/** A {@code tryCall} found every slot of the ring in flight and did not submit the call. */
public class RejectedCallException extends FerryException {
    private static final long serialVersionUID = 1L;

    public RejectedCallException(String message) {
        super(message);
    }
}
