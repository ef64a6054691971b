package dev.scalebox.host;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** What /proc says of a process: how it was started. */
public final class ProcessTable {

    private ProcessTable() {
    }

    /** The argument list process {@code pid} was started with; empty when it does not run. */
    public static Optional<List<String>> arguments(long pid) {
        try {
            byte[] raw = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"));
            return raw.length == 0 ? Optional.empty() : Optional.of(List.of(new String(raw, StandardCharsets.UTF_8).split("\0")));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** SIGKILL to {@code pid}, and waits a little for it to go. */
    public static void kill(long pid) {
        ProcessHandle.of(pid).ifPresent(p -> {
            p.destroyForcibly();
            try {
                p.onExit().get(5, java.util.concurrent.TimeUnit.SECONDS);
            } catch (Exception e) {
                // gone or a zombie of another parent: nothing more to do
            }
        });
    }
}
