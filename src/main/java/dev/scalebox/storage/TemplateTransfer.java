package dev.scalebox.storage;

import dev.scalebox.ScaleboxException;
import dev.scalebox.host.Filesystems;
import dev.scalebox.host.ProgramRunner;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.stream.Stream;

import static dev.scalebox.storage.Subvolumes.STEP;
import static dev.scalebox.storage.Subvolumes.STREAM;

/**
 * A template's image sent to another host, and received from one. Between two btrfs pools it
 * travels as a {@code btrfs send} stream of a read-only subvolume that holds only a reflink of the
 * image: the stream carries the image's extents, not its holes, and the receiver reflinks the file
 * out. Otherwise (either pool not btrfs) it is the image's bytes, written sparse on arrival.
 * Either way the copy lands under a hidden partial name and takes the template's name only once it
 * is whole, of the size the store records, and an ext4 image that e2fsck passes.
 * <p>
 * The subvolumes used on the way are hidden ({@code .send-…}, {@code .receive-…}) in
 * {@code templates/}, removed when the transfer ends, and by {@link #removeLeftovers} after a crash.
 */
public final class TemplateTransfer {

    /** How a template travels: the media type names it on the wire. */
    public enum Format {
        BTRFS("application/x-btrfs-send"), PLAIN("application/octet-stream");

        private final String mediaType;

        Format(String mediaType) {
            this.mediaType = mediaType;
        }

        public String mediaType() {
            return mediaType;
        }

        public static Format of(String mediaType) {
            return mediaType != null && mediaType.startsWith(BTRFS.mediaType) ? BTRFS : PLAIN;
        }
    }

    private static final int BLOCK = 64 * 1024;
    private static final Logger log = LoggerFactory.getLogger(TemplateTransfer.class);

    private final StorageService storage;
    private final ProgramRunner runner;
    private final Filesystems filesystems;
    private final Subvolumes subvolumes;

    TemplateTransfer(StorageService storage, ProgramRunner runner, Filesystems filesystems) {
        this.storage = storage;
        this.runner = runner;
        this.subvolumes = new Subvolumes(runner);
        this.filesystems = filesystems;
    }

    /** The format this host takes templates in: {@code btrfs send} streams when its templates live on btrfs. */
    public Format accepts() {
        return onBtrfs() ? Format.BTRFS : Format.PLAIN;
    }

    /** The format this host sends template images in to a host that accepts {@code wanted}. */
    public Format offers(Format wanted) {
        return wanted == Format.BTRFS && onBtrfs() ? Format.BTRFS : Format.PLAIN;
    }

    /** Writes template {@code name}'s image to {@code out} in {@code format}; 404 when this host has none. */
    public void send(String name, Format format, OutputStream out) {
        Path image = storage.templateImage(name);
        if (format == Format.PLAIN) {
            try {
                Files.copy(image, out);
            } catch (IOException e) {
                throw new UncheckedIOException("sending template " + name + " broke off: " + e.getMessage(), e);
            }
            return;
        }
        Path subvolume = Subvolumes.hidden(storage.layout().templates(), ".send-" + name + "-");
        runner.check(List.of("btrfs", "subvolume", "create", subvolume.toString()), STEP);
        try {
            Files.copy(image, subvolume.resolve(image.getFileName()));
            runner.check(List.of("btrfs", "property", "set", "-ts", subvolume.toString(), "ro", "true"), STEP);
            runner.pipe(List.of("btrfs", "send", "-q", subvolume.toString()), STREAM, null, out);
        } catch (IOException e) {
            throw new ScaleboxException.HostFailure("cannot make a subvolume to send template " + name + ": "
                    + e.getMessage(), e);
        } finally {
            subvolumes.delete(subvolume);
        }
    }

    /**
     * Takes template {@code name}'s image from {@code in}, sent in {@code format}, as
     * {@code templates/NAME.ext4}; it must be {@code sizeBytes} long and pass e2fsck.
     */
    public Path receive(String name, Format format, long sizeBytes, InputStream in) {
        Path target = storage.layout().templateImage(name);
        if (Files.exists(target)) {
            throw new ScaleboxException.Conflict("Template '" + name + "' is already on this host");
        }
        return storage.writeImage(target, partial -> {
            if (format == Format.BTRFS) {
                receiveSubvolume(name, in, partial);
            } else {
                writeSparse(in, partial);
            }
            long size = Files.size(partial);
            if (size != sizeBytes) {
                throw new ScaleboxException.HostFailure("the copy of template " + name + " is " + size
                        + " bytes, not the " + sizeBytes + " its record says: the transfer broke off");
            }
            storage.checkImage(partial);
        });
    }

    /** Removes the subvolumes a transfer cut short by a crash left in {@code templates/}. */
    public void removeLeftovers() {
        if (!Files.isDirectory(storage.layout().templates())) {
            return;
        }
        try (Stream<Path> files = Files.list(storage.layout().templates())) {
            for (Path p : files.filter(f -> f.getFileName().toString().startsWith(".send-")
                    || f.getFileName().toString().startsWith(".receive-")).toList()) {
                log.warn("Removing {}, left by a template transfer cut short", p);
                if (p.getFileName().toString().startsWith(".receive-")) {
                    Subvolumes.in(p).forEach(subvolumes::delete);
                    Files.deleteIfExists(p);
                } else {
                    subvolumes.delete(p);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void receiveSubvolume(String name, InputStream in, Path partial) throws IOException {
        Path dir = Subvolumes.hidden(storage.layout().templates(), ".receive-" + name + "-");
        Files.createDirectory(dir);
        try {
            runner.pipe(List.of("btrfs", "receive", dir.toString()), STREAM, in, null);
            List<Path> received = Subvolumes.in(dir);
            Path image = received.size() == 1 ? received.getFirst().resolve(name + DataLayout.IMAGE_SUFFIX) : null;
            if (image == null || !Files.isRegularFile(image, LinkOption.NOFOLLOW_LINKS)) {
                throw new ScaleboxException.HostFailure("the btrfs stream for template " + name
                        + " held no subvolume with " + name + DataLayout.IMAGE_SUFFIX);
            }
            Files.copy(image, partial);
        } finally {
            Subvolumes.in(dir).forEach(subvolumes::delete);
            Files.deleteIfExists(dir);
        }
    }

    /** Copies {@code in} to {@code target}, leaving blocks of zeros as holes, as {@code cp --sparse=always} does. */
    private static void writeSparse(InputStream in, Path target) throws IOException {
        try (FileChannel file = FileChannel.open(target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            byte[] block = new byte[BLOCK];
            long position = 0;
            int n;
            while ((n = in.readNBytes(block, 0, BLOCK)) > 0) {
                if (!zeros(block, n)) {
                    file.write(ByteBuffer.wrap(block, 0, n), position);
                }
                position += n;
            }
            file.truncate(position);
            if (file.size() < position) {
                file.write(ByteBuffer.allocate(1), position - 1);
            }
        }
    }

    private static boolean zeros(byte[] block, int n) {
        for (int i = 0; i < n; i++) {
            if (block[i] != 0) {
                return false;
            }
        }
        return true;
    }

    private boolean onBtrfs() {
        return filesystems.space(storage.layout().templates()).type().equals("btrfs");
    }
}
