package dev.scalebox.gateway;

import org.apache.sshd.client.channel.ChannelShell;
import org.apache.sshd.client.channel.ClientChannel;
import org.apache.sshd.client.channel.ClientChannelEvent;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.common.channel.PtyChannelConfigurationHolder;
import org.apache.sshd.common.util.io.input.NoCloseInputStream;
import org.apache.sshd.common.util.io.output.NoCloseOutputStream;
import org.apache.sshd.server.Environment;
import org.apache.sshd.server.ExitCallback;
import org.apache.sshd.server.Signal;
import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.command.Command;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Map;

/**
 * One shell, command or subsystem (sftp) of a user's session, carried to their box: the gateway
 * logs into the box as root with its internal key and pipes stdin, stdout, stderr, the terminal
 * and its size changes, and the exit status, both ways.
 */
final class BoxCommand implements Command {

    /** What the user asked the session for. */
    sealed interface Target {
        record Shell() implements Target {
        }

        record Exec(String command) implements Target {
        }

        record Subsystem(String name) implements Target {
        }
    }

    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(30);
    private static final Logger log = LoggerFactory.getLogger(BoxCommand.class);

    private final Target target;
    private final Boxes boxes;
    private final Sessions sessions;
    private InputStream in;
    private OutputStream out;
    private OutputStream err;
    private ExitCallback exit;
    private volatile ClientSession boxSession;

    BoxCommand(Target target, Boxes boxes, Sessions sessions) {
        this.target = target;
        this.boxes = boxes;
        this.sessions = sessions;
    }

    @Override
    public void setInputStream(InputStream in) {
        this.in = in;
    }

    @Override
    public void setOutputStream(OutputStream out) {
        this.out = out;
    }

    @Override
    public void setErrorStream(OutputStream err) {
        this.err = err;
    }

    @Override
    public void setExitCallback(ExitCallback exit) {
        this.exit = exit;
    }

    @Override
    public void start(ChannelSession channel, Environment env) {
        User user = channel.getSession().getAttribute(Gateway.USER);
        RemoteBoxes.Carry carry = RemoteBoxes.carry(channel.getSession());
        Thread.ofVirtual().name("box-session-" + user.id()).start(() -> run(user, carry, env));
    }

    private void run(User user, RemoteBoxes.Carry carry, Environment env) {
        sessions.opened(user);
        try {
            ClientSession opened;
            try {
                opened = boxes.open(user, carry, this::tell).session();
            } catch (IOException | RuntimeException e) {
                boxes.events().connected("failed");
                throw e;
            }
            boxes.events().connected("ok");
            boxes.events().box(user.id(), "connected");
            try (ClientSession session = opened) {
                boxSession = session;
                try (ClientChannel channel = open(session, env)) {
                    channel.setIn(new NoCloseInputStream(in));
                    channel.setOut(new NoCloseOutputStream(out));
                    channel.setErr(new NoCloseOutputStream(err));
                    channel.open().verify(CONNECT_TIMEOUT);
                    channel.waitFor(EnumSet.of(ClientChannelEvent.CLOSED), 0L);
                    Integer status = channel.getExitStatus();
                    out.flush();
                    err.flush();
                    exit.onExit(status == null ? 255 : status);
                }
            }
        } catch (IOException | RuntimeException e) {
            log.warn("Session of user {} failed: {}", user.id(), e.getMessage());
            try {
                err.write(("scalebox: " + e.getMessage() + "\r\n").getBytes(StandardCharsets.UTF_8));
                err.flush();
            } catch (IOException ignored) {
                // the client is gone
            }
            exit.onExit(255, String.valueOf(e.getMessage()));
        } finally {
            sessions.closed(user);
        }
    }

    /** A line for the user on stderr, from the gateway (their place in the line of starts). */
    private void tell(String line) {
        try {
            err.write(("scalebox: " + line + "\r\n").getBytes(StandardCharsets.UTF_8));
            err.flush();
        } catch (IOException e) {
            log.debug("could not tell the user: {}", e.getMessage());
        }
    }

    private ClientChannel open(ClientSession session, Environment env) throws IOException {
        switch (target) {
            case Target.Exec exec -> {
                return session.createExecChannel(exec.command(), null, forwardedEnvironment(env));
            }
            case Target.Subsystem subsystem -> {
                return session.createSubsystemChannel(subsystem.name());
            }
            case Target.Shell shell -> {
                return shell(session, env);
            }
        }
    }

    private ChannelShell shell(ClientSession session, Environment env) throws IOException {
        Map<String, String> vars = env.getEnv();
        ChannelShell shell = session.createShellChannel(null, forwardedEnvironment(env));
        String term = vars.get(Environment.ENV_TERM);
        shell.setUsePty(term != null);
        if (term != null) {
            shell.setPtyType(term);
            shell.setPtyColumns(parse(vars.get(Environment.ENV_COLUMNS), PtyChannelConfigurationHolder.DEFAULT_COLUMNS_COUNT));
            shell.setPtyLines(parse(vars.get(Environment.ENV_LINES), PtyChannelConfigurationHolder.DEFAULT_ROWS_COUNT));
            shell.setPtyModes(env.getPtyModes());
            env.addSignalListener((channel, signal) -> {
                try {
                    shell.sendWindowChange(parse(vars.get(Environment.ENV_COLUMNS), 80), parse(vars.get(Environment.ENV_LINES), 24));
                } catch (IOException e) {
                    log.debug("window change not sent: {}", e.getMessage());
                }
            }, Signal.WINCH);
        }
        return shell;
    }

    /** The variables the user sent ({@code SendEnv}); the box's sshd keeps those it accepts. */
    private static Map<String, String> forwardedEnvironment(Environment env) {
        Map<String, String> vars = new java.util.LinkedHashMap<>(env.getEnv());
        vars.keySet().removeAll(java.util.Set.of(Environment.ENV_TERM, Environment.ENV_COLUMNS, Environment.ENV_LINES,
                Environment.ENV_USER));
        return vars;
    }

    private static int parse(String value, int fallback) {
        try {
            return value == null ? fallback : Integer.parseInt(value);
        } catch (NumberFormatException e) {
            return fallback;
        }
    }

    @Override
    public void destroy(ChannelSession channel) {
        ClientSession session = boxSession;
        if (session != null) {
            session.close(true);
        }
    }
}
