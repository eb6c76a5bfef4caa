package io.ferry.bench;

import com.lmax.disruptor.BlockingWaitStrategy;
import com.lmax.disruptor.BusySpinWaitStrategy;
import com.lmax.disruptor.EventHandler;
import com.lmax.disruptor.RingBuffer;
import com.lmax.disruptor.dsl.Disruptor;
import com.lmax.disruptor.dsl.ProducerType;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.jctools.queues.MpscArrayQueue;

/**
 * What a user would pick instead of Ferry to run work on one other thread, each written the way its
 * documentation shows: hand {@code x} over, get {@code x + 1} back, check it.
 */
final class Peers {
    private Peers() {
    }

    static final ThreadFactory DAEMON = Thread.ofPlatform().daemon().name("peer-", 0).factory();

    /** {@code Executors.newSingleThreadExecutor().submit(() -> x + 1).get()}. */
    static final class ExecutorSubmit extends CallPath {
        private final ExecutorService executor = Executors.newSingleThreadExecutor(DAEMON);
        private long x = 1;

        ExecutorSubmit(String name) {
            super(name, 40, 4);
        }

        @Override
        void run(int n) {
            try {
                for (int i = 0; i < n; i++, x++) {
                    long v = x;
                    Future<Long> f = executor.submit(() -> v + 1);
                    long r = f.get();
                    if (r != v + 1) {
                        throw wrong(name, v, r);
                    }
                }
            } catch (InterruptedException | ExecutionException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public void close() {
            executor.shutdownNow();
        }
    }

    /** {@code CompletableFuture.supplyAsync(() -> x + 1, singleThreadExecutor).join()}. */
    static final class SupplyAsync extends CallPath {
        private final ExecutorService executor = Executors.newSingleThreadExecutor(DAEMON);
        private long x = 1;

        SupplyAsync(String name) {
            super(name, 40, 4);
        }

        @Override
        void run(int n) {
            for (int i = 0; i < n; i++, x++) {
                long v = x;
                long r = CompletableFuture.supplyAsync(() -> v + 1, executor).join();
                if (r != v + 1) {
                    throw wrong(name, v, r);
                }
            }
        }

        @Override
        public void close() {
            executor.shutdownNow();
        }
    }

    /**
     * LMAX Disruptor 4, multi-producer ring of 1024 events (the same capacity as Ferry's default), one
     * handler that writes x + 1 into the caller's padded response cell. Busy spin: the handler thread
     * spins on the ring and the caller spins on its cell. Blocking: the handler waits on the ring's
     * lock and condition, and the caller parks until the handler unparks it.
     */
    static final class DisruptorPath extends CallPath {
        static final class Event {
            long x;
        }

        private static final VarHandle CELL = MethodHandles.arrayElementVarHandle(long[].class);
        private static final int RESPONSE = 16; // alone on its own 128-byte pair of lines
        private static final long PAUSE = Long.MIN_VALUE;

        private final boolean blocking;
        private final long[] cells = new long[48];
        private final Disruptor<Event> disruptor;
        private final RingBuffer<Event> ring;
        private volatile Thread caller;
        private volatile Thread handlerThread;
        private volatile boolean pauseRequested;
        private volatile boolean handlerParked;
        private long x = 1;

        DisruptorPath(String name, boolean blocking) {
            super(name, blocking ? 40 : 1000, blocking ? 4 : 200);
            this.blocking = blocking;
            disruptor = new Disruptor<>(Event::new, 1024, DAEMON, ProducerType.MULTI,
                    blocking ? new BlockingWaitStrategy() : new BusySpinWaitStrategy());
            EventHandler<Event> handler = (event, sequence, endOfBatch) -> onEvent(event.x);
            disruptor.handleEventsWith(handler);
            ring = disruptor.start();
        }

        private void onEvent(long v) {
            if (v == PAUSE) {
                // The benchmark asked this thread to stop spinning until the next burst.
                handlerThread = Thread.currentThread();
                handlerParked = true;
                while (pauseRequested) {
                    LockSupport.park(this);
                }
                handlerParked = false;
                return;
            }
            // Release: pairs with the caller's acquire load of its cell.
            CELL.setRelease(cells, RESPONSE, v + 1);
            if (blocking) {
                LockSupport.unpark(caller);
            }
        }

        @Override
        void run(int n) {
            caller = Thread.currentThread();
            RingBuffer<Event> r = ring;
            long x = this.x;
            for (int i = 0; i < n; i++, x++) {
                long seq = r.next();
                r.get(seq).x = x;
                r.publish(seq);
                // Values only grow, so the cell reads x + 1 only once this call's answer is in.
                long want = x + 1;
                if (blocking) {
                    while ((long) CELL.getAcquire(cells, RESPONSE) != want) {
                        LockSupport.park(this);
                    }
                } else {
                    while ((long) CELL.getAcquire(cells, RESPONSE) != want) {
                        Thread.onSpinWait();
                    }
                }
            }
            this.x = x;
        }

        @Override
        void quiesce() {
            if (blocking) {
                return; // the handler already waits on the ring's condition
            }
            pauseRequested = true;
            long seq = ring.next();
            ring.get(seq).x = PAUSE;
            ring.publish(seq);
            long deadline = System.nanoTime() + 1_000_000_000L;
            while (!handlerParked && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
        }

        @Override
        void resume() {
            if (pauseRequested) {
                pauseRequested = false;
                LockSupport.unpark(handlerThread);
            }
        }

        @Override
        public void close() {
            resume();
            try {
                disruptor.shutdown(5, TimeUnit.SECONDS);
            } catch (com.lmax.disruptor.TimeoutException e) {
                disruptor.halt();
            }
        }
    }

    /** A request with its response, padded to its own lines (JCTools-style padding by inheritance). */
    abstract static class RequestPad0 {
        long p00, p01, p02, p03, p04, p05, p06, p07;
    }

    abstract static class RequestFields extends RequestPad0 {
        long x;
        volatile long result;
    }

    static final class Request extends RequestFields {
        long p10, p11, p12, p13, p14, p15, p16, p17;
    }

    private static final VarHandle RESULT;

    static {
        try {
            RESULT = MethodHandles.lookup().findVarHandle(RequestFields.class, "result", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /**
     * JCTools {@code MpscArrayQueue<Request>} (capacity 1024) drained by one spinning consumer thread
     * that writes x + 1 into the request's response field; the caller spins on that field. One by one
     * (one reused request), or pipelined: {@link #DEPTH} requests offered, then wait for the last.
     */
    static final class Jctools extends CallPath {
        private final MpscArrayQueue<Request> queue = new MpscArrayQueue<>(1024);
        private final boolean pipelined;
        private final Request[] requests;
        private final Thread consumer;
        private volatile boolean paused;
        private volatile boolean stop;
        private long x = 1;

        Jctools(String name, boolean pipelined) {
            super(name, pipelined ? 4 * DEPTH : 1000, pipelined ? DEPTH : 200);
            this.pipelined = pipelined;
            requests = new Request[pipelined ? DEPTH : 1];
            for (int i = 0; i < requests.length; i++) {
                requests[i] = new Request();
            }
            consumer = DAEMON.newThread(this::consume);
            consumer.start();
        }

        private void consume() {
            MpscArrayQueue<Request> q = queue;
            for (;;) {
                Request r = q.relaxedPoll();
                if (r != null) {
                    // Release: pairs with the caller's acquire load of the response.
                    RESULT.setRelease(r, r.x + 1);
                    continue;
                }
                if (paused || stop) {
                    if (stop) {
                        return;
                    }
                    while (paused && !stop) {
                        LockSupport.park(this);
                    }
                    continue;
                }
                Thread.onSpinWait();
            }
        }

        @Override
        void run(int n) {
            if (pipelined) {
                for (int done = 0; done < n; done += DEPTH) {
                    for (int i = 0; i < DEPTH; i++) {
                        Request r = requests[i];
                        r.x = x + i;
                        while (!queue.offer(r)) {
                            Thread.onSpinWait();
                        }
                    }
                    Request last = requests[DEPTH - 1];
                    while ((long) RESULT.getAcquire(last) != last.x + 1) {
                        Thread.onSpinWait();
                    }
                    // FIFO, one consumer: every earlier response was written before the last one.
                    for (int i = 0; i < DEPTH; i++) {
                        long got = (long) RESULT.getAcquire(requests[i]);
                        if (got != x + i + 1) {
                            throw wrong(name, x + i, got);
                        }
                    }
                    x += DEPTH;
                }
                return;
            }
            Request r = requests[0];
            long x = this.x;
            for (int i = 0; i < n; i++, x++) {
                r.x = x;
                // offer's release store of the element publishes r.x to the consumer's acquire load.
                while (!queue.offer(r)) {
                    Thread.onSpinWait();
                }
                long want = x + 1;
                while ((long) RESULT.getAcquire(r) != want) {
                    Thread.onSpinWait();
                }
            }
            this.x = x;
        }

        @Override
        void quiesce() {
            paused = true;
            long deadline = System.nanoTime() + 1_000_000_000L;
            while (consumer.getState() != Thread.State.WAITING && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
        }

        @Override
        void resume() {
            if (paused) {
                paused = false;
                LockSupport.unpark(consumer);
            }
        }

        @Override
        public void close() {
            stop = true;
            LockSupport.unpark(consumer);
            try {
                consumer.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * The plain hand-off: the caller stores x, unparks the server thread and parks; the server, parked
     * until a request comes, stores x + 1 and unparks the caller. Both sides pay a wake-up every call.
     */
    static final class ParkUnpark extends CallPath {
        private volatile long request;
        private volatile long response;
        private volatile Thread caller;
        private volatile boolean stop;
        private final Thread server;
        private long x = 1;

        ParkUnpark(String name) {
            super(name, 40, 4, GAP_US * 1000L);
            server = DAEMON.newThread(this::serve);
            server.start();
        }

        private void serve() {
            for (;;) {
                long v;
                while ((v = request) == 0) {
                    if (stop) {
                        return;
                    }
                    LockSupport.park(this);
                }
                request = 0;
                response = v + 1;
                LockSupport.unpark(caller);
            }
        }

        @Override
        void run(int n) {
            caller = Thread.currentThread();
            long x = this.x;
            for (int i = 0; i < n; i++, x++) {
                request = x;
                LockSupport.unpark(server);
                long want = x + 1;
                while (response != want) {
                    LockSupport.park(this);
                }
            }
            this.x = x;
        }

        @Override
        public void close() {
            stop = true;
            LockSupport.unpark(server);
            try {
                server.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
