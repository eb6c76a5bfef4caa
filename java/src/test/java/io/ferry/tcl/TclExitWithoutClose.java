package io.ferry.tcl;

import static io.ferry.child.ChildJvm.mark;

import io.ferry.Engine;

/** A child JVM's main: starts Tcl, evaluates, returns from main without closing; the JVM must still exit. */
public final class TclExitWithoutClose {
    static Tcl tcl; // strongly reachable: only the shutdown hook closes it

    public static void main(String[] args) {
        tcl = Tcl.start(Engine.builder().name("tcl-exit").onStop(() -> mark("stop hook ran")));
        mark("started");
        tcl.evalAsync(tcl.engine().systemContext(), "set x 1"); // one more in flight, never joined
        mark("evaluated " + tcl.eval(tcl.engine().systemContext(), "expr {1+1}"));
        mark("main returns");
    }
}
