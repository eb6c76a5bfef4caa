package io.ferry;

/** The engine thread could not be started or its init function failed; the thread has been joined. */
public class EngineStartException extends FerryException {
    private static final long serialVersionUID = 1L;
    /** The code the native start or the engine's init function returned. */
    private final int code;

    /**
     * A failed start.
     *
     * @param code the code the native start or the engine's init function returned
     * @param message what failed; the code is appended to it
     */
    public EngineStartException(int code, String message) {
        super(message + " (code=" + code + ")");
        this.code = code;
    }

    /**
     * The code the native start or the engine's init function returned.
     *
     * @return the code (ferry.h's FERRY_E_* for Ferry's own failures)
     */
    public int code() {
        return code;
    }
}
