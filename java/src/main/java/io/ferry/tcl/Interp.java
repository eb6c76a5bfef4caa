package io.ferry.tcl;

import static io.ferry.tcl.tcl_h.TCL_CANCEL_UNWIND;
import static io.ferry.tcl.tcl_h.TCL_ERROR;
import static io.ferry.tcl.tcl_h.TCL_EVAL_GLOBAL;
import static io.ferry.tcl.tcl_h.TCL_GLOBAL_ONLY;
import static io.ferry.tcl.tcl_h.TCL_LEAVE_ERR_MSG;
import static io.ferry.tcl.tcl_h.TCL_OK;
import static io.ferry.tcl.tcl_h.TCL_RETURN;

import io.ferry.ContextInfo;
import io.ferry.Task;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CancellationException;

/**
 * One Tcl interpreter: made, used and deleted on its engine's thread (Tcl's apartment model: only the
 * thread that called {@code Tcl_CreateInterp} may use it). Every method checks first that the calling
 * thread is that thread ({@code Tcl_GetCurrentThread()} against the one recorded at creation) and throws
 * {@link IllegalStateException} otherwise, before any Tcl call.
 */
final class Interp {
    private static final MemorySegment SCOPE_COMMAND = scopeCommandStub();
    private static boolean tclInitialised; // guarded by Interp.class
    /** Tests only: run on the engine thread just before a cancellable eval starts (null: nothing). */
    static volatile Runnable beforeEval;
    /** Tests only: run on the engine thread just after a cancellable eval returned from Tcl (null: nothing). */
    static volatile Runnable afterEval;

    final MemorySegment interp;
    /** Tcl_GetCurrentThread() on the creating thread. */
    final long thread;
    final String contextName;
    final boolean readOnly;
    private final Arena arena = Arena.ofConfined(); // the engine thread's: the script buffer
    private MemorySegment buffer;
    /** Set by the cancel action (any thread) before it calls Tcl_CancelEval. */
    private volatile boolean cancelRequested;
    private final Runnable canceller = this::cancelFromAnyThread;

    private Interp(MemorySegment interp, long thread, ContextInfo info) {
        this.interp = interp;
        this.thread = thread;
        this.contextName = info.name();
        this.readOnly = info.readOnly();
        this.buffer = arena.allocate(256);
    }

    /** On the engine thread, when a context opens. */
    static Interp create(ContextInfo info) {
        synchronized (Interp.class) {
            if (!tclInitialised) {
                tcl_h.Tcl_FindExecutable(MemorySegment.NULL); // once per process, before the first interpreter
                tclInitialised = true;
            }
        }
        MemorySegment ip = tcl_h.Tcl_CreateInterp();
        if (ip.equals(MemorySegment.NULL)) {
            throw new IllegalStateException("Tcl_CreateInterp failed for context '" + info.name() + "'");
        }
        Interp i = new Interp(ip, tcl_h.Tcl_GetCurrentThread().address(), info);
        i.eval("namespace eval ferry {}", false);
        try (Arena a = Arena.ofConfined()) {
            tcl_h.Tcl_CreateObjCommand(ip, a.allocateFrom("ferry::scope"), SCOPE_COMMAND, MemorySegment.NULL,
                    MemorySegment.NULL);
        }
        return i;
    }

    /** Throws unless the calling thread is the one that created this interpreter. */
    void checkThread() {
        long now = tcl_h.Tcl_GetCurrentThread().address();
        if (now != thread) {
            throw new IllegalStateException("Tcl interpreter of context '" + contextName + "' used on thread "
                    + Thread.currentThread().getName() + " (Tcl thread 0x" + Long.toHexString(now)
                    + "); it belongs to Tcl thread 0x" + Long.toHexString(thread) + ", which created it");
        }
    }

    /** Evaluates a script at global level; on the engine thread, inside a task. */
    String eval(String script) {
        return eval(script, true);
    }

    private String eval(String script, boolean cancellable) {
        checkThread();
        byte[] b = script.getBytes(StandardCharsets.UTF_8);
        if (buffer.byteSize() < b.length) {
            buffer = arena.allocate(Math.max(b.length, buffer.byteSize() * 2));
        }
        MemorySegment.copy(b, 0, buffer, ValueLayout.JAVA_BYTE, 0, b.length);
        int rc;
        if (cancellable) {
            try (Task.CancelRegistration r = Task.onCancel(canceller)) {
                if (Task.isCancelled()) {
                    throw new CancellationException("the eval was given up before it started");
                }
                Runnable hook = beforeEval;
                if (hook != null) {
                    hook.run();
                }
                rc = tcl_h.Tcl_EvalEx(interp, buffer, b.length, TCL_EVAL_GLOBAL);
                Runnable after = afterEval;
                if (after != null) {
                    after.run();
                }
            } finally {
                // No cancel action runs once the registration is closed: whatever one left is cleared here.
                if (cancelRequested) {
                    resetCancellation();
                }
            }
        } else {
            rc = tcl_h.Tcl_EvalEx(interp, buffer, b.length, TCL_EVAL_GLOBAL);
        }
        if (rc == TCL_OK || rc == TCL_RETURN) {
            return tcl_h.Tcl_GetStringResult(interp).getString(0);
        }
        throw failure(rc);
    }

    /** Any thread: asks the running eval to unwind (thread-safe in Tcl). */
    private void cancelFromAnyThread() {
        cancelRequested = true;
        tcl_h.Tcl_CancelEval(interp, MemorySegment.NULL, MemorySegment.NULL, TCL_CANCEL_UNWIND);
    }

    /**
     * After a cancel: runs the async handler Tcl_CancelEval marked (it sets the cancel flags, and would
     * otherwise cancel the next eval), then clears the flags, so that later evals run (Tcl 8.6 fails every
     * top-level eval with "eval unwound" until TclResetCancellation).
     */
    private void resetCancellation() {
        cancelRequested = false;
        if (tcl_h.Tcl_AsyncReady() != 0) {
            tcl_h.Tcl_AsyncInvoke(interp, TCL_OK);
        }
        tcl_h.TclResetCancellation(interp, 1);
    }

    private TclException failure(int rc) {
        String result = tcl_h.Tcl_GetStringResult(interp).getString(0);
        String code = globalOrEmpty("errorCode");
        String info = globalOrEmpty("errorInfo");
        tcl_h.Tcl_ResetResult(interp);
        if (rc != TCL_ERROR && result.isEmpty()) {
            result = "invoked \"" + (rc == 3 ? "break" : rc == 4 ? "continue" : "return code " + rc)
                    + "\" outside of a loop";
        }
        return new TclException(rc, result, code, info);
    }

    private String globalOrEmpty(String name) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = tcl_h.Tcl_GetVar2(interp, a.allocateFrom(name), MemorySegment.NULL, TCL_GLOBAL_ONLY);
            return v.equals(MemorySegment.NULL) ? "" : v.getString(0);
        }
    }

    /** Sets a global variable. */
    void set(String name, String value) {
        checkThread();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment r = tcl_h.Tcl_SetVar2(interp, a.allocateFrom(name), MemorySegment.NULL, a.allocateFrom(value),
                    TCL_GLOBAL_ONLY | TCL_LEAVE_ERR_MSG);
            if (r.equals(MemorySegment.NULL)) {
                throw failure(TCL_ERROR);
            }
        }
    }

    /** A global variable's value, or null if it is not set. */
    String get(String name) {
        checkThread();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = tcl_h.Tcl_GetVar2(interp, a.allocateFrom(name), MemorySegment.NULL, TCL_GLOBAL_ONLY);
            return v.equals(MemorySegment.NULL) ? null : v.getString(0);
        }
    }

    /** On the engine thread, when the context closes. */
    void delete() {
        checkThread();
        tcl_h.Tcl_DeleteInterp(interp);
        arena.close();
    }

    // ---- ferry::scope name: a scope variable of the calling task's context ------------------------

    @SuppressWarnings("restricted")
    private static MemorySegment scopeCommandStub() {
        try {
            return Linker.nativeLinker().upcallStub(MethodHandles.lookup().findStatic(Interp.class, "scopeCommand",
                    MethodType.methodType(int.class, MemorySegment.class, MemorySegment.class, int.class,
                            MemorySegment.class)),
                    FunctionDescriptor.of(tcl_h.C_INT, tcl_h.C_POINTER, tcl_h.C_POINTER, tcl_h.C_INT, tcl_h.C_POINTER),
                    Arena.global());
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Tcl_ObjCmdProc of {@code ferry::scope}; never throws (an exception escaping an upcall ends the JVM). */
    @SuppressWarnings("restricted")
    private static int scopeCommand(MemorySegment clientData, MemorySegment interp, int objc, MemorySegment objv) {
        try {
            if (objc != 2) {
                return setResult(interp, "wrong # args: should be \"ferry::scope name\"", TCL_ERROR);
            }
            MemorySegment nameObj = objv.reinterpret(16).getAtIndex(ValueLayout.ADDRESS, 1);
            String name = tcl_h.Tcl_GetStringFromObj(nameObj, MemorySegment.NULL).getString(0);
            Object v = Task.variable(name);
            if (v == null) {
                return setResult(interp, "context '" + Task.context().name() + "' has no scope variable \"" + name
                        + "\"", TCL_ERROR);
            }
            String s = v instanceof byte[] bytes ? new String(bytes, StandardCharsets.UTF_8) : String.valueOf(v);
            return setResult(interp, s, TCL_OK);
        } catch (Throwable t) {
            try {
                return setResult(interp, "ferry::scope: " + t, TCL_ERROR);
            } catch (Throwable ignored) {
                return TCL_ERROR;
            }
        }
    }

    private static int setResult(MemorySegment interp, String s, int rc) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(Math.max(1, b.length));
            MemorySegment.copy(b, 0, m, ValueLayout.JAVA_BYTE, 0, b.length);
            tcl_h.Tcl_SetObjResult(interp, tcl_h.Tcl_NewStringObj(m, b.length)); // Tcl copies the bytes
        }
        return rc;
    }
}
