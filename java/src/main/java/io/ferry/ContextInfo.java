package io.ferry;

/**
 * A context as its {@link ContextLocal}s see it when it opens, on the engine thread.
 *
 * @param id the context's id ({@link ExecutionContext#id()})
 * @param parentId its parent's id, 0 for the systemic context
 * @param name its name
 * @param readOnly whether it refuses mutating work
 */
public record ContextInfo(long id, long parentId, String name, boolean readOnly) {
    /**
     * Whether this is the engine's systemic context.
     *
     * @return true for the systemic context
     */
    public boolean systemic() {
        return parentId == 0;
    }
}
