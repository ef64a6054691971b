package dev.scalebox.api;

import dev.scalebox.ScaleboxException;
import dev.scalebox.cluster.Cluster;
import dev.scalebox.cluster.Forwarder;
import dev.scalebox.config.HostName;
import dev.scalebox.vm.VmLimits;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;

import java.util.Optional;

/**
 * Where {@code POST /vms} makes its VM. With hosts that pass work on (a cluster secret), the
 * cluster places it ({@link Cluster#place}) and a VM placed elsewhere is created by passing the
 * request on to that host; the host it was passed to creates it where it is, after copying its
 * template from another host when it lacks it. Without, it is made here, and a request that names
 * another host is refused.
 */
final class VmPlacement {

    private final Cluster cluster;
    private final Access access;
    private final VmLimits limits;

    /** {@code cluster} is null for a server that serves no hosts. */
    VmPlacement(Cluster cluster, Access access, VmLimits limits) {
        this.cluster = cluster;
        this.access = access;
        this.limits = limits;
    }

    /** Whether the create was placed on another host and answered with that host's answer. */
    boolean passedOn(ServerRequest req, VmRoutes.CreateBody b, byte[] raw, ServerResponse res) {
        if (b.host() != null && !HostName.valid(b.host())) {
            throw new ScaleboxException.BadRequest("Invalid host '" + b.host() + "': a host name is one lower-case DNS label");
        }
        if (cluster == null) {
            if (b.host() != null) {
                throw new ScaleboxException.BadRequest("This server serves no hosts; leave 'host' out");
            }
            return false;
        }
        Optional<Forwarder> forwarder = cluster.forwarder();
        boolean here = b.host() == null || b.host().equals(cluster.self());
        if (forwarder.isEmpty() || access.passedOn(req.headers())) {
            if (!here) {
                throw new ScaleboxException.Conflict("This host is " + cluster.self() + ", not " + b.host()
                        + (forwarder.isEmpty() ? "; set CLUSTER_SECRET_FILE on every host to have creates passed on" : ""));
            }
            return madeHere(b);
        }
        if (b.template() == null) {
            return false;
        }
        String host = cluster.place(b.template(), b.memSizeMib() != null ? b.memSizeMib() : limits.defaultMemMib(),
                b.diskSizeGib() != null ? b.diskSizeGib() : limits.defaultDiskGib(), Optional.ofNullable(b.host()));
        if (host.equals(cluster.self())) {
            return madeHere(b);
        }
        VmForwarding.send(res, forwarder.get().forward(host, "POST", "/vms", "application/json", raw));
        return true;
    }

    /** A create placed here: its template is copied here first when another host holds it and this one does not. */
    private boolean madeHere(VmRoutes.CreateBody b) {
        if (b.template() != null) {
            cluster.copies().ifPresent(copies -> copies.ensureHere(b.template()));
        }
        return false;
    }
}
