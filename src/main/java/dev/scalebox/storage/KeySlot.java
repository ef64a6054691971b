package dev.scalebox.storage;

import dev.scalebox.ScaleboxException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * Root's {@code authorized_keys} kept as exactly one filesystem block, so that a VM's key can be
 * written into its freshly cloned disk with one positioned write instead of a debugfs run.
 *
 * <p>Every template Scalebox registers (built, imported or snapshotted) gets an empty slot: a
 * file of one block whose first line is {@link #EMPTY_MARK} and whose rest is a padding comment.
 * A key is written as its line followed by the same padding, so the file's size, block and inode
 * never change and no metadata (the only part of ext4 under checksums) is touched. Before writing,
 * the block in the clone is read back and must still start with the mark: a template changed
 * behind Scalebox's back falls back to debugfs instead of overwriting something else.
 */
final class KeySlot {

    static final String PATH = "/root/.ssh/authorized_keys";
    static final String EMPTY_MARK = "# scalebox key slot: keys go above this line\n";
    private static final String PADDING_NOTE = "# padding that keeps this file one block long";

    private KeySlot() {
    }

    /** Where a template's empty slot lies in its image. */
    record Location(long offset, int size) {
    }

    /** The slot's bytes holding {@code keyLine}, or empty when it is null; 400 when the key does not fit. */
    static byte[] content(String keyLine, int size) {
        String head = (keyLine == null ? "" : keyLine + "\n") + EMPTY_MARK;
        byte[] headBytes = head.getBytes(StandardCharsets.UTF_8);
        byte[] note = PADDING_NOTE.getBytes(StandardCharsets.US_ASCII);
        if (headBytes.length + note.length + 1 > size) {
            throw new ScaleboxException.BadRequest("SSH public key is too long (" + keyLine.length() + " characters)");
        }
        byte[] out = new byte[size];
        Arrays.fill(out, (byte) ' ');
        System.arraycopy(headBytes, 0, out, 0, headBytes.length);
        System.arraycopy(note, 0, out, headBytes.length, note.length);
        out[size - 1] = '\n';
        return out;
    }

    /**
     * Writes {@code keyLine} into the empty slot at {@code at} of {@code image}; false, with nothing
     * written, when the block there is not an empty slot.
     */
    static boolean fill(Path image, Location at, String keyLine) {
        byte[] content = content(keyLine, at.size());
        try (FileChannel ch = FileChannel.open(image, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer current = ByteBuffer.allocate(EMPTY_MARK.length());
            ch.read(current, at.offset());
            if (!Arrays.equals(current.array(), EMPTY_MARK.getBytes(StandardCharsets.US_ASCII))) {
                return false;
            }
            ByteBuffer buffer = ByteBuffer.wrap(content);
            while (buffer.hasRemaining()) {
                ch.write(buffer, at.offset() + buffer.position());
            }
            return true;
        } catch (IOException e) {
            throw new ScaleboxException.HostFailure("cannot write the SSH key into " + image.getFileName() + ": "
                    + e.getMessage(), e);
        }
    }
}
