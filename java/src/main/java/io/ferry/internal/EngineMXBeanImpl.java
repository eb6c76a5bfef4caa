package io.ferry.internal;

import io.ferry.EngineMXBean;
import io.ferry.EngineStats;
import java.lang.management.ManagementFactory;
import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.ObjectName;

/**
 * The MXBean of one engine. It holds the engine's counters only, never the {@code Engine} facade, so a
 * registered bean does not keep a forgotten engine from being cleaned.
 */
public final class EngineMXBeanImpl implements EngineMXBean {
    private final EngineCounters counters;
    private final EngineCore core;

    private EngineMXBeanImpl(EngineCore core) {
        this.core = core;
        this.counters = core.counters;
    }

    /** The name an engine's bean is registered under. */
    public static ObjectName objectName(String engineName) {
        String value = engineName.matches("[A-Za-z0-9._\\-]+") ? engineName : ObjectName.quote(engineName);
        try {
            return new ObjectName("io.ferry:type=Engine,name=" + value);
        } catch (JMException e) {
            throw new IllegalArgumentException("engine name '" + engineName + "' makes no JMX ObjectName", e);
        }
    }

    /**
     * Registers the engine's bean, and unregisters it once the engine stops.
     *
     * @throws IllegalStateException if a bean of that name is registered already (two engines of one name)
     */
    public static void register(EngineCore core) {
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        ObjectName name = objectName(core.name());
        try {
            server.registerMBean(new EngineMXBeanImpl(core), name);
        } catch (javax.management.InstanceAlreadyExistsException e) {
            throw new IllegalStateException("engine '" + core.name() + "': an MXBean " + name + " is registered "
                    + "already (another engine of this name with jmx(true)); give the engines distinct names", e);
        } catch (JMException e) {
            throw new IllegalStateException("engine '" + core.name() + "': cannot register its MXBean " + name, e);
        }
        core.counters.onStop(() -> {
            try {
                server.unregisterMBean(name);
            } catch (javax.management.InstanceNotFoundException gone) {
                // unregistered by someone else: nothing left to do
            } catch (JMException e) {
                EngineCore.LOG.log(System.Logger.Level.WARNING, "engine '" + core.name() + "': cannot unregister"
                        + " its MXBean " + name, e);
            }
        });
    }

    private EngineStats s() {
        return counters.snapshot();
    }

    @Override public String getName() { return counters.name(); }
    @Override public int getCapacity() { return counters.capacity(); }
    @Override public boolean isClosed() { return core.isClosed(); }
    @Override public long getSubmitted() { return s().submitted(); }
    @Override public long getCompleted() { return s().completed(); }
    @Override public long getRun() { return s().run(); }
    @Override public long getFailed() { return s().failed(); }
    @Override public long getSkipped() { return s().skipped(); }
    @Override public long getRejected() { return s().rejected(); }
    @Override public long getTimedOut() { return s().timedOut(); }
    @Override public long getCancelled() { return s().cancelled(); }
    @Override public long getInFlight() { return s().inFlight(); }
    @Override public long getQueued() { return s().queued(); }
    @Override public double getEngineBusyFraction() { return s().engineBusyFraction(); }
    @Override public long getEngineCpuNanos() { return s().engineCpuNanos(); }
    @Override public long getEngineWakeups() { return s().engineWakeups(); }
    @Override public long getCallerParks() { return s().callerParks(); }
    @Override public String getStats() { return s().toString(); }
}
