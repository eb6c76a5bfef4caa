package io.ferry.internal;

import io.ferry.EngineClosedException;
import io.ferry.ExecutionContext;
import io.ferry.LongOp;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The channels of one engine's downcalls: native buffers the engine made ({@code ferry.ffi_channel}) and
 * knows by id, into which a caller writes a call's arguments, so that {@code ferry.ffi_call} passes two
 * numbers through the ring and nothing is allocated on either side (io.ferry.sqlite's channels work the
 * same way).
 *
 * <p>A sync caller uses its thread's own channel ({@link #mine}): one thread-local lookup per call, no
 * atomic operation. The thread keeps it until it dies; then a Cleaner gives it back to the pool (the
 * thread's holder, not the channel, is what becomes unreachable). An async call, which may overlap its
 * thread's next call, takes a channel from the pool for the length of the call and gives it back once
 * the call is done. Free channels wait in stripes (one per 16-reference line) picked by the thread's id,
 * then in an overflow queue; there are never more channels than live callers, plus the resting ones. A
 * channel whose call ended unexpectedly (interrupted, or given up by close, while the engine may still
 * read it) is retired: never used or given back again, so the engine never reads arguments written for a
 * later call.
 *
 * <p>Lifetime: the engine never frees a channel (ferry.h). The memory belongs to an automatic arena held
 * by this object, which lives as long as the engine's core does (see {@link Downcalls#channels}) or any
 * handle that uses it, so it is freed only once no engine thread can read it and no caller can write it.
 */
final class DowncallChannels {
    /** Bytes per channel (FERRY_FFI_CHANNEL_BYTES) and the offset of argument 0 (FERRY_FFI_CHANNEL_ARGS). */
    static final int BYTES = 8 + 8 * Downcalls.MAX_ARGS;
    static final int ARGS = 8;
    private static final int STRIPES = 64;
    private static final int SPACING = 16; // references per 64-byte line, with compressed oops
    private static final int PROBES = 4;

    /** One channel: its id on the engine and its memory. */
    static final class Channel {
        final int id;
        final MemorySegment memory;
        /**
         * Set by the channel's caller when its call ended unexpectedly. Read by the Cleaner once the
         * caller's thread is gone (after the GC found its holder unreachable, which orders the read after
         * the thread's last write in practice; a stale false would hand back a channel whose call was given
         * up while it might run, so the write is a release and the read an acquire).
         */
        private volatile boolean retired;

        Channel(int id, MemorySegment memory) {
            this.id = id;
            this.memory = memory;
        }
    }

    private static final java.lang.ref.Cleaner CLEANER = java.lang.ref.Cleaner.create(
            Thread.ofPlatform().daemon().name("ferry-downcall-cleaner").factory());

    /** A thread's own channel; a Cleaner gives the channel back to the pool once the thread is gone. */
    private static final class Mine {
        final Channel channel;

        Mine(Channel channel) {
            this.channel = channel;
        }
    }

    /** The Cleaner's action: holds the pool and the channel, never the holder. */
    private record GiveBack(DowncallChannels pool, Channel channel) implements Runnable {
        @Override
        public void run() {
            if (!channel.retired) {
                pool.release(channel);
            }
        }
    }

    private final ThreadLocal<Mine> mine = new ThreadLocal<>();
    private final Arena arena = Arena.ofAuto();
    private final AtomicReferenceArray<Channel> stripes = new AtomicReferenceArray<>(STRIPES * SPACING);
    private final ConcurrentLinkedQueue<Channel> overflow = new ConcurrentLinkedQueue<>();

    /** The calling thread's own channel, for a sync call; made (once per thread) if it has none. */
    Channel mine(LongOp make, ExecutionContext system) {
        Mine m = mine.get();
        if (m != null) {
            return m.channel;
        }
        Channel c = acquire(make, system);
        m = new Mine(c);
        CLEANER.register(m, new GiveBack(this, c));
        mine.set(m);
        return c;
    }

    /** The calling thread's channel's call ended unexpectedly: retire it; the next call gets another. */
    void retireMine(Channel c) {
        c.retired = true;
        Mine m = mine.get();
        if (m != null && m.channel == c) {
            mine.remove();
        }
    }

    Channel acquire(LongOp make, ExecutionContext system) {
        int home = home();
        for (int i = 0; i < PROBES; i++) {
            int at = ((home + i) & (STRIPES - 1)) * SPACING;
            Channel c = stripes.getPlain(at);
            if (c != null && stripes.compareAndSet(at, c, null)) {
                return c;
            }
        }
        Channel c = overflow.poll();
        return c != null ? c : make(make, system);
    }

    void release(Channel c) {
        int home = home();
        for (int i = 0; i < PROBES; i++) {
            int at = ((home + i) & (STRIPES - 1)) * SPACING;
            if (stripes.getPlain(at) == null && stripes.compareAndSet(at, null, c)) {
                return;
            }
        }
        overflow.add(c);
    }

    private static int home() {
        long id = Thread.currentThread().threadId();
        return (int) (id ^ (id >>> 16));
    }

    @SuppressWarnings("restricted")
    private Channel make(LongOp make, ExecutionContext system) {
        long address = make.call(system, Downcalls.key(), 0);
        if (address == 0) {
            throw new EngineClosedException("engine '" + system.engine().name() + "' made no downcall channel");
        }
        MemorySegment memory = MemorySegment.ofAddress(address).reinterpret(BYTES, arena, FerryNative::ferry_free);
        return new Channel(memory.get(ValueLayout.JAVA_INT, 0), memory);
    }
}
