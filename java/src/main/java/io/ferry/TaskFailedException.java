package io.ferry;

/**
 * A task ({@link Engine#call}) threw a checked exception, which is the cause. Unchecked exceptions and
 * errors a task throws reach its caller as they are.
 */
public class TaskFailedException extends FerryException {
    private static final long serialVersionUID = 1L;

    /**
     * A task's checked failure.
     *
     * @param cause what the task threw
     */
    public TaskFailedException(Throwable cause) {
        super("the task failed: " + cause, cause);
    }
}
