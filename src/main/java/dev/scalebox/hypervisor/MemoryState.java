package dev.scalebox.hypervisor;

import dev.scalebox.ScaleboxException;
import dev.scalebox.host.FaultPoint;
import tools.jackson.databind.JsonNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A guest's memory and device state saved to a file and loaded back, through QEMU's migration
 * over a Unix socket in the VM's run directory: Scalebox listens and writes what QEMU sends
 * (saving), or connects and sends the file to a QEMU started with {@code -incoming defer}
 * (loading). No shell is involved (QEMU 7.2 has no {@code file:} migration, and {@code exec:}
 * would run one). The file is written beside its final name and renamed once whole.
 *
 * <p>A guest whose memory is a file QEMU maps shared saves only its devices: QEMU's
 * {@code x-ignore-shared} capability leaves out memory that is a shared file, and loading such a
 * state takes the same capability, with the memory mapped from (a copy of) that file.
 */
final class MemoryState {

    private static final String SOCKET = "migrate.sock";
    private static final Duration TIMEOUT = Duration.ofMinutes(10);

    private MemoryState() {
    }

    /**
     * Pauses the guest and writes its state to {@code target}, through a partial file beside it;
     * the guest stays paused. The migration socket is in {@code runDir}, handed to QEMU's user by
     * {@code lend} before QEMU is asked to connect.
     */
    static Path save(Instance instance, Path runDir, Path target, Consumer<Path> lend, boolean devicesOnly) {
        Path socket = runDir.resolve(SOCKET);
        Path partial = target.resolveSibling("." + target.getFileName() + ".partial");
        CompletableFuture<Long> copied = new CompletableFuture<>();
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            Files.deleteIfExists(socket);
            server.bind(UnixDomainSocketAddress.of(socket));
            lend.accept(socket);
            Thread.ofVirtual().start(() -> {
                try {
                    copied.complete(receive(server, partial));
                } catch (RuntimeException e) {
                    copied.completeExceptionally(e);
                }
            });
            instance.pause();
            leaveOutSharedMemory(instance, devicesOnly);
            instance.qmp().execute("migrate", Map.of("uri", "unix:" + socket), Duration.ofSeconds(10));
            awaitMigration(instance);
            copied.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            try (FileChannel f = FileChannel.open(partial, StandardOpenOption.WRITE)) {
                f.force(true);
            }
            Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE);
            try (FileChannel dir = FileChannel.open(target.getParent(), StandardOpenOption.READ)) {
                dir.force(true);  // the rename itself is on disk: after a power loss the state is whole or absent
            }
            return target;
        } catch (Exception e) {
            deleteQuietly(partial);
            // When the writing failed, QEMU only saw its peer go away: the writer's error says why.
            Optional<Throwable> writing = writerFailure(copied);
            if (noSpace(e) || writing.filter(MemoryState::noSpace).isPresent()) {
                throw new ScaleboxException.InsufficientStorage("Insufficient storage: the memory of " + instance.vmId()
                        + " does not fit in " + target.getParent() + " (no space left on the device)");
            }
            throw new ScaleboxException.HostFailure("saving the memory of " + instance.vmId() + " failed: "
                    + e.getMessage() + writing.map(w -> " (writing it: " + w.getMessage() + ")").orElse(""), e);
        } finally {
            deleteQuietly(socket);
        }
    }

    /**
     * Loads {@code state} into a QEMU started with {@code -incoming defer}; the guest is left
     * paused. {@code devicesOnly}: a state saved without the memory, which QEMU maps from a file.
     */
    static void load(Instance instance, Path runDir, Path state, boolean devicesOnly) {
        Path socket = runDir.resolve(SOCKET);
        try {
            Files.deleteIfExists(socket);
            leaveOutSharedMemory(instance, devicesOnly);
            instance.qmp().execute("migrate-incoming", Map.of("uri", "unix:" + socket), Duration.ofSeconds(10));
            try (SocketChannel out = connect(socket); FileChannel in = FileChannel.open(state, StandardOpenOption.READ)) {
                long size = in.size();
                for (long sent = 0; sent < size; ) {
                    sent += in.transferTo(sent, size - sent, out);
                }
            }
            awaitMigration(instance);
        } catch (IOException | RuntimeException e) {
            throw new ScaleboxException.HostFailure("loading the memory of " + instance.vmId() + " failed: "
                    + e.getMessage(), e);
        } finally {
            deleteQuietly(socket);
        }
    }

    /**
     * Set either way, every time: a capability stays set in its QEMU, and a guest loaded with it
     * (its memory mapped from a file) and saved later must be saved whole, without it.
     */
    private static void leaveOutSharedMemory(Instance instance, boolean on) {
        instance.qmp().execute("migrate-set-capabilities", Map.of("capabilities",
                List.of(Map.of("capability", "x-ignore-shared", "state", on))), Duration.ofSeconds(10));
    }

    private static boolean noSpace(Throwable t) {
        return String.valueOf(t.getMessage()).contains("No space left on device");
    }

    /** Why the writing of the state failed, if it did: waits a moment for the writer to finish. */
    private static Optional<Throwable> writerFailure(CompletableFuture<Long> copied) {
        try {
            copied.get(5, TimeUnit.SECONDS);
            return Optional.empty();
        } catch (ExecutionException e) {
            return Optional.of(e.getCause() instanceof UncheckedIOException u ? u.getCause() : e.getCause());
        } catch (Exception e) {
            return Optional.empty();
        }
    }

    private static long receive(ServerSocketChannel server, Path partial) {
        try (SocketChannel in = server.accept();
             FileChannel out = FileChannel.open(partial, Set.of(StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                     StandardOpenOption.WRITE), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
            long total = 0;
            for (long n; (n = out.transferFrom(in, total, 1 << 24)) > 0; ) {
                total += n;
                FaultPoint.reach("suspend.saving");
            }
            return total;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static SocketChannel connect(Path socket) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            try {
                SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
                ch.connect(UnixDomainSocketAddress.of(socket));
                return ch;
            } catch (IOException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Sleep.millis(20, "");
            }
        }
    }

    /** Waits until the migration (either way) is completed; fails on failed or cancelled. */
    private static void awaitMigration(Instance instance) {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            JsonNode info = instance.qmp().execute("query-migrate", Map.of(), Duration.ofSeconds(10));
            String status = info.path("status").asString("");
            switch (status) {
                case "completed" -> {
                    return;
                }
                case "failed", "cancelled" -> throw new ScaleboxException.HostFailure("migration " + status + ": "
                        + info.path("error-desc").asString(""));
                default -> Sleep.millis(50, "");
            }
        }
        throw new ScaleboxException.HostFailure("migration did not complete within " + TIMEOUT.toMinutes() + " minutes");
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // a leftover socket or partial file is replaced next time
        }
    }
}
