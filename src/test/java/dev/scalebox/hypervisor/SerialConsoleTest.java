package dev.scalebox.hypervisor;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The relay between one serial socket (here a plain Unix socket standing in for QEMU's) and its viewers. */
class SerialConsoleTest {

    @TempDir
    Path dir;

    /** Collects what a viewer is shown. */
    static final class Screen implements SerialConsole.Viewer {
        final ByteArrayOutputStream shown = new ByteArrayOutputStream();
        final CompletableFuture<String> closed = new CompletableFuture<>();
        final CountDownLatch release;

        Screen(CountDownLatch release) {
            this.release = release;
        }

        @Override
        public void output(byte[] bytes) {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            synchronized (shown) {
                shown.writeBytes(bytes);
            }
        }

        @Override
        public void closed(String reason) {
            closed.complete(reason);
        }

        String text() {
            synchronized (shown) {
                return shown.toString(StandardCharsets.UTF_8);
            }
        }
    }

    @Test
    void everyViewerSeesTheOutputAndTypesIntoTheGuestUntilTheGuestEnds() throws Exception {
        try (ServerSocketChannel guest = listen()) {
            CompletableFuture<Void> ended = new CompletableFuture<>();
            SerialConsole console = SerialConsole.open(dir.resolve("serial.sock"), () -> ended.complete(null));
            SocketChannel port = guest.accept();
            Screen a = new Screen(new CountDownLatch(0));
            Screen b = new Screen(new CountDownLatch(0));
            SerialConsole.Attachment fromA = console.attach(a, "before\n".getBytes(StandardCharsets.UTF_8));
            console.attach(b, new byte[0]);
            port.write(ByteBuffer.wrap("login: ".getBytes(StandardCharsets.UTF_8)));
            until(() -> a.text().equals("before\nlogin: ") && b.text().equals("login: "));

            fromA.send("root\r".getBytes(StandardCharsets.UTF_8));
            ByteBuffer typed = ByteBuffer.allocate(16);
            port.read(typed);
            assertThat(new String(typed.array(), 0, typed.position(), StandardCharsets.UTF_8)).isEqualTo("root\r");

            port.close();
            assertThat(a.closed.get(60, TimeUnit.SECONDS)).isEqualTo("the VM stopped");
            assertThat(b.closed.get(60, TimeUnit.SECONDS)).isEqualTo("the VM stopped");
            ended.get(60, TimeUnit.SECONDS);
            assertThat(console.ended()).isTrue();
        }
    }

    @Test
    void aViewerThatFallsBehindIsDroppedWhileTheOthersGoOnAndTheLastToLeaveEndsTheConsole() throws Exception {
        try (ServerSocketChannel guest = listen()) {
            CompletableFuture<Void> ended = new CompletableFuture<>();
            SerialConsole console = SerialConsole.open(dir.resolve("serial.sock"), () -> ended.complete(null));
            SocketChannel port = guest.accept();
            CountDownLatch never = new CountDownLatch(1);
            Screen stuck = new Screen(never);
            Screen fast = new Screen(new CountDownLatch(0));
            console.attach(stuck, new byte[0]);
            SerialConsole.Attachment fromFast = console.attach(fast, new byte[0]);
            byte[] piece = "x".repeat(64 * 1024).getBytes(StandardCharsets.UTF_8);
            int pieces = 2 * SerialConsole.MAX_BEHIND / piece.length;
            for (int i = 1; i <= pieces; i++) {
                ByteBuffer out = ByteBuffer.wrap(piece);
                while (out.hasRemaining()) {
                    port.write(out);
                }
                // the fast one keeps up, however starved the machine; the stuck one only falls behind
                int written = i * piece.length;
                until(() -> fast.text().length() == written);
            }
            assertThat(stuck.closed.get(60, TimeUnit.SECONDS)).startsWith("too slow");
            never.countDown();

            fromFast.detach();
            ended.get(60, TimeUnit.SECONDS);
            assertThat(port.read(ByteBuffer.allocate(1))).as("the guest's socket is closed").isEqualTo(-1);
            assertThat(fast.closed).isNotDone();
        }
    }

    @Test
    void inputOverTheBoundIsRefused() throws Exception {
        try (ServerSocketChannel guest = listen()) {
            SerialConsole console = SerialConsole.open(dir.resolve("serial.sock"), () -> { });
            guest.accept();
            SerialConsole.Attachment attachment = console.attach(new Screen(new CountDownLatch(0)), new byte[0]);
            org.assertj.core.api.Assertions.assertThatThrownBy(
                    () -> attachment.send(new byte[SerialConsole.MAX_INPUT_BYTES + 1]))
                    .isInstanceOf(IllegalArgumentException.class);
            attachment.detach();
        }
    }

    private ServerSocketChannel listen() throws Exception {
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(dir.resolve("serial.sock")));
        return server;
    }

    /** Waits for {@code condition}, as long as a starved machine may need. */
    private static void until(java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(condition.getAsBoolean()).isTrue();
    }
}
