package dev.scalebox.cli;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Keeps two storage applies (or rollbacks) on this host from running at once; plan needs no lock. */
final class StorageLock implements AutoCloseable {

    private static final Path FILE = Path.of("/run/lock/scalebox-storage.lock");

    private final FileChannel channel;
    private final FileLock lock;

    private StorageLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    static StorageLock take() {
        try {
            Files.createDirectories(FILE.getParent());
            FileChannel channel = FileChannel.open(FILE, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock lock = channel.tryLock();
            if (lock == null) {
                channel.close();
                throw new CliException("another storage apply or rollback is running on this host; try again when it ends");
            }
            return new StorageLock(channel, lock);
        } catch (IOException e) {
            throw new CliException("cannot take the storage lock " + FILE + ": " + e.getMessage());
        }
    }

    @Override
    public void close() {
        try {
            lock.release();
            channel.close();
        } catch (IOException ignored) {
            // the lock goes with the process anyway
        }
    }
}
