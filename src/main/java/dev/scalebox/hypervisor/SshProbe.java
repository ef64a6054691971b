package dev.scalebox.hypervisor;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * Whether a guest's SSH server answers. A TCP connect alone proves nothing: QEMU's user-mode
 * network accepts on the forwarded port before the guest listens, then drops the connection. Only
 * the server's banner ({@code SSH-2.0-...}) counts.
 */
public final class SshProbe {

    private SshProbe() {
    }

    public static boolean answers(String host, int port, int timeoutMillis) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(host, port), timeoutMillis);
            socket.setSoTimeout(timeoutMillis);
            InputStream in = socket.getInputStream();
            byte[] banner = in.readNBytes(4);
            return new String(banner, StandardCharsets.US_ASCII).equals("SSH-");
        } catch (IOException e) {
            return false;
        }
    }
}
