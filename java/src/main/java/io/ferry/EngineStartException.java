package io.ferry;

/** The engine thread could not be started or its init function failed; the thread has been joined. */
public class EngineStartException extends FerryException {
    private static final long serialVersionUID = 1L;
    private final int code;

    public EngineStartException(int code, String message) {
        super(message + " (code=" + code + ")");
        this.code = code;
    }

    /** The code the native start or the engine's init function returned. */
    public int code() {
        return code;
    }
}
