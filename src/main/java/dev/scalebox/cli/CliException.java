package dev.scalebox.cli;

import dev.scalebox.ScaleboxException;

/** A command failed in a way its message fully explains. */
final class CliException extends ScaleboxException.BadRequest {
    CliException(String message) {
        super(message);
    }
}
