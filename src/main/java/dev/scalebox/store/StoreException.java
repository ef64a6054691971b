package dev.scalebox.store;

import dev.scalebox.ScaleboxException;

import java.sql.SQLException;

/** The store could not be read or written; the message names the operation. */
public final class StoreException extends ScaleboxException.HostFailure {
    StoreException(String operation, SQLException cause) {
        super("store: cannot " + operation + ": " + cause.getMessage(), cause);
    }
}
