package dev.scalebox.storage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Optional;

/**
 * What a create needs to know about a template image, probed once with debugfs and kept while
 * the file is unchanged: where its key slot lies, and whether its guest grows its own root
 * filesystem at boot (then a create only lengthens the file; resize2fs is left out).
 */
record ImageTraits(Object fileKey, long modifiedMillis, long size, Optional<KeySlot.Location> keySlot,
                   boolean growsItself) {

    /** The unit of Scalebox's own templates that runs an online resize2fs before sshd starts. */
    static final String GROWFS_UNIT = "/etc/systemd/system/scalebox-growfs.service";

    static ImageTraits probe(Path image, Ext4Image ext4) {
        BasicFileAttributes a = attributes(image);
        return new ImageTraits(a.fileKey(), a.lastModifiedTime().toMillis(), a.size(), ext4.keySlot(image),
                ext4.exists(image, GROWFS_UNIT));
    }

    /** Whether these traits were probed from the file as it is now. */
    boolean isOf(Path image) {
        BasicFileAttributes a = attributes(image);
        return a.fileKey().equals(fileKey) && a.lastModifiedTime().toMillis() == modifiedMillis && a.size() == size;
    }

    private static BasicFileAttributes attributes(Path image) {
        try {
            return Files.readAttributes(image, BasicFileAttributes.class);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
