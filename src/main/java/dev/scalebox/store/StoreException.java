package dev.scalebox.store;

import dev.scalebox.ScaleboxException;

/** The store could not be read or written; the message names the operation. */
public final class StoreException extends ScaleboxException.HostFailure {
    StoreException(String operation, Exception cause) {
        super("store: cannot " + operation + ": " + rootMessage(cause), cause);
    }

    /** The innermost message: Hikari and Flyway wrap the driver's, which says what went wrong. */
    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
    }
}
