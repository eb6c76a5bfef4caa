package io.ferry.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import org.junit.jupiter.api.Test;

/**
 * The completion-cell pool's bookkeeping: a cell given back or retired is no call's in flight (close
 * waits, bounded, only for cells in flight: a cell an async call gave back while still marked in flight
 * made every close after an async call wait out its whole drain, 1 s), and a retired cell is lent again
 * only once the engine's DONE for its given-up call shows on it.
 */
class CellsTest {
    @Test
    void aCellGivenBackOrRetiredIsNotInFlight() {
        try (Arena arena = Arena.ofConfined()) {
            Cells cells = new Cells(arena);
            Cell a = cells.take();
            a.startRelease(7);
            assertTrue(cells.anyInFlight());
            cells.give(a);
            assertFalse(cells.anyInFlight(), "a cell given back still counts as in flight");
            Cell b = cells.take();
            b.startRelease(8);
            cells.retire(b, 8);
            assertFalse(cells.anyInFlight(), "a retired cell still counts as in flight");
        }
    }

    @Test
    void aRetiredCellIsLentAgainOnlyOnceItsCallIsDone() {
        try (Arena arena = Arena.ofConfined()) {
            Cells cells = new Cells(arena);
            Cell first = cells.take();
            assertEquals(0, first.id);
            first.startRelease(5);
            Ring.giveUpCellUnlessDone(first.line, 5);
            cells.retire(first, 5);
            for (int i = 0; i < 63; i++) {
                assertNotSame(first, cells.take(), "a retired cell was lent before its DONE");
            }
            // The engine's DONE(5) | GONE (ferry__finish_cell), as the arbiter of a jcstress test writes it.
            java.lang.invoke.VarHandle state = java.lang.foreign.ValueLayout.JAVA_LONG.varHandle();
            state.setVolatile(first.line, Layout.CELL_STATE, (5L << Layout.SEQ_SHIFT) | Layout.FLAG_GONE | Layout.PHASE_DONE);
            assertSame(first, cells.take(), "the chunk is used up: the DONE cell comes back from the limbo first");
        }
    }
}
