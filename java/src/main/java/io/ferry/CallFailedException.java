package io.ferry;

/** An op ran on the engine thread and failed; carries the engine's own code and message. */
public class CallFailedException extends FerryException {
    private static final long serialVersionUID = 1L;
    private final String op;
    private final int code;
    private final String engineMessage;
    private final long detail;

    public CallFailedException(String op, int code, String engineMessage) {
        this(op, code, engineMessage, 0);
    }

    public CallFailedException(String op, int code, String engineMessage, long detail) {
        super("op '" + op + "' failed: code=" + code + ", message=" + engineMessage);
        this.op = op;
        this.code = code;
        this.engineMessage = engineMessage;
        this.detail = detail;
    }

    /** CallFailedException's fields, for an engine-specific subclass. */
    protected CallFailedException(String message, CallFailedException from) {
        super(message, from);
        this.op = from.op;
        this.code = from.code;
        this.engineMessage = from.engineMessage;
        this.detail = from.detail;
    }

    /**
     * A number the op gave along with its failure (its 64-bit result, set before it failed); its meaning
     * is the op's (the SQLite engine gives the error's offset in the SQL text). 0 if none.
     */
    public long detail() {
        return detail;
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
