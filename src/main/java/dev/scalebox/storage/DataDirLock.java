package dev.scalebox.storage;

import dev.scalebox.ScaleboxException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Who may write a data directory, by {@code flock} on files in it, which the kernel drops with the
 * process however it ends (a {@code kill -9} included), so no stale lock is ever left to clear:
 * <ul>
 *   <li>{@link #owner}: one {@code scalebox serve} at a time, for its whole life (and the storage
 *       commands that would move the data directory's disks, while no server runs). A second one
 *       fails at once, naming the holder's pid; it changes nothing.</li>
 *   <li>{@link #sweep} and {@link #builder}: the start-up sweep of a server removes what an
 *       interrupted write left (partial files, build directories). A template build or import
 *       holds the lock shared while it writes, so a server starting meanwhile waits for it rather
 *       than take its files for leftovers; builds otherwise run beside a running server.</li>
 * </ul>
 */
public final class DataDirLock implements AutoCloseable {

    private static final String OWNER = "serve.lock";
    private static final String SWEEP = "sweep.lock";

    private final FileChannel channel;
    private final FileLock lock;

    private DataDirLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /**
     * The data directory for {@code holder} (e.g. "scalebox serve") alone; a {@code Conflict}
     * naming the current holder and its pid when another process has it.
     */
    public static DataDirLock owner(DataLayout layout, String holder) {
        Path file = layout.root().resolve(OWNER);
        FileChannel channel = open(file);
        try {
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (java.nio.channels.OverlappingFileLockException inThisProcess) {
                lock = null;
            }
            if (lock == null) {
                String current = readHolder(channel);
                channel.close();
                throw new ScaleboxException.Conflict("the data directory " + layout.root() + " is in use by "
                        + (current.isEmpty() ? "another process" : current) + "; stop it first, or give this one"
                        + " another data directory (DATA_DIR)");
            }
            channel.truncate(0);
            channel.write(ByteBuffer.wrap((holder + " (pid " + ProcessHandle.current().pid() + ")\n")
                    .getBytes(StandardCharsets.UTF_8)), 0);
            channel.force(false);
            return new DataDirLock(channel, lock);
        } catch (IOException e) {
            closeQuietly(channel);
            throw new ScaleboxException.HostFailure("cannot lock " + file + ": " + e.getMessage(), e);
        }
    }

    /** Waits until no template build writes in the data directory, and keeps new ones out until closed. */
    public static DataDirLock sweep(DataLayout layout) {
        return take(layout.root().resolve(SWEEP), false);
    }

    /** Keeps a server's start-up sweep away while a template build or import writes; others may build beside. */
    public static DataDirLock builder(DataLayout layout) {
        return take(layout.root().resolve(SWEEP), true);
    }

    private static DataDirLock take(Path file, boolean shared) {
        FileChannel channel = open(file);
        try {
            return new DataDirLock(channel, channel.lock(0, Long.MAX_VALUE, shared));
        } catch (IOException e) {
            closeQuietly(channel);
            throw new ScaleboxException.HostFailure("cannot lock " + file + ": " + e.getMessage(), e);
        }
    }

    private static FileChannel open(Path file) {
        try {
            Files.createDirectories(file.getParent());
            return FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new ScaleboxException.HostFailure("cannot open " + file + ": " + e.getMessage(), e);
        }
    }

    private static String readHolder(FileChannel channel) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(256);
        channel.read(buffer, 0);
        return new String(buffer.array(), 0, buffer.position(), StandardCharsets.UTF_8).strip();
    }

    private static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing was locked
        }
    }

    @Override
    public void close() {
        try {
            lock.release();
        } catch (IOException ignored) {
            // the lock goes with the channel
        }
        closeQuietly(channel);
    }
}
