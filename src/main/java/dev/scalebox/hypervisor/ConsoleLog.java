package dev.scalebox.hypervisor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * A VM's serial console in {@code run/{id}/serial.log}, kept to a bounded size. QEMU opens the
 * file with O_APPEND, so it can be cut from outside while the VM runs: when it passes
 * {@link #LIMIT} its last {@link #KEEP} bytes go to {@code serial.log.1} and the file is emptied,
 * and QEMU's next write lands at its new end. Output written between the copy and the cut (a few
 * bytes at most) is lost; nothing else is.
 */
public final class ConsoleLog {

    static final String FILE = "serial.log";
    static final String OLDER = "serial.log.1";
    public static final long LIMIT = 1 << 20;
    static final int KEEP = 256 * 1024;

    private ConsoleLog() {
    }

    /** Cuts the log of the VM whose run directory is {@code runDir} when it is over the limit. */
    public static void trim(Path runDir) {
        Path log = runDir.resolve(FILE);
        try (FileChannel ch = FileChannel.open(log, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long size = ch.size();
            if (size <= LIMIT) {
                return;
            }
            ByteBuffer tail = ByteBuffer.allocate(KEEP);
            ch.read(tail, size - KEEP);
            Path partial = runDir.resolve(OLDER + ".partial");
            Files.write(partial, java.util.Arrays.copyOf(tail.array(), tail.position()));
            Files.move(partial, runDir.resolve(OLDER), StandardCopyOption.ATOMIC_MOVE);
            ch.truncate(0);
        } catch (java.nio.file.NoSuchFileException e) {
            // no console yet
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The last {@code maxBytes} of the console, across the cut. */
    public static String tail(Path runDir, int maxBytes) {
        byte[] current = lastBytes(runDir.resolve(FILE), maxBytes);
        byte[] older = lastBytes(runDir.resolve(OLDER), maxBytes - current.length);
        byte[] all = new byte[older.length + current.length];
        System.arraycopy(older, 0, all, 0, older.length);
        System.arraycopy(current, 0, all, older.length, current.length);
        return new String(all, StandardCharsets.UTF_8);
    }

    /** What the console got since it was {@code offset} bytes long (all of it after a cut), at most 64 KiB. */
    public static String since(Path runDir, long offset) {
        byte[] got = bytes(runDir.resolve(FILE), size -> size < offset ? 0 : Math.max(offset, size - 64 * 1024));
        return new String(got, StandardCharsets.UTF_8);
    }

    private static byte[] lastBytes(Path file, int maxBytes) {
        return maxBytes <= 0 ? new byte[0] : bytes(file, size -> Math.max(0, size - maxBytes));
    }

    /** The bytes of {@code file} from the offset {@code from} picks for its size, to its end; none when it is missing. */
    private static byte[] bytes(Path file, java.util.function.LongUnaryOperator from) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            long start = from.applyAsLong(size);
            ByteBuffer buffer = ByteBuffer.allocate((int) (size - start));
            while (buffer.hasRemaining() && ch.read(buffer, start + buffer.position()) > 0) {
                // read until full
            }
            return java.util.Arrays.copyOf(buffer.array(), buffer.position());
        } catch (java.nio.file.NoSuchFileException e) {
            return new byte[0];
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
