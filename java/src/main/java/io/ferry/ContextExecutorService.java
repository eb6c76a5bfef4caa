package io.ferry;

import java.util.List;
import java.util.Objects;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;

/** ExecutionContext's wrappers, and an executor service that wraps every task before its delegate runs it. */
final class ContextExecutorService extends AbstractExecutorService {
    private final ExecutorService delegate;
    private final Function<Runnable, Runnable> wrapper;

    /** A runnable that runs {@code task} under {@code ctx}. */
    static Runnable wrap(ExecutionContext ctx, Runnable task) {
        Objects.requireNonNull(task, "task");
        return () -> {
            try (ContextScope s = ctx.open()) {
                task.run();
            }
        };
    }

    /** A callable that runs {@code task} under {@code ctx}. */
    static <T> Callable<T> wrap(ExecutionContext ctx, Callable<T> task) {
        Objects.requireNonNull(task, "task");
        return () -> {
            try (ContextScope s = ctx.open()) {
                return task.call();
            }
        };
    }

    /** A supplier that runs {@code task} under {@code ctx}. */
    static <T> Supplier<T> wrapSupplier(ExecutionContext ctx, Supplier<T> task) {
        Objects.requireNonNull(task, "task");
        return () -> {
            try (ContextScope s = ctx.open()) {
                return task.get();
            }
        };
    }

    /** A function that runs {@code f} under {@code ctx}. */
    static <T, R> Function<T, R> wrap(ExecutionContext ctx, Function<T, R> f) {
        Objects.requireNonNull(f, "f");
        return t -> {
            try (ContextScope s = ctx.open()) {
                return f.apply(t);
            }
        };
    }

    ContextExecutorService(ExecutorService delegate, Function<Runnable, Runnable> wrapper) {
        this.delegate = delegate;
        this.wrapper = wrapper;
    }

    @Override
    public void execute(Runnable command) {
        delegate.execute(wrapper.apply(Objects.requireNonNull(command, "command")));
    }

    @Override
    public void shutdown() {
        delegate.shutdown();
    }

    @Override
    public List<Runnable> shutdownNow() {
        return delegate.shutdownNow();
    }

    @Override
    public boolean isShutdown() {
        return delegate.isShutdown();
    }

    @Override
    public boolean isTerminated() {
        return delegate.isTerminated();
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
        return delegate.awaitTermination(timeout, unit);
    }
}
