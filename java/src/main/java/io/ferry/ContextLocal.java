package io.ferry;

import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Per-context engine state in Java: one value per execution context of an engine, made on the engine
 * thread when the context opens (the systemic context's when the engine starts) and closed there when
 * the context closes (the engine's close closes them all, children first, the systemic one last). The
 * Java counterpart of {@code ferry_registry_on_context}: one interpreter or connection per context.
 *
 * <pre>{@code
 * ContextLocal<Interp> interp = ContextLocal.of(info -> Interp.create(), Interp::delete);
 * Engine engine = Engine.builder().contextLocal(interp).start();
 * engine.call(() -> interp.get().eval("expr 1+1"));   // the value of the task's context
 * }</pre>
 *
 * <p>A local belongs to one engine ({@link EngineBuilder#contextLocal}). If {@code open} throws, the
 * context still opens, and {@link #get()} in it throws that failure (as an {@link IllegalStateException}
 * with it as the cause).
 *
 * @param <T> the value's type
 */
public final class ContextLocal<T> {
    private final Function<? super ContextInfo, ? extends T> open;
    private final Consumer<? super T> close;
    private volatile Tasks owner;
    private int index;

    private ContextLocal(Function<? super ContextInfo, ? extends T> open, Consumer<? super T> close) {
        this.open = Objects.requireNonNull(open, "open");
        this.close = Objects.requireNonNull(close, "close");
    }

    /**
     * A context local.
     *
     * @param <T> the value's type
     * @param open makes a context's value, on the engine thread, when the context opens
     * @param close closes a value, on the engine thread, when its context closes
     * @return the local, to give to {@link EngineBuilder#contextLocal}
     */
    public static <T> ContextLocal<T> of(Function<? super ContextInfo, ? extends T> open, Consumer<? super T> close) {
        return new ContextLocal<>(open, close);
    }

    /**
     * The value of the running task's context.
     *
     * @return the value
     * @throws IllegalStateException outside a task of this local's engine, or if the value failed to open
     */
    public T get() {
        return get(Task.context());
    }

    /**
     * The value of a context, from a task of its engine.
     *
     * @param ctx a context of this local's engine
     * @return the value
     * @throws IllegalStateException off that engine's thread, or if the value failed to open
     */
    @SuppressWarnings("unchecked")
    public T get(ExecutionContext ctx) {
        Tasks t = owner;
        if (t == null || Tasks.CURRENT.get() != t) {
            throw new IllegalStateException("a context local is read on its engine's thread only, inside a task"
                    + (t == null ? " (this one was given to no engine builder)" : " of engine '" + t.engine().name() + "'"));
        }
        Object v = t.value(index, ctx);
        if (v instanceof Failed f) {
            throw new IllegalStateException("the context local of context '" + ctx.name() + "' failed to open", f.cause);
        }
        return (T) v;
    }

    void attach(Tasks tasks, int i) {
        if (owner != null) {
            throw new IllegalStateException("a context local belongs to one engine; this one is engine '"
                    + owner.engine().name() + "''s");
        }
        owner = tasks;
        index = i;
    }

    Object open(ContextInfo info) {
        return open.apply(info);
    }

    @SuppressWarnings("unchecked")
    void closeValue(Object v) {
        if (!(v instanceof Failed)) {
            close.accept((T) v);
        }
    }

    /** A value whose open threw. */
    record Failed(Throwable cause) {
    }
}
