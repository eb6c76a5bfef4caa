package io.ferry;

/**
 * An op ran on the engine thread and failed; carries the engine's own code and message, whole however
 * long it is, and any output bytes the op wrote before it failed.
 */
public class CallFailedException extends FerryException {
    private static final long serialVersionUID = 1L;
    private static final byte[] NO_BYTES = new byte[0];
    /** The name of the op that failed. */
    private final String op;
    /** The engine's error code. */
    private final int code;
    /** The engine's message, whole. */
    private final String engineMessage;
    /** The number the op gave along with its failure, or 0. */
    private final long detail;
    /** The output the op wrote before it failed; empty if none, never null. */
    private final byte[] output;

    /**
     * A failure without a detail or output.
     *
     * @param op the name of the op that failed
     * @param code the engine's error code
     * @param engineMessage the engine's message
     */
    public CallFailedException(String op, int code, String engineMessage) {
        this(op, code, engineMessage, 0);
    }

    /**
     * A failure with a detail and no output.
     *
     * @param op the name of the op that failed
     * @param code the engine's error code
     * @param engineMessage the engine's message
     * @param detail the number the op gave along with its failure (see {@link #detail()})
     */
    public CallFailedException(String op, int code, String engineMessage, long detail) {
        this(op, code, engineMessage, detail, NO_BYTES);
    }

    /**
     * A failure with a detail and the output the op wrote before it failed.
     *
     * @param op the name of the op that failed
     * @param code the engine's error code
     * @param engineMessage the engine's message
     * @param detail the number the op gave along with its failure (see {@link #detail()})
     * @param output the output bytes the op wrote before it failed (copied; empty if none)
     * @throws NullPointerException if output is null
     */
    public CallFailedException(String op, int code, String engineMessage, long detail, byte[] output) {
        super("op '" + op + "' failed: code=" + code + ", message=" + engineMessage);
        this.op = op;
        this.code = code;
        this.engineMessage = engineMessage;
        this.detail = detail;
        this.output = output.length == 0 ? NO_BYTES : output.clone();
    }

    /**
     * CallFailedException's fields, for an engine-specific subclass.
     *
     * @param message this exception's message
     * @param from the failure whose op, code, message, detail and output this one carries (its cause)
     */
    protected CallFailedException(String message, CallFailedException from) {
        super(message, from);
        this.op = from.op;
        this.code = from.code;
        this.engineMessage = from.engineMessage;
        this.detail = from.detail;
        this.output = from.output;
    }

    /**
     * A number the op gave along with its failure (its 64-bit result, set before it failed); its meaning
     * is the op's (the SQLite engine gives the error's offset in the SQL text). 0 if none.
     *
     * @return the op's detail, or 0
     */
    public long detail() {
        return detail;
    }

    /**
     * The output bytes the op had written when it failed (what it produced before things went wrong; its
     * meaning is the op's), whatever the op's result type. Empty if it wrote none, or if the engine had
     * no memory left to keep them along with the message.
     *
     * @return a copy of those bytes (a new array on every call), empty if none
     */
    public byte[] output() {
        return output.length == 0 ? output : output.clone();
    }

    /**
     * The name of the op that failed.
     *
     * @return the op's name
     */
    public String op() {
        return op;
    }

    /**
     * The error code the engine reported (negative codes are Ferry's own, see ferry.h).
     *
     * @return the engine's error code
     */
    public int code() {
        return code;
    }

    /**
     * The engine's message, as it gave it: whole, however long.
     *
     * @return the engine's message
     */
    public String engineMessage() {
        return engineMessage;
    }
}
