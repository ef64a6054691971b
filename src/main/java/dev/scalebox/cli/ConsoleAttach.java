package dev.scalebox.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * {@code scalebox vm console VM --attach}: the VM's serial console in this terminal, as the web
 * console has it. The terminal is put in raw mode so every key reaches the guest; Ctrl-] leaves.
 */
final class ConsoleAttach {

    /** Ctrl-], as telnet and virsh have it. */
    static final int LEAVE = 0x1d;

    private ConsoleAttach() {
    }

    /** 0 when the user left with Ctrl-], 1 when the server closed the console. */
    static int run(ApiClient api, String consolePath, InputStream in, PrintStream out) throws IOException {
        CompletableFuture<String> closed = new CompletableFuture<>();
        WebSocket socket = api.webSocket(consolePath + "/ws", new WebSocket.Listener() {
            @Override
            public CompletionStage<?> onBinary(WebSocket ws, ByteBuffer data, boolean last) {
                byte[] bytes = new byte[data.remaining()];
                data.get(bytes);
                out.write(bytes, 0, bytes.length);
                out.flush();
                ws.request(1);
                return null;
            }

            @Override
            public CompletionStage<?> onClose(WebSocket ws, int status, String reason) {
                closed.complete(reason.isEmpty() ? "closed by the server" : reason);
                return null;
            }

            @Override
            public void onError(WebSocket ws, Throwable error) {
                closed.complete(error.getMessage());
            }
        });
        System.err.print("Connected to the serial console; Ctrl-] leaves.\r\n");
        try (RawTerminal raw = RawTerminal.enter()) {
            Thread keys = Thread.ofVirtual().start(() -> forwardKeys(in, socket, closed));
            String reason = closed.join();
            keys.interrupt();
            if (reason == null) {
                socket.sendClose(WebSocket.NORMAL_CLOSURE, "left").join();
                System.err.print("\r\nLeft the console.\r\n");
                return 0;
            }
            System.err.print("\r\nThe console closed: " + reason + "\r\n");
            return 1;
        }
    }

    /** Sends what is typed until Ctrl-] (which completes {@code closed} with null) or the end of input. */
    private static void forwardKeys(InputStream in, WebSocket socket, CompletableFuture<String> closed) {
        byte[] buffer = new byte[1024];
        try {
            int n;
            while (!closed.isDone() && (n = in.read(buffer)) >= 0) {
                int leave = indexOf(buffer, n, LEAVE);
                if (leave != 0) {
                    socket.sendBinary(ByteBuffer.wrap(buffer, 0, leave < 0 ? n : leave), true).join();
                }
                if (leave >= 0) {
                    closed.complete(null);
                }
            }
        } catch (IOException | RuntimeException e) {
            closed.complete("cannot send what was typed: " + e.getMessage());
        }
    }

    private static int indexOf(byte[] bytes, int length, int value) {
        for (int i = 0; i < length; i++) {
            if (bytes[i] == value) {
                return i;
            }
        }
        return -1;
    }

    /** The controlling terminal in raw mode, restored on close; nothing when stdin is not a terminal. */
    private record RawTerminal(String saved) implements AutoCloseable {
        static RawTerminal enter() {
            String saved = stty(List.of("-g"));
            if (saved != null) {
                stty(List.of("raw", "-echo"));
            }
            return new RawTerminal(saved);
        }

        @Override
        public void close() {
            if (saved != null) {
                stty(List.of(saved));
            }
        }

        /** Runs stty on the inherited stdin; its output, or null when stdin is no terminal. */
        private static String stty(List<String> args) {
            List<String> argv = new java.util.ArrayList<>(List.of("stty"));
            argv.addAll(args);
            try {
                Process p = new ProcessBuilder(argv).redirectInput(ProcessBuilder.Redirect.INHERIT)
                        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
                String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
                return p.waitFor() == 0 ? output : null;
            } catch (IOException e) {
                return null;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }
    }
}
