package dev.scalebox.hypervisor;

import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The one client of a VM's serial socket, shared by every viewer of its console. QEMU serves
 * one client at a time and holds the guest's output back while that client does not read, so
 * this reads all the time and hands each viewer its own queue; a viewer more than
 * {@link #MAX_BEHIND} behind is dropped rather than slowing the others or the guest. Keystrokes
 * of every viewer go to the guest.
 *
 * <p>Lifecycle: {@link #open} connects; it ends when the guest's QEMU closes the socket (every
 * viewer is told "the VM stopped"), or when its last viewer leaves.
 */
public final class SerialConsole {

    public static final String SOCKET = "serial.sock";
    /** Output a viewer may have waiting before it is dropped. */
    static final int MAX_BEHIND = 256 * 1024;
    /** The most a viewer may send in one piece of input. */
    public static final int MAX_INPUT_BYTES = 16 * 1024;

    /** Where a viewer's output goes, from a thread of its own. */
    public interface Viewer {
        void output(byte[] bytes);

        /** No more output will come, for {@code reason}. */
        void closed(String reason);
    }

    private final SocketChannel channel;
    private final Runnable onEnd;
    private final Set<Attachment> attachments = new CopyOnWriteArraySet<>();
    private volatile boolean ended;

    private SerialConsole(SocketChannel channel, Runnable onEnd) {
        this.channel = channel;
        this.onEnd = onEnd;
    }

    /** Connects to the serial socket {@code socket}; {@code onEnd} runs once when the console ends. */
    public static SerialConsole open(Path socket, Runnable onEnd) throws IOException {
        SocketChannel channel = SocketChannel.open(UnixDomainSocketAddress.of(socket));
        SerialConsole console = new SerialConsole(channel, onEnd);
        Thread.ofVirtual().name("console-" + socket.getParent().getFileName()).start(console::relay);
        return console;
    }

    /** Adds {@code viewer}, which gets {@code history} first, then what the guest writes. */
    public synchronized Attachment attach(Viewer viewer, byte[] history) {
        Attachment attachment = new Attachment(viewer);
        if (ended) {
            viewer.closed("the VM stopped");
            return attachment;
        }
        attachments.add(attachment);
        attachment.enqueue(history);
        Thread.ofVirtual().name("console-viewer").start(attachment::deliver);
        return attachment;
    }

    public boolean ended() {
        return ended;
    }

    private void relay() {
        ByteBuffer buffer = ByteBuffer.allocate(8192);
        try {
            while (channel.read(buffer) >= 0) {
                byte[] bytes = Arrays.copyOf(buffer.array(), buffer.position());
                buffer.clear();
                for (Attachment a : attachments) {
                    if (!a.enqueue(bytes)) {
                        detach(a);
                        // its own thread may be stuck in output(); told now, the viewer can cut its connection
                        Thread.ofVirtual().name("console-drop").start(a::tellClosed);
                    }
                }
            }
        } catch (IOException e) {
            // the socket closed under us: the same as its end
        }
        end("the VM stopped");
    }

    private synchronized void end(String reason) {
        if (ended) {
            return;
        }
        ended = true;
        try {
            channel.close();
        } catch (IOException e) {
            // closing anyway
        }
        attachments.forEach(a -> a.close(reason));
        attachments.clear();
        onEnd.run();
    }

    private synchronized void detach(Attachment attachment) {
        if (attachments.remove(attachment) && attachments.isEmpty()) {
            end("no one is watching");
        }
    }

    /** One viewer's place at the console. */
    public final class Attachment {
        private final Viewer viewer;
        private final ArrayDeque<byte[]> pending = new ArrayDeque<>();
        private int pendingBytes;
        private String closedFor;
        private final AtomicBoolean told = new AtomicBoolean();

        private Attachment(Viewer viewer) {
            this.viewer = viewer;
        }

        /** Sends {@code input} to the guest, as if typed. */
        public void send(byte[] input) throws IOException {
            if (input.length > MAX_INPUT_BYTES) {
                throw new IllegalArgumentException("console input over " + MAX_INPUT_BYTES + " bytes at once");
            }
            synchronized (channel) {
                ByteBuffer buffer = ByteBuffer.wrap(input);
                while (buffer.hasRemaining()) {
                    channel.write(buffer);
                }
            }
        }

        /** Leaves the console; the last to leave ends it. */
        public void detach() {
            close(null);
            SerialConsole.this.detach(this);
        }

        /** Queues {@code bytes} for the viewer; false when that put it too far behind, and it is dropped. */
        private synchronized boolean enqueue(byte[] bytes) {
            if (closedFor != null || bytes.length == 0) {
                return closedFor == null;
            }
            if (pendingBytes + bytes.length > MAX_BEHIND) {
                pending.clear();
                pendingBytes = 0;
                closedFor = "too slow: more than " + MAX_BEHIND / 1024 + " KiB of console output was waiting";
            } else {
                pending.add(bytes);
                pendingBytes += bytes.length;
            }
            notifyAll();
            return closedFor == null;
        }

        private synchronized void close(String reason) {
            if (closedFor == null) {
                closedFor = reason == null ? "" : reason;
                notifyAll();
            }
        }

        private void deliver() {
            while (true) {
                byte[] next;
                synchronized (this) {
                    while (pending.isEmpty() && closedFor == null) {
                        try {
                            wait();
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            return;
                        }
                    }
                    if (pending.isEmpty()) {
                        break;
                    }
                    next = pending.poll();
                    pendingBytes -= next.length;
                }
                viewer.output(next);
            }
            tellClosed();
        }

        private void tellClosed() {
            String reason;
            synchronized (this) {
                reason = closedFor;
            }
            if (reason != null && !reason.isEmpty() && told.compareAndSet(false, true)) {
                viewer.closed(reason);
            }
        }
    }
}
