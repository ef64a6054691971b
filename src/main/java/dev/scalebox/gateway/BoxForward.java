package dev.scalebox.gateway;

import org.apache.sshd.client.channel.ChannelDirectTcpip;
import org.apache.sshd.client.future.DefaultOpenFuture;
import org.apache.sshd.client.future.OpenFuture;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.common.SshConstants;
import org.apache.sshd.common.channel.Channel;
import org.apache.sshd.common.channel.ChannelFactory;
import org.apache.sshd.common.channel.ChannelOutputStream;
import org.apache.sshd.common.channel.exception.SshChannelOpenException;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.util.buffer.Buffer;
import org.apache.sshd.common.util.net.SshdSocketAddress;
import org.apache.sshd.server.channel.AbstractServerChannel;
import org.apache.sshd.server.session.ServerSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Set;
import java.util.concurrent.CountDownLatch;

/**
 * A local port forward ({@code ssh -L PORT:localhost:PORT}) to the user's own box: the
 * {@code direct-tcpip} channel is carried over the gateway's SSH connection into the box, whose
 * sshd connects to the port on the box's own loopback. Only {@code localhost} (and its
 * addresses) may be named: a user reaches their box and nothing else, not even the gateway's
 * network.
 */
final class BoxForward extends AbstractServerChannel {

    private static final Set<String> OWN_BOX = Set.of("localhost", "127.0.0.1", "::1", "ip6-localhost");
    private static final Logger log = LoggerFactory.getLogger(BoxForward.class);

    private final BoxConnections connections;
    private final CountDownLatch confirmed = new CountDownLatch(1);
    private volatile ChannelDirectTcpip tunnel;

    private BoxForward(BoxConnections connections) {
        super(null);
        this.connections = connections;
    }

    static ChannelFactory factory(BoxConnections connections) {
        return new ChannelFactory() {
            @Override
            public String getName() {
                return "direct-tcpip";
            }

            @Override
            public Channel createChannel(Session session) {
                return new BoxForward(connections);
            }
        };
    }

    @Override
    protected OpenFuture doInit(Buffer buffer) {
        String host = buffer.getString();
        int port = buffer.getInt();
        OpenFuture opened = new DefaultOpenFuture(this, this);
        if (!OWN_BOX.contains(host.toLowerCase(java.util.Locale.ROOT)) || port < 1 || port > 65535) {
            opened.setException(new SshChannelOpenException(getChannelId(), SshConstants.SSH_OPEN_ADMINISTRATIVELY_PROHIBITED,
                    "only ports of your own box can be forwarded: name it localhost, not " + host));
            return opened;
        }
        ServerSession session = (ServerSession) getSession();
        Thread.ofVirtual().name("box-forward").start(() -> connect(session, port, opened));
        return opened;
    }

    private void connect(ServerSession session, int port, OpenFuture opened) {
        try {
            ClientSession box = connections.of(session);
            ChannelDirectTcpip channel = box.createDirectTcpipChannel(new SshdSocketAddress("127.0.0.1", 0),
                    new SshdSocketAddress("127.0.0.1", port));
            channel.setOut(new ToUser(new ChannelOutputStream(this, getRemoteWindow(), log,
                    SshConstants.SSH_MSG_CHANNEL_DATA, true)));
            channel.addCloseFutureListener(f -> close(false));
            channel.open().verify(BoxGuest.TIMEOUT);
            tunnel = channel;
            signalChannelOpenSuccess();
            opened.setOpened();
            confirmed.countDown();
        } catch (IOException | RuntimeException e) {
            signalChannelOpenFailure(e);
            opened.setException(new SshChannelOpenException(getChannelId(), SshConstants.SSH_OPEN_CONNECT_FAILED,
                    "port " + port + " of your box: " + e.getMessage(), e));
            close(true);
        }
    }

    /** Data from the box, held until the user has been told the channel is open. */
    private final class ToUser extends FilterOutputStream {
        ToUser(OutputStream out) {
            super(out);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            try {
                confirmed.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            }
            out.write(b, off, len);
        }
    }

    @Override
    protected void doWriteData(byte[] data, int off, long len) throws IOException {
        OutputStream toBox = tunnel.getInvertedIn();
        toBox.write(data, off, (int) len);
        toBox.flush();
        getLocalWindow().release(len);
    }

    @Override
    protected void doWriteExtendedData(byte[] data, int off, long len) throws IOException {
        throw new IOException("a forwarded port carries no extended data");
    }

    @Override
    public void handleEof() throws IOException {
        super.handleEof();
        ChannelDirectTcpip channel = tunnel;
        if (channel != null) {
            channel.getInvertedIn().close();
        }
    }

    @Override
    protected void preClose() {
        ChannelDirectTcpip channel = tunnel;
        if (channel != null) {
            channel.close(false);
        }
        super.preClose();
    }
}
