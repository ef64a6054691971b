package dev.scalebox.api;

import dev.scalebox.ScaleboxException;
import dev.scalebox.cluster.Cluster;
import dev.scalebox.cluster.Forwarder;
import dev.scalebox.gateway.Box;
import dev.scalebox.gateway.Boxes;
import dev.scalebox.vm.Vm;
import dev.scalebox.vm.VmService;
import io.helidon.http.HeaderNames;
import io.helidon.http.HttpMediaType;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Actions on a VM or box of another host, passed on to that host: {@code DELETE /vms/{id}} and
 * every {@code /vms/{id}/ACTION} (start, stop, suspend, restart, snapshot, egress, console, stats),
 * and the same of {@code /boxes/{id}} (suspend, move, delete). The record answers a plain
 * {@code GET} on any host; the console's WebSocket is not passed on. Without a cluster secret, or
 * for a request that was itself passed on, the request goes on here, where the VM's service
 * refuses it with the host it lives on.
 */
final class VmForwarding {

    private static final Pattern VM_PATH = Pattern.compile("/(vms|boxes)/([^/]+)(/[a-z]+)?");

    private VmForwarding() {
    }

    /** {@code boxes} may be null on a server without a gateway. */
    static void register(HttpRouting.Builder routing, VmService vms, Boxes boxes, Cluster cluster, Access access) {
        Optional<Forwarder> forwarder = cluster.forwarder();
        if (forwarder.isEmpty()) {
            return;
        }
        routing.addFilter((chain, req, res) -> {
            Matcher m = VM_PATH.matcher(req.path().path());
            String method = req.prologue().method().text();
            if (!m.matches() || (m.group(3) == null && !method.equals("DELETE")) || access.passedOn(req.headers())) {
                chain.proceed();
                return;
            }
            Optional<String> host = m.group(1).equals("vms") ? vms.find(m.group(2)).map(Vm::host)
                    : boxes == null ? Optional.empty() : boxes.locate(m.group(2)).map(Box::host);
            if (host.isEmpty() || cluster.self().equals(host.get())) {
                chain.proceed();
                return;
            }
            try {
                Forwarder.Answer answer = forwarder.get().forward(host.get(), method, pathAndQuery(req),
                        req.headers().contentType().map(HttpMediaType::text).orElse(null),
                        VmRoutes.raw(req));
                send(res, answer);
            } catch (ScaleboxException e) {
                ApiServer.error(res, e.status(), e.getMessage());
            }
        });
    }

    /** Hands another host's answer to the caller as that host gave it. */
    static void send(ServerResponse res, Forwarder.Answer answer) {
        res.status(Status.create(answer.status()));
        if (answer.contentType() != null) {
            res.header(HeaderNames.CONTENT_TYPE, answer.contentType());
        }
        if (answer.location() != null) {
            res.header(HeaderNames.LOCATION, answer.location());
        }
        res.send(answer.body());
    }

    private static String pathAndQuery(ServerRequest req) {
        String query = req.query().rawValue();
        return req.path().rawPath() + (query.isEmpty() ? "" : "?" + query);
    }
}
