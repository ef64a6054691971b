package dev.scalebox.host;

import dev.scalebox.ScaleboxException;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * Runs external programs the one way Scalebox allows: an argument list (never a shell string), a
 * timeout after which the process is killed, and stdout and stderr captured so a failure can say
 * why. Output beyond {@link #CAPTURE_LIMIT} bytes per stream is read and dropped, so a chatty
 * program can neither block on a full pipe nor fill the heap.
 */
public final class ProgramRunner {

    static final int CAPTURE_LIMIT = 1 << 20;
    private static final ProcessBuilder.Redirect NO_INPUT = ProcessBuilder.Redirect.from(new File("/dev/null"));

    /** Runs the program and returns its result whatever its exit code. */
    public ProgramResult run(List<String> argv, Duration timeout) {
        return run(argv, timeout, null, null);
    }

    /** Runs the program and fails with its stderr when it exits non-zero. */
    public ProgramResult check(List<String> argv, Duration timeout) {
        return check(argv, timeout, null, null);
    }

    public ProgramResult check(List<String> argv, Duration timeout, byte[] stdin, Consumer<String> outputLines) {
        ProgramResult result = run(argv, timeout, stdin, outputLines);
        if (!result.succeeded()) {
            throw new ScaleboxException.HostFailure(result.describeFailure());
        }
        return result;
    }

    /**
     * Runs the program, feeding {@code stdin} when given and passing every line of its output
     * (stdout and stderr) to {@code outputLines} when given.
     */
    public ProgramResult run(List<String> argv, Duration timeout, byte[] stdin, Consumer<String> outputLines) {
        Process process = start(argv, builder(argv, stdin != null));
        Consumer<String> lines = outputLines == null ? null : serialized(outputLines);
        Capture out = Capture.start(process.getInputStream(), lines);
        Capture err = Capture.start(process.getErrorStream(), lines);
        try {
            if (stdin != null) {
                try (OutputStream in = process.getOutputStream()) {
                    in.write(stdin);
                } catch (IOException ignored) {
                    // The program exited without reading all of its input; its exit code tells.
                }
            }
            awaitExit(process, argv, timeout);
            return new ProgramResult(List.copyOf(argv), process.exitValue(), out.text(), err.text());
        } catch (InterruptedException e) {
            throw interrupted(process, argv, e);
        }
    }

    /**
     * Runs the program with {@code stdin} as its input and its output written to {@code stdout}
     * (either may be null: no input, output captured), its stderr captured, and fails with that
     * stderr when it exits non-zero or when either stream breaks (the program is killed then).
     * For streams too large to hold, such as {@code btrfs send} to another host.
     */
    public ProgramResult pipe(List<String> argv, Duration timeout, InputStream stdin, OutputStream stdout) {
        Process process = start(argv, builder(argv, stdin != null));
        AtomicReference<IOException> broken = new AtomicReference<>();
        Thread feed = stdin == null ? null
                : Thread.ofVirtual().start(() -> copy(stdin, process.getOutputStream(), process, broken));
        Thread drain = stdout == null ? null
                : Thread.ofVirtual().start(() -> copy(process.getInputStream(), stdout, process, broken));
        Capture out = stdout == null ? Capture.start(process.getInputStream(), null) : null;
        Capture err = Capture.start(process.getErrorStream(), null);
        try {
            awaitExit(process, argv, timeout);
            if (drain != null) {
                drain.join();
            }
            if (feed != null) {
                feed.join(Duration.ofSeconds(10));
            }
            ProgramResult result = new ProgramResult(List.copyOf(argv), process.exitValue(), out == null ? "" : out.text(),
                    err.text());
            if (broken.get() != null) {
                throw new ScaleboxException.HostFailure(argv.getFirst() + ": the stream broke: " + broken.get().getMessage()
                        + (result.stderr().isBlank() ? "" : " (" + result.describeFailure() + ")"), broken.get());
            }
            if (!result.succeeded()) {
                throw new ScaleboxException.HostFailure(result.describeFailure());
            }
            return result;
        } catch (InterruptedException e) {
            throw interrupted(process, argv, e);
        }
    }

    /** The program of {@code argv} found on the host, in the C locale; its input from /dev/null unless {@code withInput}. */
    private static ProcessBuilder builder(List<String> argv, boolean withInput) {
        List<String> command = new ArrayList<>(argv);
        command.set(0, HostPrograms.require(argv.getFirst()).toString());
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().put("LC_ALL", "C");
        if (!withInput) {
            builder.redirectInput(NO_INPUT);
        }
        return builder;
    }

    private static Process start(List<String> argv, ProcessBuilder builder) {
        try {
            return builder.start();
        } catch (IOException e) {
            throw new ScaleboxException.HostFailure("cannot start " + argv.getFirst() + ": " + e.getMessage(), e);
        }
    }

    /** Waits for the process to exit; past {@code timeout} it is killed with what it started, and that is an error. */
    private static void awaitExit(Process process, List<String> argv, Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            process.waitFor();
            throw new ScaleboxException.HostFailure(argv.getFirst() + " did not finish within "
                    + timeout.toSeconds() + " s and was killed");
        }
    }

    private static ScaleboxException.HostFailure interrupted(Process process, List<String> argv, InterruptedException e) {
        process.destroyForcibly();
        Thread.currentThread().interrupt();
        return new ScaleboxException.HostFailure(argv.getFirst() + " was interrupted", e);
    }

    /** Copies {@code from} into {@code to} and closes {@code to}; a break kills {@code process}, so neither side waits on it. */
    private static void copy(InputStream from, OutputStream to, Process process,
                             AtomicReference<IOException> broken) {
        try (to) {
            from.transferTo(to);
        } catch (IOException e) {
            if (process.isAlive() || to != process.getOutputStream()) {
                broken.compareAndSet(null, e);
            }
            process.destroyForcibly();
        }
    }

    /**
     * Starts a program that runs on after this call, and after the service: no input, its output
     * appended to {@code log}. Returns the running process.
     */
    public Process spawn(List<String> argv, Path log) {
        return start(argv, builder(argv, false).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectErrorStream(true));
    }

    private static Consumer<String> serialized(Consumer<String> consumer) {
        Object lock = new Object();
        return line -> {
            synchronized (lock) {
                consumer.accept(line);
            }
        };
    }

    /** Drains one output stream on a virtual thread, keeping the first {@link #CAPTURE_LIMIT} bytes. */
    private static final class Capture {
        private final ByteArrayOutputStream kept = new ByteArrayOutputStream();
        private final Thread thread;

        private Capture(InputStream stream, Consumer<String> lines) {
            thread = Thread.ofVirtual().start(() -> drain(stream, lines));
        }

        static Capture start(InputStream stream, Consumer<String> lines) {
            return new Capture(stream, lines);
        }

        private void drain(InputStream stream, Consumer<String> lines) {
            byte[] buffer = new byte[8192];
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            try (stream) {
                int n;
                while ((n = stream.read(buffer)) > 0) {
                    synchronized (kept) {
                        int room = CAPTURE_LIMIT - kept.size();
                        kept.write(buffer, 0, Math.max(0, Math.min(room, n)));
                    }
                    if (lines != null) {
                        for (int i = 0; i < n; i++) {
                            if (buffer[i] == '\n' || buffer[i] == '\r') {
                                if (line.size() > 0) {
                                    lines.accept(line.toString(StandardCharsets.UTF_8));
                                    line.reset();
                                }
                            } else if (line.size() < 4096) {
                                line.write(buffer[i]);
                            }
                        }
                    }
                }
                if (lines != null && line.size() > 0) {
                    lines.accept(line.toString(StandardCharsets.UTF_8));
                }
            } catch (IOException ignored) {
                // The stream closes when the process is killed.
            }
        }

        String text() throws InterruptedException {
            thread.join();
            synchronized (kept) {
                return kept.toString(StandardCharsets.UTF_8);
            }
        }
    }
}
