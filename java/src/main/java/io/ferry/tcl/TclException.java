package io.ferry.tcl;

import io.ferry.FerryException;

/**
 * A Tcl script failed: Tcl's return code, its result (the error message), {@code errorCode} and
 * {@code errorInfo} (the Tcl stack trace), as the interpreter left them.
 */
public class TclException extends FerryException {
    private static final long serialVersionUID = 1L;

    /** Tcl's return code. */
    private final int returnCode;
    /** The interpreter's result. */
    private final String result;
    /** {@code $::errorCode}. */
    private final String errorCode;
    /** {@code $::errorInfo}. */
    private final String errorInfo;

    /**
     * A failed eval.
     *
     * @param returnCode Tcl's return code (TCL_ERROR is 1)
     * @param result the interpreter's result: the error message
     * @param errorCode {@code $::errorCode}, or "" if unset
     * @param errorInfo {@code $::errorInfo}, or "" if unset
     */
    public TclException(int returnCode, String result, String errorCode, String errorInfo) {
        super("Tcl error: " + result + " (errorCode " + errorCode + ")");
        this.returnCode = returnCode;
        this.result = result;
        this.errorCode = errorCode;
        this.errorInfo = errorInfo;
    }

    /**
     * Tcl's return code.
     *
     * @return the code (1 for TCL_ERROR)
     */
    public int returnCode() {
        return returnCode;
    }

    /**
     * The interpreter's result.
     *
     * @return the error message
     */
    public String result() {
        return result;
    }

    /**
     * Tcl's machine-readable error code.
     *
     * @return {@code $::errorCode}, such as {@code ARITH DIVZERO {divide by zero}}
     */
    public String errorCode() {
        return errorCode;
    }

    /**
     * Tcl's stack trace.
     *
     * @return {@code $::errorInfo}: the message and the Tcl stack trace
     */
    public String errorInfo() {
        return errorInfo;
    }
}
