package dev.scalebox.api;

import dev.scalebox.ScaleboxException;
import dev.scalebox.cluster.BoxMoves;
import dev.scalebox.cluster.Cluster;
import dev.scalebox.cluster.TemplateCopies;
import dev.scalebox.storage.TemplateTransfer;
import dev.scalebox.storage.VolumeTransfer;
import dev.scalebox.template.TemplateService;
import dev.scalebox.vm.Vm;
import dev.scalebox.vm.VmService;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http.ServerRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Optional;

/**
 * What hosts of the store send each other, to hosts with the cluster secret only:
 * <ul>
 * <li>{@code GET /cluster/templates/{name}/image}: this host's copy of a template, for a host that
 * places a VM and lacks it ({@link TemplateCopies}), in the best format both can take
 * ({@link TemplateTransfer});</li>
 * <li>{@code GET|PUT /cluster/bases/{golden}}: whether this host holds a box volumes' base, and
 * one taken from another host;</li>
 * <li>{@code PUT /cluster/volumes/{vm}?base=GOLDEN}: the volume of a box being moved here
 * ({@link BoxMoves}), taken before the store names this host as its own.</li>
 * </ul>
 */
final class ClusterRoutes {

    private static final Logger log = LoggerFactory.getLogger(ClusterRoutes.class);

    private ClusterRoutes() {
    }

    static void register(HttpRouting.Builder routing, Cluster cluster, TemplateService templates, VmService vms,
                         VolumeTransfer volumes, Access access) {
        routing.get(TemplateCopies.PATH + "{name}/image", (req, res) -> {
            requireHost(req, access);
            String name = req.path().pathParameters().get("name");
            if (!templates.exists(name)) {
                throw new ScaleboxException.NotFound("This host holds no copy of template '" + name + "'");
            }
            TemplateTransfer.Format format = templates.transfers().offers(TemplateTransfer.Format.of(
                    req.headers().first(HeaderNames.ACCEPT).orElse(null)));
            res.header(HeaderNames.CONTENT_TYPE, format.mediaType());
            try (OutputStream out = res.outputStream()) {
                templates.transfers().send(name, format, out);
            } catch (IOException | RuntimeException e) {
                // The receiver sees the stream break off and keeps nothing of it.
                log.warn("Sending template {} broke off: {}", name, e.getMessage());
            }
        });
        if (vms == null) {
            return;
        }
        routing.get(BoxMoves.BASES + "{golden}", (req, res) -> {
            requireHost(req, access);
            res.status(volumes.hasBase(req.path().pathParameters().get("golden")) ? Status.NO_CONTENT_204
                    : Status.NOT_FOUND_404).send();
        });
        routing.put(BoxMoves.BASES + "{golden}", (req, res) -> {
            requireHost(req, access);
            try (InputStream in = req.content().inputStream()) {
                volumes.receiveBase(req.path().pathParameters().get("golden"), in);
            }
            res.status(Status.NO_CONTENT_204).send();
        });
        routing.put(BoxMoves.VOLUMES + "{vm}", (req, res) -> {
            requireHost(req, access);
            Vm vm = vms.get(req.path().pathParameters().get("vm"));
            if (cluster.self().equals(vm.host())) {
                throw new ScaleboxException.Conflict("VM " + vm.name() + " is this host's already");
            }
            volumes.unmovable().ifPresent(why -> {
                throw new ScaleboxException.Conflict(why);
            });
            Optional<String> base = req.query().first("base").asOptional();
            volumes.dropStaleCopy(vm.id());
            try (InputStream in = req.content().inputStream()) {
                volumes.receive(vm.id(), base, in);
            }
            res.status(Status.NO_CONTENT_204).send();
        });
    }

    private static void requireHost(ServerRequest req, Access access) {
        if (!access.passedOn(req.headers())) {
            throw new ScaleboxException.Forbidden("Only the hosts of the store, which call with the cluster secret,"
                    + " exchange templates and volumes here");
        }
    }
}
