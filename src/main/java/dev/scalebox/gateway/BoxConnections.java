package dev.scalebox.gateway;

import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.common.AttributeRepository.AttributeKey;
import org.apache.sshd.server.session.ServerSession;

import java.io.IOException;

/**
 * The gateway's SSH connection into a user's box that carries their port forwards: one per user
 * connection, opened with the first forward and closed with the connection. While it is open the
 * box counts as in use, so it is not suspended under a forward that carries no shell.
 */
final class BoxConnections {

    private static final AttributeKey<ClientSession> BOX = new AttributeKey<>();

    private final Boxes boxes;
    private final Sessions sessions;

    BoxConnections(Boxes boxes, Sessions sessions) {
        this.boxes = boxes;
        this.sessions = sessions;
    }

    ClientSession of(ServerSession session) throws IOException {
        synchronized (session) {
            ClientSession box = session.getAttribute(BOX);
            if (box != null && box.isOpen()) {
                return box;
            }
            User user = session.getAttribute(Gateway.USER);
            sessions.opened(user);
            try {
                box = boxes.open(user, RemoteBoxes.carry(session), line -> { })
                        .session();
            } catch (IOException | RuntimeException e) {
                sessions.closed(user);
                throw e;
            }
            ClientSession opened = box;
            session.setAttribute(BOX, opened);
            session.addCloseFutureListener(f -> {
                opened.close(true);
                sessions.closed(user);
            });
            return opened;
        }
    }
}
