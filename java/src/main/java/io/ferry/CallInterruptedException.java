package io.ferry;

/**
 * The calling thread was interrupted while it waited for its call. The call was given up exactly as a
 * timed-out call is: the engine skips it if it had not started it, and otherwise discards its result
 * (an op that checks {@code ferry_call_cancelled} stops early). The thread's interrupt status is kept
 * set, so the code above sees the interrupt too. An interrupted caller never spins: it gives up at once.
 */
public class CallInterruptedException extends FerryException {
    private static final long serialVersionUID = 1L;

    /**
     * An exception with a message.
     *
     * @param message what was given up, and why
     */
    public CallInterruptedException(String message) {
        super(message);
    }
}
