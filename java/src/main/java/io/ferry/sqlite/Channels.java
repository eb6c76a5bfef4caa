package io.ferry.sqlite;

import io.ferry.EngineClosedException;
import io.ferry.ExecutionContext;
import io.ferry.LongOp;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The channels a SQLite engine's callers write statements into and read results from: native buffers
 * the engine made ({@code sqlite.channel}) and knows by id, so a call ({@code sqlite.run}) passes two
 * numbers through the ring and nothing is allocated or copied on either side for it.
 *
 * <p>A caller takes a channel for the length of one call and gives it back; nobody else touches it
 * meanwhile. Free channels wait in stripes (one per 16-reference line, so threads do not share a line),
 * picked by the thread's id; a thread that finds its stripe and the next few empty takes one from the
 * overflow queue, or has the engine make a new one. There are never more channels than callers at once,
 * plus the ones resting in stripes.
 *
 * <p>Lifetime: the memory is bound to the arena of the {@link Sqlite} instance, which is closed (freeing
 * every channel) only once the engine thread has stopped, so the engine never writes into freed memory
 * and a late caller gets an exception rather than a wild write.
 */
final class Channels {
    /** Bytes per channel: statements and results up to this size travel through it (larger ones as arrays). */
    static final int BYTES = 16 * 1024;
    private static final int STRIPES = 64;
    private static final int SPACING = 16; // references per 64-byte line, with compressed oops
    private static final int PROBES = 4;

    /** One channel: its id on the engine and its memory. */
    static final class Channel {
        final int id;
        final MemorySegment memory;
        /** The id as sqlite.spill takes it: u32, little-endian. */
        final byte[] idBytes;
        /** Short texts of a result on their way into Strings (used by the channel's holder only). */
        final byte[] scratch = new byte[256];

        Channel(int id, MemorySegment memory) {
            this.id = id;
            this.memory = memory;
            this.idBytes = new byte[] {(byte) id, (byte) (id >>> 8), (byte) (id >>> 16), (byte) (id >>> 24)};
        }
    }

    private final ExecutionContext system;
    private final LongOp make;
    private final Arena arena;
    private final AtomicReferenceArray<Channel> stripes = new AtomicReferenceArray<>(STRIPES * SPACING);
    private final ConcurrentLinkedQueue<Channel> overflow = new ConcurrentLinkedQueue<>();

    Channels(ExecutionContext system, LongOp make, Arena arena) {
        this.system = system;
        this.make = make;
        this.arena = arena;
    }

    Channel acquire() {
        int home = home();
        for (int i = 0; i < PROBES; i++) {
            int at = ((home + i) & (STRIPES - 1)) * SPACING;
            Channel c = stripes.getPlain(at);
            if (c != null && stripes.compareAndSet(at, c, null)) {
                return c;
            }
        }
        Channel c = overflow.poll();
        return c != null ? c : make();
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
    private Channel make() {
        long address = make.call(system, BYTES);
        MemorySegment memory;
        try {
            memory = MemorySegment.ofAddress(address).reinterpret(BYTES, arena, SqliteLibrary::free);
        } catch (IllegalStateException closed) {
            // The arena closed meanwhile (the engine stopped right after making it): nothing reads it.
            SqliteLibrary.free(MemorySegment.ofAddress(address));
            throw new EngineClosedException("engine '" + system.engine().name() + "' is closed");
        }
        return new Channel(memory.get(ValueLayout.JAVA_INT_UNALIGNED, 0), memory);
    }
}
