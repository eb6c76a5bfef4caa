package io.ferry.tcl;

import io.ferry.CallFailedException;
import io.ferry.ContextLocal;
import io.ferry.Engine;
import io.ferry.EngineBuilder;
import io.ferry.ExecutionContext;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;

/**
 * Tcl 8.6 on an engine thread, written in Java only: Ferry's second engine, built from Java tasks
 * ({@link Engine#call}), a {@link ContextLocal} (one interpreter per execution context) and cancel
 * actions ({@link io.ferry.Task#onCancel}: {@code Tcl_CancelEval}), with bindings of {@code tcl.h} in
 * jextract's shape ({@link tcl_h}). No C of its own.
 *
 * <pre>{@code
 * try (Tcl tcl = Tcl.start()) {
 *     ExecutionContext sys = tcl.engine().systemContext();
 *     tcl.eval(sys, "set greeting hello");
 *     String two = tcl.eval(sys, "expr {1+1}");                     // "2"
 *     sys.set("limit", 5);                                           // a scope variable...
 *     String six = tcl.eval(sys, "expr {[ferry::scope limit] + 1}"); // ...read from Tcl: "6"
 *     tcl.eval(sys, "while 1 {}", Duration.ofMillis(50));           // TimeoutException: the loop is unwound
 * }
 * }</pre>
 *
 * <ul>
 *   <li>Every execution context of the engine has its own interpreter, made on the engine thread when
 *       the context opens and deleted there when it closes: contexts are isolated.
 *   <li>A script that fails throws a {@link TclException} with Tcl's result, {@code errorCode} and
 *       {@code errorInfo}.
 *   <li>A timeout, a cancelled {@link #evalAsync} future and {@link #close()} stop a running script through
 *       {@code Tcl_CancelEval(TCL_CANCEL_UNWIND)}, run on the thread that gives up; the interpreter is reset
 *       ({@code TclResetCancellation}) and usable afterwards.
 *   <li>{@code ferry::scope name} returns a scope variable of the eval's context
 *       ({@link ExecutionContext#set(String, long)} and the rest, frozen ones included).
 *   <li>A read-only context refuses {@link #eval} and {@link #set}: Tcl cannot tell a script that only
 *       reads from one that changes the interpreter, so every eval counts as mutating; {@link #get} works.
 * </ul>
 */
public final class Tcl implements AutoCloseable {
    private static final int FERRY_E_DENIED = -11;

    private final Engine engine;
    private final ContextLocal<Interp> interps;

    private Tcl(Engine engine, ContextLocal<Interp> interps) {
        this.engine = engine;
        this.interps = interps;
    }

    /**
     * Starts a Tcl engine named "tcl" with Ferry's defaults.
     *
     * @return the running engine
     * @throws UnsatisfiedLinkError if libtcl8.6.so cannot be loaded (the message says what to install)
     */
    public static Tcl start() {
        return start(Engine.builder().name("tcl"));
    }

    /**
     * Starts a Tcl engine from a builder of your own (name, wait policy, ...); the builder gets the
     * interpreters' context local and a stop hook ({@code Tcl_FinalizeThread}), so use it for one engine.
     *
     * @param builder the engine's builder
     * @return the running engine
     * @throws UnsatisfiedLinkError if libtcl8.6.so cannot be loaded (the message says what to install)
     */
    public static Tcl start(EngineBuilder builder) {
        Objects.requireNonNull(tcl_h.SYMBOL_LOOKUP); // fail here, with what to install, if Tcl is missing
        ContextLocal<Interp> interps = ContextLocal.of(Interp::create, Interp::delete);
        Engine engine = builder.contextLocal(interps).onStop(tcl_h::Tcl_FinalizeThread).start();
        return new Tcl(engine, interps);
    }

    /**
     * The engine the interpreters live on.
     *
     * @return the engine
     */
    public Engine engine() {
        return engine;
    }

    /**
     * Evaluates a script in the current context's interpreter ({@link Engine#context()}).
     *
     * @param script the script
     * @return the interpreter's result
     * @throws TclException if the script fails
     */
    public String eval(String script) {
        return eval(engine.context(), script);
    }

    /**
     * Evaluates a script in a context's interpreter, at global level.
     *
     * @param ctx the context
     * @param script the script
     * @return the interpreter's result
     * @throws TclException if the script fails
     * @throws CallFailedException with FERRY_E_DENIED in a read-only context
     */
    public String eval(ExecutionContext ctx, String script) {
        Objects.requireNonNull(script, "script");
        checkWritable(ctx, "eval");
        return ctx.call(() -> interps.get().eval(script));
    }

    /**
     * {@link #eval(ExecutionContext, String)} that gives up after {@code timeout}: a script that has not
     * started never runs; a running one is unwound ({@code Tcl_CancelEval}) and its interpreter reset.
     *
     * @param ctx the context
     * @param script the script
     * @param timeout how long to wait
     * @return the interpreter's result
     * @throws TimeoutException if the script did not finish in time
     */
    public String eval(ExecutionContext ctx, String script, Duration timeout) throws TimeoutException {
        Objects.requireNonNull(script, "script");
        checkWritable(ctx, "eval");
        return ctx.call(() -> interps.get().eval(script), timeout);
    }

    /**
     * Evaluates a script without waiting; cancelling the future unwinds a running script.
     *
     * @param ctx the context
     * @param script the script
     * @return the result's future
     */
    public CompletableFuture<String> evalAsync(ExecutionContext ctx, String script) {
        Objects.requireNonNull(script, "script");
        checkWritable(ctx, "eval");
        return ctx.callAsync(() -> interps.get().eval(script));
    }

    /**
     * Sets a global variable in a context's interpreter.
     *
     * @param ctx the context
     * @param name the variable
     * @param value its value
     */
    public void set(ExecutionContext ctx, String name, String value) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(value, "value");
        checkWritable(ctx, "set");
        ctx.run(() -> interps.get().set(name, value));
    }

    /**
     * A global variable of a context's interpreter.
     *
     * @param ctx the context
     * @param name the variable
     * @return its value, or null if it is not set
     */
    public String get(ExecutionContext ctx, String name) {
        Objects.requireNonNull(name, "name");
        return ctx.call(() -> interps.get().get(name));
    }

    private static void checkWritable(ExecutionContext ctx, String what) {
        if (ctx.isReadOnly()) {
            throw new CallFailedException("tcl." + what, FERRY_E_DENIED, "context '" + ctx.name() + "' is read-only, "
                    + "and Tcl cannot tell a script that only reads from one that changes the interpreter: "
                    + "every " + what + " counts as mutating");
        }
    }

    /** For tests: the interpreter of a context, which must be used on the engine thread only. */
    Interp interpForTest(ExecutionContext ctx) {
        return ctx.call(() -> interps.get());
    }

    /**
     * Closes the engine: a running script is unwound, every interpreter deleted on the engine thread,
     * {@code Tcl_FinalizeThread} run there, and the thread joined.
     */
    @Override
    public void close() {
        engine.close();
    }
}
