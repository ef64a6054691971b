package dev.scalebox.host;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** What /proc says of a process: how it was started; and the pid files of the processes we leave running. */
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

    /**
     * Whether process {@code pid} was started with {@code argv}, wherever its program was found
     * (argv[0] is the path the PATH gave, which may differ from the one in {@code argv}).
     */
    public static boolean startedWith(long pid, List<String> argv) {
        return arguments(pid).map(a -> a.subList(1, a.size())).equals(Optional.of(argv.subList(1, argv.size())));
    }

    /** The pid a pid file holds; empty when there is none or it holds no number. */
    public static Optional<Long> pidIn(Path pidFile) {
        try {
            return Optional.of(Long.parseLong(Files.readString(pidFile).strip()));
        } catch (IOException | NumberFormatException e) {
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
