package io.ferry;

/** An op ran on the engine thread and failed; carries the engine's own code and message. */
public class CallFailedException extends FerryException {
    private static final long serialVersionUID = 1L;
    private final String op;
    private final int code;
    private final String engineMessage;

    public CallFailedException(String op, int code, String engineMessage) {
        super("op '" + op + "' failed: code=" + code + ", message=" + engineMessage);
        this.op = op;
        this.code = code;
        this.engineMessage = engineMessage;
    }

    /** The name of the op that failed. */
    public String op() {
        return op;
    }

    /** The error code the engine reported (negative codes are Ferry's own, see ferry.h). */
    public int code() {
        return code;
    }

    /** The engine's message, as it gave it. */
    public String engineMessage() {
        return engineMessage;
    }
}
