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
 *
 * <p>Once the guest has taken the connection, the probe waits for the banner as long as a starved
 * guest may take to send it. Giving up after a second and trying again, as this once did, floods
 * a slow guest with connections its sshd forks for and the forwarding keeps half-open: ten guests
 * booting at once on two cores were seen holding 160 each, and none came up in 20 minutes.
 */
public final class SshProbe {

    private static final int CONNECT_MILLIS = 1000;
    private static final int BANNER_MILLIS = 60_000;

    private SshProbe() {
    }

    public static boolean answers(String host, int port) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(host, port), CONNECT_MILLIS);
            socket.setSoTimeout(BANNER_MILLIS);
            InputStream in = socket.getInputStream();
            byte[] banner = in.readNBytes(4);
            return new String(banner, StandardCharsets.US_ASCII).equals("SSH-");
        } catch (IOException e) {
            return false;
        }
    }
}
